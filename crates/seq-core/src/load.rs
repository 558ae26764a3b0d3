//! Rebuilding a log piece by piece from persisted state (RDB, RESTORE, the AOF rewrite's
//! commands). Everything here may come from a corrupt or hostile payload, so each piece
//! is checked against what came before it, and a log is valid after every step.

use super::chunk::Chunk;
use super::dedup::DedupIndex;
use super::log::{LargeLog, Scalars};
use super::small_log::Settle;
use super::stored_id::{PackBuf, StoredId};
use super::varint;
use super::{LogHeader, SeqError, SeqLog, MAX_SEQ};

/// The pieces a log is rebuilt from arrive in its large form (`SeqLog::large`); it
/// settles into the form it belongs in once a chunk is in.
impl SeqLog {
    pub fn from_header(header: LogHeader) -> Result<SeqLog, SeqError> {
        Ok(SeqLog::from(LargeLog::from_header(header)?))
    }

    /// Restores `rev` and the resync floor: right after `from_header`, before any entry.
    pub fn restore_rev(&mut self, rev: u64, resync_floor: u64) -> Result<(), SeqError> {
        self.large()?.restore_rev(rev, resync_floor)
    }

    /// Adds a trimmed entry's id (in seq order, before any chunk), indexed at once.
    pub fn push_retired(&mut self, seq: u64, ts: u64, id: &[u8]) -> Result<(), SeqError> {
        self.large()?.push_retired(seq, ts, id)
    }

    /// Adds a chunk of entries (`LargeLog::push_changed_chunk`): the AOF rewrite's pieces.
    pub fn push_changed_chunk(&mut self, chunk: Chunk, packed_changes: &[u8]) -> Result<(), SeqError> {
        self.large()?.push_changed_chunk(chunk, packed_changes)?;
        self.settle(Settle::Loaded);
        Ok(())
    }

    /// Restores a consumer's cursor.
    #[cfg(test)]
    pub(crate) fn push_cursor(&mut self, consumer: &[u8], seq: u64) -> Result<(), SeqError> {
        self.large()?.push_cursor(consumer, seq)
    }
}

impl LargeLog {
    pub(super) fn from_header(header: LogHeader) -> Result<LargeLog, SeqError> {
        if header.last > MAX_SEQ || header.last_ts > MAX_SEQ {
            return Err(SeqError::InvalidState("last seq or ts beyond a 63-bit integer"));
        }
        if header.skipped > header.last {
            return Err(SeqError::InvalidState("more skipped seqs than issued"));
        }
        if header.dedup_floor == 0 || header.dedup_floor > header.last + 1 {
            return Err(SeqError::InvalidState("de-duplication floor out of range"));
        }
        let LogHeader { last, skipped, epoch, last_ts, dedup_floor } = header;
        let header = Scalars { last, skipped, epoch, last_ts };
        Ok(LargeLog { header, dedup: DedupIndex::with_floor(dedup_floor), ..LargeLog::default() })
    }

    pub(super) fn restore_rev(&mut self, rev: u64, resync_floor: u64) -> Result<(), SeqError> {
        if !self.chunks.is_empty() || self.retired().len() > 0 {
            return Err(SeqError::InvalidState("rev restored after the entries"));
        }
        if rev > MAX_SEQ || resync_floor > rev {
            return Err(SeqError::InvalidState("rev or resync floor out of range"));
        }
        if rev > 0 {
            let lifecycle = self.lifecycle_mut();
            lifecycle.rev = rev;
            lifecycle.resync_floor = resync_floor;
        }
        Ok(())
    }

    /// The highest seq stored so far (retained or retired), 0 if none.
    fn highest_stored(&self) -> (u64, u64) {
        if let Some(chunk) = self.chunks.back() {
            return (chunk.last_seq(), chunk.last_ts);
        }
        self.retired().last().unwrap_or((0, 0))
    }

    fn push_retired(&mut self, seq: u64, ts: u64, id: &[u8]) -> Result<(), SeqError> {
        self.store_retired(seq, ts, id)?;
        self.dedup.insert(seq, ts, StoredId::of(id, &mut PackBuf::new()), &self.chunks)
    }

    /// Adds a chunk of entries (in seq order) with its change records, as `packed_changes`
    /// gave them (empty for a chunk without changes), checked entry by entry and indexed
    /// at once: the AOF rewrite's pieces.
    fn push_changed_chunk(&mut self, chunk: Chunk, packed_changes: &[u8]) -> Result<(), SeqError> {
        let first_seq = self.store_chunk(chunk, packed_changes)?;
        let floor = self.dedup.floor();
        let LargeLog { chunks, dedup, .. } = self;
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
        self.dedup.push_loaded_retired(seq, ts, StoredId::of(id, &mut PackBuf::new()));
        Ok(())
    }

    /// `push_changed_chunk` without indexing; returns the chunk's first seq.
    pub(super) fn store_chunk(&mut self, mut chunk: Chunk, packed_changes: &[u8]) -> Result<u64, SeqError> {
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
        // Only now are the chunk's seqs known to be in range.
        let records = self.unpack_changes(&chunk, packed_changes)?;
        let deleted = records.iter().filter(|(_, _, deleted)| *deleted).map(|(seq, _, _)| *seq);
        chunk.restore_deleted(deleted).map_err(SeqError::InvalidState)?;
        chunk.seal();
        let first_seq = chunk.first_seq;
        self.stored += u64::from(chunk.len);
        if !records.is_empty() {
            let lifecycle = self.lifecycle_mut();
            lifecycle.deleted += u64::from(chunk.deleted_count());
            let change_records = lifecycle.records.get_or_insert_with(Box::default);
            for (seq, rev, _) in records {
                change_records.record(seq, rev);
            }
        }
        self.chunks.push_back(chunk);
        self.count_pushed_chunk();
        Ok(first_seq)
    }

    /// Decodes a chunk's packed change records `(seq, rev, deleted)`: seqs ascending
    /// inside the chunk, revs in `1..=rev` and taken by no other record.
    fn unpack_changes(&self, chunk: &Chunk, packed: &[u8]) -> Result<Vec<(u64, u64, bool)>, SeqError> {
        let mut records = Vec::new();
        let mut pos = 0;
        let truncated = SeqError::InvalidState("truncated change records");
        while pos < packed.len() {
            let offset = varint::get(packed, &mut pos).ok_or(truncated.clone())?;
            let rev_and_flag = varint::get(packed, &mut pos).ok_or(truncated.clone())?;
            let (rev, deleted) = (rev_and_flag / 2, rev_and_flag % 2 == 1);
            let in_order = |seq: u64| records.last().is_none_or(|&(previous, _, _)| seq > previous);
            if offset >= u64::from(chunk.len) || !in_order(chunk.first_seq + offset) {
                return Err(SeqError::InvalidState("change record outside its chunk or out of order"));
            }
            if rev == 0 || rev > self.lifecycle().rev || records.len() >= usize::try_from(chunk.len).unwrap_or(0) {
                return Err(SeqError::InvalidState("change record rev out of range"));
            }
            if self.lifecycle().records().any(|stored| stored.has_rev(rev)) {
                return Err(SeqError::InvalidState("two change records share a rev"));
            }
            records.push((chunk.first_seq + offset, rev, deleted));
        }
        let mut revs: Vec<u64> = records.iter().map(|(_, rev, _)| *rev).collect();
        revs.sort_unstable();
        if revs.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(SeqError::InvalidState("two change records share a rev"));
        }
        Ok(records)
    }

    /// Completes a log loaded with `store_*`: the last consistency check, then the index.
    pub(super) fn finish_load(&mut self) -> Result<(), SeqError> {
        self.check_loaded()?;
        let in_chunks = self.view().count_after(self.dedup.floor().saturating_sub(1)) + self.lifecycle().deleted;
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
    pub(crate) fn push_cursor(&mut self, consumer: &[u8], seq: u64) -> Result<(), SeqError> {
        self.ack(consumer, seq).map(|_| ())
    }
}
