//! The persistent encoding of a log (RDB, DUMP/RESTORE), written as a sequence of
//! unsigned integers and byte strings so the adapter can map it onto Redis' own RDB
//! primitives: no whole-log buffer, one chunk (at most a few KiB) at a time.
//!
//! Version 1 (`ENCODING_V1`):
//!
//! ```text
//! last skipped epoch last_ts dedup_floor
//! n_retired  { seq ts id }*            ids trimmed but still de-duplicated
//! n_chunks   { first_seq skipped_before first_ts len bytes }*
//! n_cursors  { name seq }*
//! ```
//!
//! Version 2 (`ENCODING_V2`) adds the message lifecycle: `rev resync_floor` after the
//! header, and after each chunk's bytes its change records, packed
//! (`SeqLog::packed_changes`; deleted entries are those whose record says so, and their
//! encoded payload is empty):
//!
//! ```text
//! last skipped epoch last_ts dedup_floor rev resync_floor
//! n_retired  { seq ts id }*
//! n_chunks   { first_seq skipped_before first_ts len bytes changes }*
//! n_cursors  { name seq }*
//! ```
//!
//! Version 3 (`ENCODING_V3`) adds `flags` after `rev resync_floor`: bit 0 set when the log
//! is damaged (a replicated or loaded effect did not fit it); other bits are refused.
//!
//! ```text
//! last skipped epoch last_ts dedup_floor rev resync_floor flags
//! ```
//!
//! Version 4 (`ENCODING_V4`) changes only the chunks' bytes: each entry's client-msg-id
//! is in its stored form (`StoredId`: hex and UUID ids packed), as the chunk holds it,
//! where v1 to v3 wrote `varint(id len) id`; loading those converts them. Retired ids
//! are still written as the client gave them.
//!
//! Counts are never used to reserve memory: a corrupt count ends in a read error.

use super::chunk::{Chunk, EntryFormat};
use super::log::LargeLog;
use super::varint;
use super::{Append, LogHeader, SeqError, SeqLog};

pub const ENCODING_V1: i32 = 1;
pub const ENCODING_V2: i32 = 2;
pub const ENCODING_V3: i32 = 3;
pub const ENCODING_V4: i32 = 4;
/// What `save` writes; `load` reads every version up to it and refuses newer ones.
pub const LATEST_ENCODING: i32 = ENCODING_V4;

/// The v3 `flags` bit of a damaged log.
const FLAG_DAMAGED: u64 = 1;

pub trait Sink {
    fn put_u64(&mut self, value: u64);
    fn put_bytes(&mut self, bytes: &[u8]);
}

pub trait Source {
    fn get_u64(&mut self) -> Result<u64, SeqError>;
    fn get_bytes(&mut self) -> Result<Vec<u8>, SeqError>;
}

pub fn save(log: &SeqLog, out: &mut impl Sink) {
    let header = log.header();
    for value in [header.last, header.skipped, header.epoch, header.last_ts, header.dedup_floor] {
        out.put_u64(value);
    }
    out.put_u64(log.rev());
    out.put_u64(log.resync_floor());
    out.put_u64(if log.is_damaged() { FLAG_DAMAGED } else { 0 });
    out.put_u64(log.retired().len() as u64);
    for retired in log.retired().iter() {
        out.put_u64(retired.seq);
        out.put_u64(retired.ts);
        out.put_bytes(&retired.id.text());
    }
    out.put_u64(log.chunks().len() as u64);
    for chunk in log.chunks() {
        for value in [chunk.first_seq, chunk.skipped_before, chunk.first_ts, u64::from(chunk.len)] {
            out.put_u64(value);
        }
        out.put_bytes(chunk.live_bytes());
        out.put_bytes(&log.packed_changes(chunk));
    }
    out.put_u64(log.cursors().len() as u64);
    for (name, seq) in log.cursors().iter() {
        out.put_bytes(name);
        out.put_u64(seq);
    }
}

pub fn load(input: &mut impl Source, version: i32) -> Result<SeqLog, SeqError> {
    if !(ENCODING_V1..=LATEST_ENCODING).contains(&version) {
        return Err(SeqError::InvalidState("unknown encoding version (written by a newer redis-seq?)"));
    }
    let header = LogHeader {
        last: input.get_u64()?,
        skipped: input.get_u64()?,
        epoch: input.get_u64()?,
        last_ts: input.get_u64()?,
        dedup_floor: input.get_u64()?,
    };
    let mut log = LargeLog::from_header(header)?;
    if version >= ENCODING_V2 {
        let (rev, resync_floor) = (input.get_u64()?, input.get_u64()?);
        log.restore_rev(rev, resync_floor)?;
    }
    if version >= ENCODING_V3 {
        match input.get_u64()? {
            0 => {}
            FLAG_DAMAGED => {
                log.mark_damaged();
            }
            _ => return Err(SeqError::InvalidState("unknown log flags (written by a newer redis-seq?)")),
        }
    }
    for _ in 0..input.get_u64()? {
        let (seq, ts, id) = (input.get_u64()?, input.get_u64()?, input.get_bytes()?);
        log.store_retired(seq, ts, &id)?;
    }
    for _ in 0..input.get_u64()? {
        let first_seq = input.get_u64()?;
        let skipped_before = input.get_u64()?;
        let first_ts = input.get_u64()?;
        let len = u32::try_from(input.get_u64()?).map_err(|_| SeqError::InvalidState("chunk length"))?;
        let bytes = input.get_bytes()?;
        let changes = if version >= ENCODING_V2 { input.get_bytes()? } else { Vec::new() };
        let format = if version >= ENCODING_V4 { EntryFormat::StoredIds } else { EntryFormat::PlainIds };
        log.store_chunk(Chunk::from_parts(first_seq, skipped_before, first_ts, len, bytes, format), &changes)?;
    }
    log.finish_load()?;
    for _ in 0..input.get_u64()? {
        let name = input.get_bytes()?;
        let seq = input.get_u64()?;
        log.push_cursor(&name, seq)?;
    }
    Ok(SeqLog::settled(log))
}

/// An APPEND effect's numbers as varints in one argument: replicating one argument
/// instead of six keeps the ALLOC path's replication to a single small copy. Six:
/// seq ts epoch dedup_floor keep_from skip. Effects written before the skip was declared
/// (old AOF files) have the first five only, and still load (`skip: None`).
pub const PACKED_APPEND_MAX: usize = 60;

pub fn pack_append(append: &Append, out: &mut [u8; PACKED_APPEND_MAX]) -> usize {
    let mut len = 0;
    let numbers = [append.seq, append.ts, append.epoch, append.dedup_floor, append.keep_from];
    for value in numbers.into_iter().chain(append.skip) {
        // Six varints of at most 10 bytes each always fit.
        let _ = varint::put_at(out, &mut len, value);
    }
    len
}

pub fn unpack_append(bytes: &[u8]) -> Result<Append, SeqError> {
    let mut pos = 0;
    let mut next = || varint::get(bytes, &mut pos).ok_or(SeqError::InvalidState("truncated APPEND effect"));
    let (seq, ts, epoch, dedup_floor, keep_from) = (next()?, next()?, next()?, next()?, next()?);
    let skip = if pos == bytes.len() {
        None
    } else {
        Some(varint::get(bytes, &mut pos).ok_or(SeqError::InvalidState("truncated APPEND effect"))?)
    };
    if pos != bytes.len() {
        return Err(SeqError::InvalidState("trailing bytes in an APPEND effect"));
    }
    Ok(Append { seq, ts, epoch, dedup_floor, keep_from, skip })
}

/// A DEL effect's seqs (strictly ascending) as varints in one argument: the first seq,
/// then each gap to the next.
pub fn pack_seqs(seqs: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(seqs.len() * 2);
    let mut previous = 0;
    for &seq in seqs {
        varint::put(&mut out, seq.wrapping_sub(previous));
        previous = seq;
    }
    out
}

/// The inverse of `pack_seqs`; a gap of 0 after the first seq, or an overflow, is refused.
pub fn unpack_seqs(bytes: &[u8]) -> Result<Vec<u64>, SeqError> {
    let mut seqs = Vec::new();
    let mut pos = 0;
    let mut previous = 0u64;
    while pos < bytes.len() {
        let gap = varint::get(bytes, &mut pos).ok_or(SeqError::InvalidState("truncated DEL effect"))?;
        let seq = previous.checked_add(gap).filter(|&seq| seqs.is_empty() || seq > previous);
        previous = seq.ok_or(SeqError::InvalidState("DEL effect seqs not ascending"))?;
        seqs.push(previous);
    }
    Ok(seqs)
}

/// An in-memory sink and source: for tests, and a reference for what the RDB holds.
#[cfg(test)]
pub mod memory {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    pub enum Item {
        U64(u64),
        Bytes(Vec<u8>),
    }

    impl Sink for Vec<Item> {
        fn put_u64(&mut self, value: u64) {
            self.push(Item::U64(value));
        }
        fn put_bytes(&mut self, bytes: &[u8]) {
            self.push(Item::Bytes(bytes.to_vec()));
        }
    }

    pub struct Reader<'a>(pub std::slice::Iter<'a, Item>);

    impl Source for Reader<'_> {
        fn get_u64(&mut self) -> Result<u64, SeqError> {
            match self.0.next() {
                Some(Item::U64(v)) => Ok(*v),
                _ => Err(SeqError::InvalidState("expected an integer")),
            }
        }
        fn get_bytes(&mut self) -> Result<Vec<u8>, SeqError> {
            match self.0.next() {
                Some(Item::Bytes(b)) => Ok(b.clone()),
                _ => Err(SeqError::InvalidState("expected a string")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn packed_appends_round_trip(seq: u64, ts: u64, epoch: u64, dedup_floor: u64, keep_from: u64, skip: Option<u64>) {
            let append = Append { seq, ts, epoch, dedup_floor, keep_from, skip };
            let mut buf = [0u8; PACKED_APPEND_MAX];
            let len = pack_append(&append, &mut buf);
            prop_assert_eq!(unpack_append(&buf[..len]), Ok(append));
            // A cut is refused, except right after the fifth number: an old-format effect.
            for cut in 0..len {
                if let Ok(old) = unpack_append(&buf[..cut]) {
                    prop_assert!(append.skip.is_some());
                    prop_assert_eq!(old, Append { skip: None, ..append });
                }
            }
        }

        #[test]
        fn packed_seqs_round_trip(mut seqs: Vec<u64>) {
            seqs.sort_unstable();
            seqs.dedup();
            prop_assert_eq!(unpack_seqs(&pack_seqs(&seqs)), Ok(seqs));
        }
    }

    #[test]
    fn an_old_append_effect_without_its_skip_still_decodes() {
        let append = Append { seq: 7, ts: 1_700_000_000_000, epoch: 2, dedup_floor: 3, keep_from: 1, skip: Some(4) };
        let mut buf = [0u8; PACKED_APPEND_MAX];
        let len = pack_append(&append, &mut buf);
        let old = pack_append(&Append { skip: None, ..append }, &mut buf.clone());
        assert_eq!(old + 1, len, "the skip is one more varint");
        assert_eq!(unpack_append(&buf[..old]), Ok(Append { skip: None, ..append }));
    }
}
