//! A chunk: up to `MAX_ENTRIES` consecutive entries packed into one byte buffer.
//!
//! Seqs inside a chunk are contiguous (`first_seq`, `first_seq + 1`, ...), so they are
//! not stored. Each entry is `varint(ts - previous ts)`, the client-msg-id in its stored
//! form (`StoredId`: `varint(len << 2 | kind)` and the id, packed when it is hex or a
//! UUID), `varint(payload len) payload`: about three bytes beyond the id and the payload.
//! Encodings before v4 held the id as given (`varint(id len) id`): `Chunk::from_parts`
//! converts such bytes (`EntryFormat::PlainIds`).
//!
//! Trimming the front of a chunk only moves `start` past the removed entries: their bytes
//! stay (at most one chunk's worth per log) until the whole chunk goes, so a trim costs
//! the entries it removes, never a re-encoding.
//!
//! A deleted entry stays in its chunk with its id and ts (the de-duplication index reads
//! ids from here, retention and the dedup window read ts) but no payload, and is flagged
//! in a 256-bit map that exists only once the chunk has a deletion. `iter` yields every
//! stored entry, deleted ones included; `live_from` only those a read returns.

use std::collections::VecDeque;

use super::alloc_size::allocation_size;
use super::chunk_list::ChunkList;
use super::stored_id::{PackBuf, StoredId};
use super::varint;
use super::Entry;

/// Entries per chunk: bounds the scan to find one seq inside a chunk.
pub const MAX_ENTRIES: u32 = 256;
/// A chunk is sealed once its buffer would grow past this (unless it is empty). Large
/// enough that the allocator's size classes and the per-chunk bookkeeping cost under a
/// byte per entry; and jemalloc's largest small size class (two to a 7-page slab, no
/// waste): from 16 KiB on, an allocation is "large", and a jemalloc built
/// cache-oblivious (Debian's, which its Redis package uses) gives each one an extra
/// page, so full 16 KiB chunks took 20 KiB of resident memory (docs/design.md).
pub const MAX_BYTES: usize = 14 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub first_seq: u64,
    /// Seqs skipped by the failover fence below `first_seq` (trimmed ones included):
    /// `first_seq - 1 - skipped_before` entries were issued before this chunk.
    pub skipped_before: u64,
    /// ts of the entry at `start` (its stored delta is not applied).
    pub first_ts: u64,
    pub last_ts: u64,
    /// Live entries, from `start`.
    pub len: u32,
    /// Byte offset of the first live entry.
    start: usize,
    bytes: Vec<u8>,
    /// Bit `i`: the entry `first_seq + i` is deleted. None while none is.
    deleted: Option<Box<[u8; FLAG_BYTES]>>,
}

const FLAG_BYTES: usize = MAX_ENTRIES as usize / 8;

/// The chunk of `chunks` holding `seq`, if any entry of the log has it.
pub fn chunk_of(chunks: &VecDeque<Chunk>, seq: u64) -> Option<(usize, &Chunk)> {
    ChunkList::of_deque(chunks).chunk_of(seq)
}

/// The open chunk's next capacity: exactly what it needs up to a quarter of MAX_BYTES (the
/// allocator rounds up to its own size class, so a reallocation mostly stays in place,
/// and a log of a few messages costs their bytes), then in steps of the allocator's size
/// classes (2 KiB apart between 8 and 14 KiB), so the open chunk — the only one with
/// slack — wastes at most one step; never past MAX_BYTES unless one entry needs more.
fn grown_capacity(needed: usize) -> usize {
    const STEP: usize = 2048;
    let target = if needed <= MAX_BYTES / 4 { needed } else { needed.div_ceil(STEP) * STEP };
    target.min(MAX_BYTES).max(needed)
}

fn encode(bytes: &mut Vec<u8>, ts_delta: u64, id: StoredId, payload: &[u8]) {
    varint::put(bytes, ts_delta);
    id.write(bytes);
    varint::put(bytes, payload.len() as u64);
    bytes.extend_from_slice(payload);
}

/// The encoded size of one entry.
pub fn entry_size(ts_delta: u64, id: StoredId, payload: &[u8]) -> usize {
    varint::len(ts_delta) + id.encoded_len() + varint::len(payload.len() as u64) + payload.len()
}

/// How the entries of persisted chunk bytes hold their ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryFormat {
    /// `varint(id len) id`: encodings v1 to v3, and the AOF's `RESTORE-CHUNK`.
    PlainIds,
    /// `StoredId`: encoding v4 on, and `RESTORE-PACKED-CHUNK`.
    StoredIds,
}

/// Re-encodes entries of the `PlainIds` format as the chunk stores them; `None` if they
/// do not decode (`validate` then refuses the chunk).
fn stored_from_plain(plain: &[u8]) -> Option<Vec<u8>> {
    let mut stored = Vec::with_capacity(plain.len());
    let mut pos = 0;
    let field = |pos: &mut usize| -> Option<&[u8]> {
        let len = usize::try_from(varint::get(plain, pos)?).ok()?;
        let field = plain.get(*pos..pos.checked_add(len)?)?;
        *pos += len;
        Some(field)
    };
    while pos < plain.len() {
        let delta = varint::get(plain, &mut pos)?;
        let id = field(&mut pos)?;
        let payload = field(&mut pos)?;
        encode(&mut stored, delta, StoredId::of(id, &mut PackBuf::new()), payload);
    }
    stored.shrink_to_fit();
    Some(stored)
}

impl Chunk {
    pub fn new(first_seq: u64, skipped_before: u64, ts: u64, expected_bytes: usize) -> Chunk {
        Chunk {
            first_seq,
            skipped_before,
            first_ts: ts,
            last_ts: ts,
            len: 0,
            start: 0,
            bytes: Vec::with_capacity(expected_bytes.min(MAX_BYTES)),
            deleted: None,
        }
    }

    /// A chunk as persisted (RDB, AOF rewrite) in `format`; `SeqLog::push_changed_chunk`
    /// validates it (bytes of the older format that do not decode become no bytes, which
    /// it refuses for any entry count: never misread as the newer format).
    pub fn from_parts(
        first_seq: u64,
        skipped_before: u64,
        first_ts: u64,
        len: u32,
        bytes: Vec<u8>,
        format: EntryFormat,
    ) -> Chunk {
        let bytes = match format {
            EntryFormat::StoredIds => bytes,
            EntryFormat::PlainIds => stored_from_plain(&bytes).unwrap_or_default(),
        };
        Chunk { first_seq, skipped_before, first_ts, last_ts: first_ts, len, start: 0, bytes, deleted: None }
    }

    /// The encoded live entries, as persisted.
    pub fn live_bytes(&self) -> &[u8] {
        self.bytes.get(self.start..).unwrap_or(&[])
    }

    /// The seq the next appended entry would get to stay contiguous.
    pub(crate) fn end_seq(&self) -> u64 {
        self.first_seq + u64::from(self.len)
    }

    pub(crate) fn last_seq(&self) -> u64 {
        self.end_seq() - 1
    }

    /// Entries issued (in the whole log's history) before this chunk's first entry.
    pub(crate) fn ordinal_base(&self) -> u64 {
        self.first_seq - 1 - self.skipped_before
    }

    pub fn contains(&self, seq: u64) -> bool {
        seq >= self.first_seq && seq < self.end_seq()
    }

    /// Whether an entry of `size` encoded bytes still belongs in this chunk.
    pub(crate) fn has_room(&self, size: usize) -> bool {
        self.len == 0 || (self.len < MAX_ENTRIES && self.bytes.len() + size <= MAX_BYTES)
    }

    /// Appends the entry for `end_seq()`; the caller checked `has_room` and ts order.
    pub fn push(&mut self, ts: u64, id: StoredId, payload: &[u8]) {
        let delta = if self.len == 0 { 0 } else { ts - self.last_ts };
        if self.len == 0 {
            self.first_ts = ts;
        }
        let needed = self.bytes.len() + entry_size(delta, id, payload);
        if needed > self.bytes.capacity() {
            self.bytes.reserve_exact(grown_capacity(needed) - self.bytes.len());
        }
        encode(&mut self.bytes, delta, id, payload);
        self.last_ts = ts;
        self.len += 1;
    }

    /// Gives back spare capacity once the chunk is full: only the open chunk keeps slack.
    pub fn seal(&mut self) {
        // A few percent of slack is cheaper to keep than a reallocation to drop it.
        if self.bytes.capacity() - self.bytes.len() > self.bytes.len() / 16 {
            self.bytes.shrink_to_fit();
        }
    }

    /// Drops the bytes trims left behind (entries trimmed from the front) and any slack
    /// a sealed chunk would not keep: a chunk that becomes a small log's costs its bytes.
    pub(crate) fn compact(&mut self) {
        match self.start {
            0 => self.seal(),
            _ => self.rewrite(None),
        }
    }

    pub fn iter(&self) -> ChunkIter<'_> {
        ChunkIter { chunk: self, pos: self.start, seq: self.first_seq, ts: self.first_ts }
    }

    /// Entries from `seq` (inside this chunk) to the chunk's end.
    pub(crate) fn iter_from(&self, seq: u64) -> ChunkIter<'_> {
        let mut iter = self.iter();
        while iter.seq < seq && iter.next().is_some() {}
        iter
    }

    /// Live (not deleted) entries from `seq` to the chunk's end.
    pub(crate) fn live_from(&self, seq: u64) -> impl Iterator<Item = Entry<'_>> + '_ {
        self.iter_from(seq).filter(move |e| !self.is_deleted(e.seq))
    }

    pub(crate) fn is_deleted(&self, seq: u64) -> bool {
        let Some(flags) = &self.deleted else { return false };
        let Some(index) = seq.checked_sub(self.first_seq).filter(|&i| i < u64::from(self.len)) else { return false };
        flags.get(index as usize / 8).is_some_and(|byte| byte & (1 << (index % 8)) != 0)
    }

    pub(crate) fn deleted_count(&self) -> u32 {
        self.deleted.as_ref().map_or(0, |flags| flags.iter().map(|b| b.count_ones()).sum())
    }

    /// Deleted entries with seq `<= seq`.
    pub(crate) fn deleted_through(&self, seq: u64) -> u32 {
        let Some(flags) = &self.deleted else { return 0 };
        let Some(through) = seq.checked_sub(self.first_seq) else { return 0 };
        let bits = through.saturating_add(1).min(u64::from(self.len)) as usize;
        let whole: u32 = flags.iter().take(bits / 8).map(|b| b.count_ones()).sum();
        let partial = flags.get(bits / 8).map_or(0, |b| (b & ((1u16 << (bits % 8)) - 1) as u8).count_ones());
        whole + partial
    }

    /// The seq of the live entry `rank` places after this chunk's first live one.
    /// A byte of flags at a time: an ALLOC with `seq.max-len` asks this on every append.
    pub(crate) fn nth_live(&self, rank: u64) -> Option<u64> {
        let len = u64::from(self.len);
        let Some(flags) = &self.deleted else { return (rank < len).then(|| self.first_seq + rank) };
        let mut left = rank;
        for (index, &byte) in flags.iter().enumerate() {
            let base = index as u64 * 8;
            if base >= len {
                break;
            }
            let entries = (len - base).min(8);
            let mut live = !byte & ((1u16 << entries) - 1) as u8;
            let here = u64::from(live.count_ones());
            if left < here {
                for _ in 0..left {
                    live &= live - 1;
                }
                return Some(self.first_seq + base + u64::from(live.trailing_zeros()));
            }
            left -= here;
        }
        None
    }

    /// Flags the entry `seq` (inside this chunk) deleted; the caller drops its payload
    /// (`rewrite`) once it has flagged all of the chunk's deletions.
    pub(crate) fn flag_deleted(&mut self, seq: u64) {
        let index = (seq - self.first_seq) as usize;
        let flags = self.deleted.get_or_insert_with(|| Box::new([0; FLAG_BYTES]));
        if let Some(byte) = flags.get_mut(index / 8) {
            *byte |= 1 << (index % 8);
        }
    }

    /// Re-encodes the live entries into a buffer of exactly their size: deleted entries
    /// lose their payload, the entry `replace.0` gets the payload `replace.1`, and the
    /// bytes of entries trimmed from the front go too. The one place an entry changes.
    pub(crate) fn rewrite(&mut self, replace: Option<(u64, &[u8])>) {
        let mut size = 0;
        let mut previous_ts = self.first_ts;
        for entry in self.iter() {
            size += entry_size(entry.ts - previous_ts, entry.id, self.payload_after_rewrite(&entry, replace));
            previous_ts = entry.ts;
        }
        let mut bytes = Vec::with_capacity(size);
        let mut previous_ts = self.first_ts;
        for entry in self.iter() {
            encode(&mut bytes, entry.ts - previous_ts, entry.id, self.payload_after_rewrite(&entry, replace));
            previous_ts = entry.ts;
        }
        self.bytes = bytes;
        self.start = 0;
    }

    fn payload_after_rewrite<'a>(&self, entry: &Entry<'a>, replace: Option<(u64, &'a [u8])>) -> &'a [u8] {
        match replace {
            _ if self.is_deleted(entry.seq) => &[],
            Some((seq, payload)) if seq == entry.seq => payload,
            _ => entry.payload,
        }
    }

    /// Restores persisted deletions of entries of this chunk, which must have no payload.
    pub(crate) fn restore_deleted(&mut self, seqs: impl Iterator<Item = u64>) -> Result<(), &'static str> {
        for seq in seqs {
            if !self.contains(seq) {
                return Err("deleted seq outside its chunk");
            }
            self.flag_deleted(seq);
        }
        if self.deleted.is_some() && self.iter().any(|e| self.is_deleted(e.seq) && !e.payload.is_empty()) {
            return Err("a deleted entry still has a payload");
        }
        Ok(())
    }

    /// Heap bytes this chunk owns.
    pub fn heap_bytes(&self) -> usize {
        allocation_size(self.bytes.capacity()) + self.deleted.as_ref().map_or(0, |_| FLAG_BYTES)
    }

    /// Drops the live entries before `seq` (which must be inside this chunk).
    pub(crate) fn drop_before(&mut self, seq: u64) {
        let mut iter = self.iter_from(seq);
        let start = iter.pos;
        if let Some(first) = iter.next() {
            self.first_ts = first.ts;
        }
        // The flags are indexed from `first_seq`: the kept deletions are flagged anew.
        let kept_deleted: Vec<u64> = match self.deleted {
            Some(_) => (seq..self.end_seq()).filter(|&s| self.is_deleted(s)).collect(),
            None => Vec::new(),
        };
        self.len -= (seq - self.first_seq) as u32;
        self.first_seq = seq;
        self.start = start;
        self.deleted = None;
        for kept in kept_deleted {
            self.flag_deleted(kept);
        }
    }

    /// Checks a chunk that came from outside (RDB, AOF): every entry decodes, within
    /// bounds, exactly `len` of them. Fills `last_ts`.
    pub(crate) fn validate(&mut self) -> Result<(), &'static str> {
        if self.len == 0 || self.len > MAX_ENTRIES {
            return Err("chunk entry count out of range");
        }
        let mut pos = self.start;
        let mut ts = self.first_ts;
        for index in 0..self.len {
            let delta = varint::get(&self.bytes, &mut pos).ok_or("truncated chunk")?;
            if index > 0 {
                ts = ts.checked_add(delta).ok_or("chunk ts overflow")?;
            }
            // An ALLOC never stores an empty client-msg-id: a chunk with one is damaged.
            StoredId::read(&self.bytes, &mut pos).ok_or("chunk field runs past its end")?.check()?;
            let payload_len = varint::get(&self.bytes, &mut pos).ok_or("truncated chunk")?;
            pos = usize::try_from(payload_len)
                .ok()
                .and_then(|n| pos.checked_add(n))
                .filter(|&end| end <= self.bytes.len())
                .ok_or("chunk field runs past its end")?;
        }
        if pos != self.bytes.len() {
            return Err("chunk has trailing bytes");
        }
        self.last_ts = ts;
        Ok(())
    }
}

/// Decodes a chunk's entries in order. Stops (returns `None`) at the end, or at malformed
/// bytes, which `validate` rules out for every chunk the log holds.
pub struct ChunkIter<'a> {
    chunk: &'a Chunk,
    pos: usize,
    seq: u64,
    ts: u64,
}

impl<'a> ChunkIter<'a> {
    fn payload(&mut self) -> Option<&'a [u8]> {
        let bytes: &'a [u8] = &self.chunk.bytes;
        let len = usize::try_from(varint::get(bytes, &mut self.pos)?).ok()?;
        let field = bytes.get(self.pos..self.pos.checked_add(len)?)?;
        self.pos += len;
        Some(field)
    }
}

/// How far ahead of the entry it decodes an iterator asks for the chunk's bytes.
const READ_AHEAD: usize = 768;

/// Asks the processor for the chunk's bytes `READ_AHEAD` past `pos`. A walk over a chunk
/// that is not cached (a table migration, the read that rules out an id whose tag
/// matched, a range of old messages) otherwise waits on memory at nearly every entry:
/// the processor's own prefetcher did not keep up here (1M entries of 100-byte payloads
/// walked cold: 50-180 ms without, 29-36 ms with; docs/performance.md, session 6).
fn read_ahead(bytes: &[u8], pos: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(ahead) = bytes.get(pos.saturating_add(READ_AHEAD)) {
        // SAFETY: `sse`, the feature `_mm_prefetch` needs, is part of every x86_64
        // processor; a prefetch only warms the cache, and `ahead` is inside `bytes`.
        unsafe {
            core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(std::ptr::from_ref(ahead).cast())
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (bytes, pos);
}

impl<'a> Iterator for ChunkIter<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        if self.seq >= self.chunk.end_seq() {
            return None;
        }
        read_ahead(&self.chunk.bytes, self.pos);
        let delta = varint::get(&self.chunk.bytes, &mut self.pos)?;
        // The first live entry's ts is `first_ts`: its delta points at a trimmed entry.
        let ts = if self.seq == self.chunk.first_seq { self.chunk.first_ts } else { self.ts.checked_add(delta)? };
        let id = StoredId::read(&self.chunk.bytes, &mut self.pos)?;
        let payload = self.payload()?;
        let entry = Entry { seq: self.seq, id, ts, payload };
        self.seq += 1;
        self.ts = ts;
        Some(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(n: u32) -> Chunk {
        let mut chunk = Chunk::new(10, 0, 1000, 0);
        for i in 0..n {
            chunk.push(
                1000 + u64::from(i) * 3,
                StoredId::of(format!("id{i}").as_bytes(), &mut PackBuf::new()),
                &[i as u8; 5],
            );
        }
        chunk
    }

    fn persisted(chunk: &Chunk) -> Chunk {
        let bytes = chunk.live_bytes().to_vec();
        Chunk::from_parts(
            chunk.first_seq,
            chunk.skipped_before,
            chunk.first_ts,
            chunk.len,
            bytes,
            EntryFormat::StoredIds,
        )
    }

    #[test]
    fn chunks_of_older_encodings_convert_to_stored_ids() {
        let mut plain = Vec::new();
        for (delta, id, payload) in
            [(0, &b"0123abcd"[..], &b"p1"[..]), (4, b"msg-1", b""), (1, b"123e4567-e89b-12d3-a456-426614174000", b"p3")]
        {
            varint::put(&mut plain, delta);
            varint::put(&mut plain, id.len() as u64);
            plain.extend_from_slice(id);
            varint::put(&mut plain, payload.len() as u64);
            plain.extend_from_slice(payload);
        }
        let mut chunk = Chunk::from_parts(5, 0, 100, 3, plain.clone(), EntryFormat::PlainIds);
        assert_eq!(chunk.validate(), Ok(()));
        let entries: Vec<(u64, Vec<u8>, u64, Vec<u8>)> =
            chunk.iter().map(|e| (e.seq, e.id.text().to_vec(), e.ts, e.payload.to_vec())).collect();
        assert_eq!(
            entries,
            vec![
                (5, b"0123abcd".to_vec(), 100, b"p1".to_vec()),
                (6, b"msg-1".to_vec(), 104, vec![]),
                (7, b"123e4567-e89b-12d3-a456-426614174000".to_vec(), 105, b"p3".to_vec()),
            ]
        );
        assert!(chunk.live_bytes().len() < plain.len() - 20, "hex and UUID ids packed");
        // Plain bytes read as stored ids do not validate; damaged plain bytes stay damaged.
        assert!(Chunk::from_parts(5, 0, 100, 3, plain.clone(), EntryFormat::StoredIds).validate().is_err());
        let truncated = plain.get(..plain.len() - 1).unwrap_or_default().to_vec();
        assert!(Chunk::from_parts(5, 0, 100, 3, truncated, EntryFormat::PlainIds).validate().is_err());
    }

    /// jemalloc's largest small size class: a larger allocation may take an extra page
    /// (see `MAX_BYTES`).
    const LARGEST_SMALL_CLASS: usize = 14 * 1024;

    #[test]
    fn a_filling_chunk_stays_in_the_small_size_classes() {
        for payload_len in [0, 1, 37, 100, 500, 3000] {
            let payload = vec![7u8; payload_len];
            for start in [0, MAX_BYTES / 4] {
                let mut chunk = Chunk::new(1, 0, 1000, start);
                for i in 0u64.. {
                    let (text, mut buf) = (format!("{i:020x}"), PackBuf::new());
                    let id = StoredId::of(text.as_bytes(), &mut buf);
                    if !chunk.has_room(entry_size(1, id, &payload)) {
                        break;
                    }
                    chunk.push(1000 + i, id, &payload);
                    let size = allocation_size(chunk.bytes.capacity());
                    assert!(size <= LARGEST_SMALL_CLASS, "{payload_len}-byte payloads: {size} bytes at entry {i}");
                }
                chunk.seal();
                assert!(allocation_size(chunk.bytes.capacity()) <= LARGEST_SMALL_CLASS);
            }
        }
    }

    #[test]
    fn entries_decode_in_order() {
        let chunk = filled(5);
        let seqs: Vec<u64> = chunk.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![10, 11, 12, 13, 14]);
        let third = chunk.iter_from(12).next().unwrap();
        assert_eq!((&*third.id.text(), third.ts, third.payload), (&b"id2"[..], 1006, &[2u8; 5][..]));
        assert_eq!(chunk.last_ts, 1012);
    }

    #[test]
    fn drop_before_keeps_the_tail_and_persists_it() {
        let mut chunk = filled(5);
        let tail: Vec<(u64, u64)> = chunk.iter_from(13).map(|e| (e.seq, e.ts)).collect();
        chunk.drop_before(13);
        assert_eq!((chunk.first_seq, chunk.first_ts, chunk.len), (13, 1009, 2));
        assert_eq!(chunk.iter().map(|e| (e.seq, e.ts)).collect::<Vec<_>>(), tail);
        let mut copy = persisted(&chunk);
        assert_eq!(copy.validate(), Ok(()));
        assert_eq!(copy.iter().collect::<Vec<_>>(), chunk.iter().collect::<Vec<_>>());
        assert_eq!(copy.last_ts, chunk.last_ts);
    }

    #[test]
    fn deletions_and_edits_rewrite_the_chunk_and_survive_a_front_trim() {
        let mut chunk = filled(6);
        chunk.drop_before(11);
        chunk.flag_deleted(12);
        chunk.flag_deleted(14);
        chunk.rewrite(Some((13, b"edited")));
        let stored: Vec<(u64, &[u8], u64)> = chunk.iter().map(|e| (e.seq, e.payload, e.ts)).collect();
        assert_eq!(
            stored,
            vec![
                (11, &[1u8; 5][..], 1003),
                (12, &[][..], 1006),
                (13, &b"edited"[..], 1009),
                (14, &[][..], 1012),
                (15, &[5u8; 5][..], 1015)
            ]
        );
        assert_eq!(chunk.live_from(12).map(|e| e.seq).collect::<Vec<_>>(), vec![13, 15]);
        assert_eq!((chunk.deleted_count(), chunk.deleted_through(13), chunk.nth_live(1)), (2, 1, Some(13)));
        assert_eq!(chunk.bytes.capacity(), chunk.bytes.len());
        chunk.drop_before(13);
        assert_eq!((chunk.is_deleted(14), chunk.is_deleted(15), chunk.deleted_count()), (true, false, 1));
        assert_eq!((chunk.nth_live(0), chunk.nth_live(1), chunk.nth_live(2)), (Some(13), Some(15), None));
        let mut copy = persisted(&chunk);
        assert_eq!(copy.validate(), Ok(()));
        assert_eq!(copy.restore_deleted([14].into_iter()), Ok(()));
        assert_eq!(copy.live_from(13).collect::<Vec<_>>(), chunk.live_from(13).collect::<Vec<_>>());
        let mut wrong = persisted(&chunk);
        assert!(wrong.restore_deleted([15].into_iter()).is_err(), "a deleted entry with a payload");
        assert!(persisted(&chunk).restore_deleted([16].into_iter()).is_err());
    }

    #[test]
    fn validate_refuses_damage() {
        let good = persisted(&filled(3));
        let mut truncated = good.clone();
        truncated.bytes.pop();
        assert!(truncated.validate().is_err());
        let mut extra = good.clone();
        extra.bytes.push(0);
        assert!(extra.validate().is_err());
        let mut wrong_len = good.clone();
        wrong_len.len = 4;
        assert!(wrong_len.validate().is_err());
        let mut huge_field = good;
        huge_field.bytes[1] = 0xff;
        assert!(huge_field.validate().is_err());
    }
}
