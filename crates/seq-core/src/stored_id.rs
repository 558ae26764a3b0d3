//! How a chunk stores a client-msg-id: as given, or packed when it is hex or a UUID.
//!
//! Most client-msg-ids are hex strings (a random or hashed id, a decimal counter) or
//! UUIDs, which spend a byte per four bits. Such an id is stored packed, two characters
//! per byte, as Redis' own listpacks store a string that reads as an integer as the
//! integer: a 20-character hex id takes 10 bytes, a UUID 16 instead of 36. The stored
//! form is `varint(len << 2 | kind)` and the bytes, where `len` is the id's length in
//! characters and `kind` says how to read the bytes:
//!
//! - `RAW`: the id itself (`len` bytes), for every id not below;
//! - `HEX_LOWER`: `0-9a-f` only (digits alone included), `len` at most
//!   `MAX_PACKED_LEN`, a nibble per character, the last byte's low nibble 0 when `len`
//!   is odd;
//! - `HEX_UPPER`: likewise `0-9A-F`, with at least one letter;
//! - `UUID`: the 36-character lowercase form `8-4-4-4-12`, as its 16 bytes.
//!
//! Every id has exactly one stored form (`StoredId::of` picks it; `check` refuses any
//! other from outside), so two ids are equal exactly when their stored forms are, and
//! the de-duplication index hashes and compares stored forms without unpacking them.

use std::ops::Deref;

use super::varint;

const RAW: u64 = 0;
const HEX_LOWER: u64 = 1;
const HEX_UPPER: u64 = 2;
const UUID: u64 = 3;

/// Longest id stored packed as hex (a SHA-256 in hex); longer ones are stored as given.
pub const MAX_PACKED_LEN: usize = 64;
const UUID_LEN: usize = 36;
const UUID_DASHES: [usize; 4] = [8, 13, 18, 23];
/// A UUID's groups of digits: (first digit, position in the text, digits).
const UUID_GROUPS: [(usize, usize, usize); 5] = [(0, 0, 8), (8, 9, 4), (12, 14, 4), (16, 19, 4), (20, 24, 12)];
const UUID_BYTES: usize = 16;

/// A client-msg-id in its stored form, borrowed from a chunk or from a `PackBuf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredId<'a> {
    header: u64,
    bytes: &'a [u8],
}

/// Room for the packed form of any id (`StoredId::of`).
pub struct PackBuf([u8; MAX_PACKED_LEN / 2]);

impl PackBuf {
    pub fn new() -> PackBuf {
        PackBuf([0; MAX_PACKED_LEN / 2])
    }
}

impl Default for PackBuf {
    fn default() -> PackBuf {
        PackBuf::new()
    }
}

/// The value of one hex digit of the case `upper`, if `c` is one.
fn nibble(c: u8, upper: bool) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' if !upper => Some(c - b'a' + 10),
        b'A'..=b'F' if upper => Some(c - b'A' + 10),
        _ => None,
    }
}

fn is_uuid(id: &[u8]) -> bool {
    id.len() == UUID_LEN
        && id.iter().enumerate().all(|(i, &c)| match UUID_DASHES.contains(&i) {
            true => c == b'-',
            false => nibble(c, false).is_some(),
        })
}

/// Bytes the packed form of `len` characters of `kind` takes.
fn packed_len(kind: u64, len: usize) -> usize {
    match kind {
        RAW => len,
        UUID => UUID_BYTES,
        _ => len.div_ceil(2),
    }
}

impl<'a> StoredId<'a> {
    /// The stored form of the client's id `id` (packed into `buf` when it packs). One
    /// pass over the id packs it while it reads as hex of one case (ALLOC does this for
    /// every message).
    pub fn of(id: &'a [u8], buf: &'a mut PackBuf) -> StoredId<'a> {
        let len = id.len() as u64;
        let raw = StoredId { header: len << 2 | RAW, bytes: id };
        let uuid = is_uuid(id);
        if !uuid && (id.is_empty() || id.len() > MAX_PACKED_LEN) {
            return raw;
        }
        let (mut lower, mut upper) = (false, false);
        let digits = id.iter().enumerate().filter(|(i, _)| !(uuid && UUID_DASHES.contains(i)));
        for (i, (_, &c)) in digits.enumerate() {
            let value = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => {
                    lower = true;
                    c - b'a' + 10
                }
                b'A'..=b'F' => {
                    upper = true;
                    c - b'A' + 10
                }
                _ => return raw,
            };
            if lower && upper {
                return raw;
            }
            // The low nibble is cleared with the high one: an odd length's padding is 0.
            if let Some(byte) = buf.0.get_mut(i / 2) {
                *byte = if i % 2 == 0 { value << 4 } else { *byte | value };
            }
        }
        let (kind, packed) = match (uuid, upper) {
            (true, _) => (UUID, UUID_BYTES),
            (false, true) => (HEX_UPPER, id.len().div_ceil(2)),
            (false, false) => (HEX_LOWER, id.len().div_ceil(2)),
        };
        StoredId { header: len << 2 | kind, bytes: buf.0.get(..packed).unwrap_or_default() }
    }

    /// Reads a stored form at `bytes[*pos..]`, advancing `pos`; `None` if it runs past
    /// the end (`check` validates the rest).
    pub(crate) fn read(bytes: &'a [u8], pos: &mut usize) -> Option<StoredId<'a>> {
        let header = varint::get(bytes, pos)?;
        let len = packed_len(header & 3, usize::try_from(header >> 2).ok()?);
        let field = bytes.get(*pos..pos.checked_add(len)?)?;
        *pos += len;
        Some(StoredId { header, bytes: field })
    }

    /// Whether this is the one stored form of a non-empty id (so equal ids compare equal).
    pub(crate) fn check(&self) -> Result<(), &'static str> {
        let len = self.len();
        let kind = self.header & 3;
        let canonical = match kind {
            RAW => len > 0 && StoredId::of(self.bytes, &mut PackBuf::new()).header & 3 == RAW,
            UUID => len == UUID_LEN,
            _ => {
                let letters = self.nibbles().any(|n| n >= 10);
                let padding = len.is_multiple_of(2) || self.bytes.last().is_some_and(|b| b & 0xf == 0);
                len > 0 && len <= MAX_PACKED_LEN && padding && (kind == HEX_LOWER || letters)
            }
        };
        match canonical {
            true => Ok(()),
            false if len == 0 => Err("empty client-msg-id in a chunk"),
            false => Err("client-msg-id not in its stored form"),
        }
    }

    /// The id's length in bytes, as the client gave it.
    pub fn len(&self) -> usize {
        (self.header >> 2) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes this form takes in a chunk.
    pub(crate) fn encoded_len(&self) -> usize {
        varint::len(self.header) + self.bytes.len()
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        varint::put(out, self.header);
        out.extend_from_slice(self.bytes);
    }

    /// What the de-duplication index hashes: the whole stored form.
    pub(crate) fn hash_key(&self) -> (u64, &'a [u8]) {
        (self.header, self.bytes)
    }

    fn nibbles(&self) -> impl Iterator<Item = u8> + 'a {
        self.bytes.iter().flat_map(|&b| [b >> 4, b & 0xf]).take(self.len())
    }

    /// The id as the client gave it.
    pub fn text(&self) -> IdText<'a> {
        let kind = self.header & 3;
        if kind == RAW {
            return IdText::Stored(self.bytes);
        }
        // Two characters a byte (replies unpack every packed id they return: a table, not
        // a branch per character); a UUID's digits then go to their groups, dashes between.
        let digits = if kind == HEX_UPPER { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
        let digit = |value: u8| digits.get(usize::from(value)).copied().unwrap_or(b'0');
        let mut hex = [0; MAX_PACKED_LEN];
        for (pair, &byte) in hex.chunks_exact_mut(2).zip(self.bytes) {
            pair.copy_from_slice(&[digit(byte >> 4), digit(byte & 0xf)]);
        }
        if kind != UUID {
            return IdText::Unpacked(hex, self.len() as u8);
        }
        let mut text = [b'-'; MAX_PACKED_LEN];
        for (from, to, len) in UUID_GROUPS {
            if let (Some(out), Some(group)) = (text.get_mut(to..to + len), hex.get(from..from + len)) {
                out.copy_from_slice(group);
            }
        }
        IdText::Unpacked(text, UUID_LEN as u8)
    }
}

/// A stored id as the client gave it: borrowed when stored as is, else unpacked here.
#[derive(Clone, Copy, Debug)]
pub enum IdText<'a> {
    Stored(&'a [u8]),
    Unpacked([u8; MAX_PACKED_LEN], u8),
}

impl Deref for IdText<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            IdText::Stored(bytes) => bytes,
            IdText::Unpacked(text, len) => text.get(..usize::from(*len)).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn stored(id: &[u8]) -> (u64, Vec<u8>) {
        let mut buf = PackBuf::new();
        let form = StoredId::of(id, &mut buf);
        (form.header & 3, form.bytes.to_vec())
    }

    fn round_trip(id: &[u8]) -> Vec<u8> {
        let mut buf = PackBuf::new();
        let form = StoredId::of(id, &mut buf);
        let mut bytes = Vec::new();
        form.write(&mut bytes);
        let read = StoredId::read(&bytes, &mut 0).expect("reads back");
        assert_eq!(read, form);
        assert_eq!(read.check(), Ok(()), "{:?}", String::from_utf8_lossy(id));
        assert_eq!(read.len(), id.len());
        assert_eq!(bytes.len(), form.encoded_len());
        read.text().to_vec()
    }

    #[test]
    fn each_kind_packs_and_reads_back() {
        assert_eq!(
            stored(b"0123456789abcdef0123"),
            (HEX_LOWER, vec![0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23])
        );
        assert_eq!(stored(b"12345"), (HEX_LOWER, vec![0x12, 0x34, 0x50]));
        assert_eq!(stored(b"DEADBEEF1"), (HEX_UPPER, vec![0xde, 0xad, 0xbe, 0xef, 0x10]));
        let uuid = b"123e4567-e89b-12d3-a456-426614174000";
        assert_eq!(stored(uuid).0, UUID);
        assert_eq!(stored(uuid).1.len(), 16);
        for raw in [&b"msg-1"[..], b"DeadBeef", b"123E4567-e89b-12d3-a456-426614174000", b"g", &[0xff, 0x00]] {
            assert_eq!(stored(raw), (RAW, raw.to_vec()), "{raw:?}");
        }
        assert_eq!(stored(&[b'a'; MAX_PACKED_LEN]).0, HEX_LOWER);
        assert_eq!(stored(&[b'a'; MAX_PACKED_LEN + 1]).0, RAW, "longer hex ids are stored as given");
        for id in [&b"0123456789abcdef0123"[..], b"12345", b"DEADBEEF1", uuid, b"msg-1", b"A"] {
            assert_eq!(round_trip(id), id);
        }
    }

    #[test]
    fn check_refuses_every_form_but_the_one() {
        let read = |bytes: &[u8]| StoredId::read(bytes, &mut 0).expect("reads").check();
        assert_eq!(read(&[0]), Err("empty client-msg-id in a chunk"));
        // "ab" stored as given, and "1" stored as uppercase hex: both pack otherwise.
        assert!(read(&[2 << 2, b'a', b'b']).is_err());
        assert!(read(&[1 << 2 | HEX_UPPER as u8, 0x10]).is_err());
        // An odd length's padding nibble must be 0; a UUID is 36 characters.
        assert!(read(&[1 << 2 | HEX_LOWER as u8, 0x1f]).is_err());
        assert!(read(&[3 << 2 | UUID as u8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]).is_err());
        assert!(StoredId::read(&[20 << 2, b'a'], &mut 0).is_none(), "runs past the end");
        assert_eq!(read(&[2 << 2 | HEX_LOWER as u8, 0xab]), Ok(()));
    }

    proptest! {
        #[test]
        fn every_id_reads_back_and_equal_forms_mean_equal_ids(
            a in prop::collection::vec(prop::sample::select(b"0123456789abcdefABCDEF-xz\x00\xff".to_vec()), 1..70),
            b in prop::collection::vec(prop::sample::select(b"0123456789abcdefABCDEF-xz\x00\xff".to_vec()), 1..70),
        ) {
            prop_assert_eq!(round_trip(&a), a.clone());
            let (mut buf_a, mut buf_b) = (PackBuf::new(), PackBuf::new());
            let equal_forms = StoredId::of(&a, &mut buf_a) == StoredId::of(&b, &mut buf_b);
            prop_assert_eq!(equal_forms, a == b);
        }
    }
}
