//! Rebuilding a log piece by piece from persisted state (RDB, RESTORE, the AOF rewrite's
//! commands). Everything here may come from a corrupt or hostile payload, so each piece
//! is checked against what came before it, and a log is valid after every step.

use super::chunk::Chunk;
use super::dedup::DedupIndex;
use super::{LogHeader, SeqError, SeqLog, MAX_SEQ};

impl SeqLog {
    pub fn from_header(header: LogHeader) -> Result<SeqLog, SeqError> {
        if header.last > MAX_SEQ || header.last_ts > MAX_SEQ {
            return Err(SeqError::InvalidState("last seq or ts beyond a 63-bit integer"));
        }
        if header.skipped > header.last {
            return Err(SeqError::InvalidState("more skipped seqs than issued"));
        }
        if header.dedup_floor == 0 || header.dedup_floor > header.last + 1 {
            return Err(SeqError::InvalidState("de-duplication floor out of range"));
        }
        Ok(SeqLog { header, dedup: DedupIndex::with_floor(header.dedup_floor), ..SeqLog::default() })
    }

    /// The highest seq stored so far (retained or retired), 0 if none.
    fn highest_stored(&self) -> (u64, u64) {
        if let Some(chunk) = self.chunks.back() {
            return (chunk.last_seq(), chunk.last_ts);
        }
        self.retired().last().unwrap_or((0, 0))
    }

    /// Adds a trimmed entry's id (in seq order, before any chunk), indexed at once.
    pub fn push_retired(&mut self, seq: u64, ts: u64, id: &[u8]) -> Result<(), SeqError> {
        self.store_retired(seq, ts, id)?;
        self.dedup.insert(seq, ts, id, &self.chunks)
    }

    /// Adds a chunk of entries (in seq order), checked entry by entry and indexed at once.
    pub fn push_chunk(&mut self, chunk: Chunk) -> Result<(), SeqError> {
        let first_seq = self.store_chunk(chunk)?;
        let floor = self.dedup.floor();
        let SeqLog { chunks, dedup, .. } = self;
        if let Some(stored) = chunks.back() {
            for entry in stored.iter_from(first_seq.max(floor)) {
                dedup.insert(entry.seq, entry.ts, entry.id, chunks)?;
            }
        }
        Ok(())
    }

    /// `push_retired` without indexing (the loader indexes once, in `finish_load`).
    pub(super) fn store_retired(&mut self, seq: u64, ts: u64, id: &[u8]) -> Result<(), SeqError> {
        let (highest_seq, highest_ts) = self.highest_stored();
        if !self.chunks.is_empty() {
            return Err(SeqError::InvalidState("retired id after the entries"));
        }
        if id.is_empty() || seq <= highest_seq || seq < self.dedup.floor() || seq > self.header.last {
            return Err(SeqError::InvalidState("retired id out of order or range"));
        }
        if ts < highest_ts || ts > self.header.last_ts {
            return Err(SeqError::InvalidState("retired id ts out of order"));
        }
        self.dedup.push_loaded_retired(seq, ts, id);
        Ok(())
    }

    /// `push_chunk` without indexing; returns the chunk's first seq.
    pub(super) fn store_chunk(&mut self, mut chunk: Chunk) -> Result<u64, SeqError> {
        chunk.validate().map_err(SeqError::InvalidState)?;
        let (highest_seq, highest_ts) = self.highest_stored();
        let end = chunk.first_seq.checked_add(u64::from(chunk.len));
        if chunk.first_seq <= highest_seq || end.is_none_or(|end| end - 1 > self.header.last) {
            return Err(SeqError::InvalidState("chunk seqs out of order or range"));
        }
        if chunk.skipped_before > self.header.skipped || chunk.skipped_before >= chunk.first_seq {
            return Err(SeqError::InvalidState("chunk skipped count out of range"));
        }
        if let Some(previous) = self.chunks.back() {
            let gap = chunk.first_seq - previous.end_seq();
            if chunk.skipped_before != previous.skipped_before + gap {
                return Err(SeqError::InvalidState("chunk skipped count disagrees with its gap"));
            }
        }
        if chunk.first_ts < highest_ts || chunk.last_ts > self.header.last_ts {
            return Err(SeqError::InvalidState("chunk ts out of order"));
        }
        chunk.seal();
        let first_seq = chunk.first_seq;
        self.len += u64::from(chunk.len);
        self.chunks.push_back(chunk);
        Ok(first_seq)
    }

    /// Completes a log loaded with `store_*`: the last consistency check, then the index.
    pub(super) fn finish_load(&mut self) -> Result<(), SeqError> {
        self.check_loaded()?;
        let in_chunks = self.count_after(self.dedup.floor().saturating_sub(1));
        self.dedup.reindex(&self.chunks, in_chunks, self.header.last)
    }

    /// The last check once every piece is in: seqs after the newest entry can only be
    /// fence-skipped ones (trims only remove from the front), so `last` must agree.
    fn check_loaded(&self) -> Result<(), SeqError> {
        let Some(newest) = self.chunks.back() else { return Ok(()) };
        let tail = self.header.last - newest.last_seq();
        if newest.skipped_before.checked_add(tail) != Some(self.header.skipped) {
            return Err(SeqError::InvalidState("last seq disagrees with the entries and skipped seqs"));
        }
        Ok(())
    }

    /// Restores a consumer's cursor.
    pub fn push_cursor(&mut self, consumer: &[u8], seq: u64) -> Result<(), SeqError> {
        self.ack(consumer, seq).map(|_| ())
    }
}
