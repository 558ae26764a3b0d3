//! The sequenced log: `last`, the retained entries (in chunks), the de-duplication index
//! and the consumer cursors of one conversation or inbox.
//!
//! Every change goes through two steps: the master *plans* it from its clock and configs
//! (`plan_alloc`, `plan_import`, `plan_trim`), then *applies* the resolved effect (`apply_append`,
//! `trim_before`). Replicas and the AOF receive the resolved effect and apply it with the
//! same code, so they end identical whatever their own clock and configs say. Edits and
//! deletions (`lifecycle.rs`) depend on nothing but the log: their effect is what the
//! command named, resolved (`delete` returns the seqs it deleted), applied with checks.

use std::collections::VecDeque;

use super::chunk::{self, chunk_of, Chunk};
use super::cursors::Cursors;
use super::dedup::{DedupIndex, IdStore};
use super::lifecycle::Lifecycle;
use super::retired::RetiredIds;
use super::{Entry, SeqError, MAX_SEQ};

/// The configs and node state an ALLOC is planned with.
#[derive(Clone, Copy, Debug, Default)]
pub struct AllocPolicy {
    pub dedup_window_ms: u64,
    /// 0: no limit.
    pub max_len: u64,
    /// 0: no limit.
    pub max_age_ms: u64,
    /// 0: the failover fence is off.
    pub failover_gap: u64,
    pub node_epoch: u64,
}

/// The resolved effect of an ALLOC that appends: what the master decided, replicated as is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Append {
    pub seq: u64,
    pub ts: u64,
    pub epoch: u64,
    /// De-duplication floor after the append (ids of lower seqs are expired).
    pub dedup_floor: u64,
    /// Automatic retention: entries below this seq are trimmed after the append.
    pub keep_from: u64,
    /// Seqs the master skipped before this one (the failover fence): the seq must be
    /// `last + 1 + skip` where it is applied, or an effect went missing. `None` in an effect
    /// written before redis-seq declared it (an old AOF), checked only for `seq > last`.
    pub skip: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocPlan {
    /// The id was seen within the window: its first seq; nothing changes.
    Duplicate(u64),
    Append(Append),
}

/// The scalar state of a log, as persisted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogHeader {
    pub last: u64,
    pub skipped: u64,
    pub epoch: u64,
    pub last_ts: u64,
    pub dedup_floor: u64,
}

/// The scalar state of `LogHeader` but `dedup_floor`, which `dedup` keeps.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Scalars {
    pub(super) last: u64,
    pub(super) skipped: u64,
    pub(super) epoch: u64,
    pub(super) last_ts: u64,
}

/// One log. Most conversations are a handful of messages, so a log costs little more than
/// its bytes until it needs more: 128 bytes here (an allocator size class; a test keeps
/// it there), the parts most logs never use (lifecycle, cursors, retired ids, hash
/// tables) allocated on first use, and at most a few ids scanned instead of hashed
/// (`dedup::SCAN_IDS`). Nothing of this shows in a reply, the encoding or the digest.
#[derive(Clone, Default)]
pub struct SeqLog {
    pub(super) header: Scalars,
    pub(super) chunks: VecDeque<Chunk>,
    /// Entries stored in `chunks`, deleted ones included.
    pub(super) stored: u64,
    /// None until the first edit or deletion (or the log is marked damaged).
    pub(super) lifecycle: Option<Box<Lifecycle>>,
    pub(super) dedup: DedupIndex,
    /// None while no consumer has a cursor.
    pub(super) cursors: Option<Box<Cursors>>,
}

static NO_LIFECYCLE: Lifecycle = Lifecycle::new();
static NO_CURSORS: Cursors = Cursors::new();

impl SeqLog {
    pub fn new() -> SeqLog {
        SeqLog { dedup: DedupIndex::with_floor(1), ..SeqLog::default() }
    }

    pub(super) fn lifecycle(&self) -> &Lifecycle {
        self.lifecycle.as_deref().unwrap_or(&NO_LIFECYCLE)
    }

    pub(super) fn lifecycle_mut(&mut self) -> &mut Lifecycle {
        self.lifecycle.get_or_insert_with(Box::default)
    }

    /// Whether the log is in its small form: at most one chunk, no id table, nothing rare.
    #[cfg(test)]
    pub(super) fn is_small(&self) -> bool {
        let rare = self.lifecycle.is_some() || self.cursors.is_some() || self.dedup.retired().len() > 0;
        self.chunks.len() <= 1 && !self.dedup.has_tables() && !rare
    }

    // ---- reads -------------------------------------------------------------------------

    pub fn header(&self) -> LogHeader {
        let Scalars { last, skipped, epoch, last_ts } = self.header;
        LogHeader { last, skipped, epoch, last_ts, dedup_floor: self.dedup.floor() }
    }

    pub fn last(&self) -> u64 {
        self.header.last
    }

    /// Entries retained and not deleted: what reads return.
    pub fn len(&self) -> u64 {
        self.stored - self.lifecycle().deleted
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lowest seq a read returns; `last + 1` when there is none.
    pub fn first(&self) -> u64 {
        if self.lifecycle().deleted == 0 {
            return self.stored_first();
        }
        self.seq_at_rank(0).unwrap_or(self.header.last + 1)
    }

    /// Lowest stored seq, deleted or not: where "trim nothing" stands.
    pub(super) fn stored_first(&self) -> u64 {
        self.chunks.front().map_or(self.header.last + 1, |c| c.first_seq)
    }

    /// ts of the lowest entry a read returns (0 when none).
    pub fn first_ts(&self) -> u64 {
        if self.lifecycle().deleted == 0 {
            return self.chunks.front().map_or(0, |c| c.first_ts);
        }
        self.seq_at_rank(0).and_then(|seq| self.get(seq)).map_or(0, |e| e.ts)
    }

    /// ts of the highest entry a read returns (0 when none).
    pub fn last_ts(&self) -> u64 {
        if self.lifecycle().deleted == 0 {
            return self.chunks.back().map_or(0, |c| c.last_ts);
        }
        let newest = self.len().checked_sub(1).and_then(|rank| self.seq_at_rank(rank));
        newest.and_then(|seq| self.get(seq)).map_or(0, |e| e.ts)
    }

    pub fn epoch(&self) -> u64 {
        self.header.epoch
    }

    pub fn skipped(&self) -> u64 {
        self.header.skipped
    }

    pub fn dedup_entries(&self) -> usize {
        self.dedup.len()
    }

    pub fn retired(&self) -> &RetiredIds {
        self.dedup.retired()
    }

    pub fn cursors(&self) -> &Cursors {
        self.cursors.as_deref().unwrap_or(&NO_CURSORS)
    }

    pub fn chunks(&self) -> &VecDeque<Chunk> {
        &self.chunks
    }

    /// The retained, not deleted entry `seq`, if any.
    pub fn get(&self, seq: u64) -> Option<Entry<'_>> {
        chunk_of(&self.chunks, seq).filter(|(_, c)| !c.is_deleted(seq)).and_then(|(_, c)| c.iter_from(seq).next())
    }

    /// Retained entries with `start <= seq <= end`, ascending.
    pub fn range(&self, start: u64, end: u64) -> impl Iterator<Item = Entry<'_>> + '_ {
        let first_chunk = self.chunks.partition_point(|c| c.end_seq() <= start);
        self.chunks
            .iter()
            .skip(first_chunk)
            .take_while(move |c| c.first_seq <= end)
            .flat_map(move |c| c.live_from(start))
            .take_while(move |e| e.seq <= end)
    }

    /// Retained entries with `start <= seq <= end`, descending.
    pub fn rev_range(&self, end: u64, start: u64) -> RevRange<'_> {
        let past_end = self.chunks.partition_point(|c| c.first_seq <= end);
        RevRange { log: self, next_chunk: past_end, start, end, page: Vec::new() }
    }

    /// Retained, not deleted entries with seq > `after`: O(log chunks).
    pub fn count_after(&self, after: u64) -> u64 {
        let Some(first) = self.chunks.front() else { return 0 };
        if after < first.first_seq {
            return self.len();
        }
        // Entries ever issued up to `after`, minus those trimmed, is the stored count;
        // minus those deleted, the live count.
        let index = self.chunks.partition_point(|c| c.first_seq <= after);
        let Some(chunk) = index.checked_sub(1).and_then(|i| self.chunks.get(i)) else { return self.len() };
        let through = chunk.ordinal_base() + (after - chunk.first_seq + 1).min(u64::from(chunk.len));
        let deleted_through = self.deleted_before(index - 1) + u64::from(chunk.deleted_through(after));
        self.len() - ((through - first.ordinal_base()) - deleted_through)
    }

    /// The seq of the live entry at `rank` (0 = oldest not deleted): O(log chunks).
    pub(super) fn seq_at_rank(&self, rank: u64) -> Option<u64> {
        let front = self.chunks.front()?;
        // Retention asks for the oldest entries, on every append: most often in the front chunk.
        if let Some(seq) = front.nth_live(rank) {
            return Some(seq);
        }
        let first = front.ordinal_base();
        // Live entries in the first k chunks (k >= 1), `deleted` of theirs deleted.
        let live_in = |k: usize, deleted: u64| {
            self.chunks.get(k - 1).map_or(u64::MAX, |c| c.ordinal_base() + u64::from(c.len) - first - deleted)
        };
        let (index, deleted_before) = match &self.lifecycle().counts {
            None => (self.chunks.partition_point(|c| c.ordinal_base() + u64::from(c.len) - first <= rank), 0),
            Some(counts) => counts.last_where(self.chunks.len(), |k, deleted| live_in(k, deleted) <= rank),
        };
        let chunk = self.chunks.get(index)?;
        chunk.nth_live(rank - (chunk.ordinal_base() - first - deleted_before))
    }

    /// The first retained seq whose ts is `>= ts`.
    pub(super) fn first_seq_at_or_after_ts(&self, ts: u64) -> Option<u64> {
        let index = self.chunks.partition_point(|c| c.last_ts < ts);
        let chunk = self.chunks.get(index)?;
        chunk.iter().find(|e| e.ts >= ts).map(|e| e.seq)
    }

    /// The seq `id` got, if it is inside the de-duplication window.
    pub fn seq_of_id(&self, id: &[u8]) -> Option<u64> {
        self.dedup.find(id, &self.chunks)
    }

    pub fn cursor(&self, consumer: &[u8]) -> Option<u64> {
        self.cursors().get(consumer)
    }

    /// Heap bytes owned by this log (for MEMORY USAGE).
    pub fn heap_bytes(&self) -> usize {
        let chunks: usize = self.chunks.iter().map(Chunk::heap_bytes).sum();
        chunks
            + self.chunks.capacity() * std::mem::size_of::<Chunk>()
            + self.dedup.heap_bytes()
            + self.cursors.as_ref().map_or(0, |c| std::mem::size_of::<Cursors>() + c.heap_bytes())
            + self.lifecycle.as_ref().map_or(0, |l| std::mem::size_of::<Lifecycle>() + l.heap_bytes())
    }

    // ---- ALLOC -------------------------------------------------------------------------

    /// Decides what an ALLOC of `id` at wall-clock `now_ms` does, without changing anything.
    pub fn plan_alloc(&self, id: &[u8], now_ms: u64, policy: &AllocPolicy) -> Result<AllocPlan, SeqError> {
        // An id in the index is inside the window: the window is measured by the log's
        // own time, which only an append moves forward (expiring older ids, below).
        if let Some(seq) = self.seq_of_id(id) {
            return Ok(AllocPlan::Duplicate(seq));
        }
        // ts never decreases within a log, whatever the clock does.
        let ts = now_ms.max(self.header.last_ts);
        let last = self.header.last;
        // The fence: a log last written in an older epoch skips the gap first. A new log
        // (last 0, epoch 0) counts as written in epoch 0, since the lost master may have
        // created it. SEQ.IMPORT (explicit seqs) is exempt: `plan_import` has no fence.
        let fenced = policy.failover_gap > 0 && self.header.epoch < policy.node_epoch;
        let skip = if fenced { policy.failover_gap } else { 0 };
        let seq = last.saturating_add(skip).saturating_add(1);
        if seq > MAX_SEQ || ts > MAX_SEQ {
            return Err(SeqError::LogFull);
        }
        Ok(AllocPlan::Append(self.plan_append(seq, ts, policy)?))
    }

    /// Decides what a SEQ.IMPORT of `id` at exactly `seq` and `ts` does, without changing
    /// anything. The failover fence does not apply (the seq is explicit), but the import
    /// writes the log in the node's epoch as an ALLOC would: the log was last written
    /// here, so neither does the next ALLOC on this node skip because of an import, nor
    /// does one after a failover fail to skip (imported seqs can be lost like allocated ones).
    pub fn plan_import(&self, seq: u64, ts: u64, id: &[u8], policy: &AllocPolicy) -> Result<AllocPlan, SeqError> {
        // Checked first, so that a resumed import (seq no longer above last) is answered.
        match self.seq_of_id(id) {
            Some(first) if first == seq => return Ok(AllocPlan::Duplicate(seq)),
            Some(first) => return Err(SeqError::ImportIdTaken { seq: first }),
            None => {}
        }
        let last = self.header.last;
        if seq <= last || seq > MAX_SEQ {
            return Err(SeqError::ImportNotAfterLast { seq, last });
        }
        if ts < self.header.last_ts || ts > MAX_SEQ {
            return Err(SeqError::ImportTsBehind { ts, newest: self.header.last_ts });
        }
        Ok(AllocPlan::Append(self.plan_append(seq, ts, policy)?))
    }

    /// The de-duplication floor, retention point and epoch of appending `seq` at `ts`.
    fn plan_append(&self, seq: u64, ts: u64, policy: &AllocPolicy) -> Result<Append, SeqError> {
        let window_start = ts.saturating_sub(policy.dedup_window_ms);
        let expired = if window_start <= self.dedup.oldest_ts() {
            self.dedup.floor()
        } else {
            self.dedup_floor_for_window_start(window_start).unwrap_or(seq)
        };
        let mut dedup_floor = expired.max(self.dedup.floor());
        if !DedupIndex::can_index(dedup_floor, seq) {
            // Seqs that store nothing (a long fence gap) hold no id: the floor may pass
            // over them up to the lowest stored one without expiring anything.
            dedup_floor = self.lowest_stored_seq_from(dedup_floor).unwrap_or(seq);
            if !DedupIndex::can_index(dedup_floor, seq) {
                return Err(SeqError::DedupSpan);
            }
        }

        let mut keep_from = self.stored_first();
        // The newest max_len live entries stay, and nothing below the oldest of them.
        let len = self.len();
        if policy.max_len > 0 && (len + 1 > policy.max_len || self.lifecycle().deleted > 0) {
            let drop = (len + 1).saturating_sub(policy.max_len);
            keep_from = keep_from.max(self.seq_at_rank(drop).unwrap_or(seq));
        }
        if policy.max_age_ms > 0 {
            let oldest_kept_ts = ts.saturating_sub(policy.max_age_ms);
            keep_from = keep_from.max(self.first_seq_at_or_after_ts(oldest_kept_ts).unwrap_or(seq));
        }
        let epoch = self.header.epoch.max(policy.node_epoch);
        // The skip the append declares (fence gap or import gap), so a replica or the AOF can
        // tell an effect that does not fit its log from a legitimate gap.
        let skip = seq.saturating_sub(self.header.last + 1);
        Ok(Append { seq, ts, epoch, dedup_floor, keep_from, skip: Some(skip) })
    }

    /// The first indexed seq whose ts is `>= window_start`.
    /// The lowest seq `>= from` whose entry (or retired id) the log still stores.
    fn lowest_stored_seq_from(&self, from: u64) -> Option<u64> {
        let mut lowest = None;
        IdStore { retired: self.retired(), chunks: &self.chunks }.each_from(from, |seq, _| {
            lowest = Some(seq);
            false
        });
        lowest
    }

    fn dedup_floor_for_window_start(&self, window_start: u64) -> Option<u64> {
        if let Some(seq) = self.retired().first_seq_at_or_after_ts(window_start) {
            return Some(seq);
        }
        self.first_seq_at_or_after_ts(window_start).map(|seq| seq.max(self.dedup.floor()))
    }

    /// Applies a resolved append (planned here, or received from the master or the AOF).
    /// Returns how many entries automatic retention trimmed.
    pub fn apply_append(&mut self, append: &Append, id: &[u8], payload: &[u8]) -> Result<u64, SeqError> {
        let last = self.header.last;
        if append.seq <= last || append.seq > MAX_SEQ || append.ts > MAX_SEQ {
            return Err(SeqError::InvalidState("appended seq is not above last, or too large"));
        }
        if append.ts < self.header.last_ts {
            return Err(SeqError::InvalidState("appended ts is older than the log's newest"));
        }
        // A damaged log already says it misses effects: it follows its master's later
        // appends by the old rule (above `last`) instead of refusing every one of them.
        let expected = append.skip.map(|skip| last.saturating_add(skip).saturating_add(1));
        if expected.is_some_and(|expected| expected != append.seq) && !self.is_damaged() {
            return Err(SeqError::InvalidState(
                "appended seq is not last + 1 + the declared skip (an effect is missing)",
            ));
        }
        if id.is_empty() {
            return Err(SeqError::InvalidState("empty client-msg-id"));
        }
        let floor = append.dedup_floor.min(append.seq);
        if !DedupIndex::can_index(floor.max(self.dedup.floor()), append.seq) {
            return Err(SeqError::InvalidState("appended seq too far above the de-duplication floor"));
        }
        self.dedup.advance_floor(floor, &self.chunks);

        let open_chunk_fits = self.chunks.back().is_some_and(|c| {
            c.end_seq() == append.seq && c.has_room(chunk::entry_size(append.ts - c.last_ts, id, payload))
        });
        if !open_chunk_fits {
            if let Some(full) = self.chunks.back_mut() {
                full.seal();
            }
            let skipped_before = self.header.skipped + (append.seq - last - 1);
            // A first chunk is sized to its entry (most logs stay this small); a log that
            // filled a chunk before is likely busy: skip the small sizes.
            let size = chunk::entry_size(0, id, payload);
            let capacity = if self.chunks.is_empty() { size } else { size.max(chunk::MAX_BYTES / 4) };
            if self.chunks.capacity() == 0 {
                // One chunk takes one slot, not the four a first push would reserve.
                self.chunks.reserve_exact(1);
            }
            self.chunks.push_back(Chunk::new(append.seq, skipped_before, append.ts, capacity));
            self.count_pushed_chunk();
        }
        if let Some(open) = self.chunks.back_mut() {
            open.push(append.ts, id, payload);
        }
        self.header.skipped += append.seq - last - 1;
        self.header.last = append.seq;
        self.header.last_ts = append.ts;
        self.header.epoch = append.epoch;
        self.stored += 1;
        self.dedup.insert(append.seq, append.ts, id, &self.chunks)?;
        Ok(self.trim_before(append.keep_from))
    }

    // ---- damage ------------------------------------------------------------------------

    /// Whether a replicated or loaded effect did not fit this log (see `mark_damaged`).
    pub fn is_damaged(&self) -> bool {
        self.lifecycle().damaged
    }

    /// Records that an effect sent to this log did not fit it, so the log is not trusted
    /// to hold every write its master made. Returns whether it was undamaged before.
    pub fn mark_damaged(&mut self) -> bool {
        !std::mem::replace(&mut self.lifecycle_mut().damaged, true)
    }

    // ---- retention ---------------------------------------------------------------------

    /// Trims every retained entry with seq < `keep_from`, deleted ones and their change
    /// records included; ids still inside the de-duplication window are kept aside. Never
    /// changes `last`. Returns the (not deleted) entries removed. Costs the entries
    /// removed (plus one partial chunk), never the log's length.
    pub fn trim_before(&mut self, keep_from: u64) -> u64 {
        let keep_from = keep_from.min(self.header.last + 1);
        if keep_from <= self.stored_first() {
            return 0;
        }
        let mut removed = 0;
        let mut removed_deleted = 0;
        while let Some(front) = self.chunks.front() {
            if front.first_seq >= keep_from {
                break;
            }
            let whole = front.end_seq() <= keep_from;
            let mut deleted_here = 0;
            for entry in front.iter() {
                if entry.seq >= keep_from {
                    break;
                }
                self.dedup.retire(entry.seq, entry.ts, entry.id);
                removed += 1;
                deleted_here += u64::from(front.is_deleted(entry.seq));
            }
            removed_deleted += deleted_here;
            if let Some(counts) = self.lifecycle.as_mut().and_then(|l| l.counts.as_mut()) {
                match whole {
                    true => counts.pop_front(deleted_here),
                    false => counts.remove(0, deleted_here),
                }
            }
            if whole {
                self.chunks.pop_front();
            } else if let Some(front) = self.chunks.front_mut() {
                front.drop_before(keep_from);
                break;
            }
        }
        self.stored -= removed;
        if let Some(lifecycle) = self.lifecycle.as_mut() {
            lifecycle.forget_below(keep_from, removed_deleted);
        }
        removed - removed_deleted
    }

    // ---- cursors -----------------------------------------------------------------------

    /// Sets `consumer`'s cursor to `max(cursor, seq)`; returns the cursor and whether it
    /// changed (moved or was created).
    pub fn ack(&mut self, consumer: &[u8], seq: u64) -> Result<(u64, bool), SeqError> {
        if seq > self.header.last {
            return Err(SeqError::SeqOutOfRange { seq, last: self.header.last });
        }
        Ok(self.cursors.get_or_insert_with(Box::default).advance(consumer, seq))
    }

    pub fn forget(&mut self, consumer: &[u8]) -> bool {
        let Some(cursors) = self.cursors.as_mut() else { return false };
        let removed = cursors.remove(consumer);
        if cursors.is_empty() {
            self.cursors = None;
        }
        removed
    }

    /// Retained entries the consumer has not acknowledged (a new consumer: all of them).
    pub fn unread(&self, consumer: &[u8]) -> u64 {
        self.count_after(self.cursors().get(consumer).unwrap_or(0))
    }
}

/// Descending iteration: chunks decode forwards, so each chunk's slice of the range is
/// decoded into a small page (at most `chunk::MAX_ENTRIES`) and handed out backwards.
pub struct RevRange<'a> {
    log: &'a SeqLog,
    next_chunk: usize,
    start: u64,
    end: u64,
    page: Vec<Entry<'a>>,
}

impl<'a> Iterator for RevRange<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        loop {
            if let Some(entry) = self.page.pop() {
                return Some(entry);
            }
            if self.next_chunk == 0 {
                return None;
            }
            self.next_chunk -= 1;
            let chunk = self.log.chunks.get(self.next_chunk)?;
            if chunk.last_seq() < self.start {
                self.next_chunk = 0;
                return None;
            }
            let (start, end) = (self.start, self.end);
            self.page.extend(chunk.live_from(start).take_while(|e| e.seq <= end));
        }
    }
}

#[cfg(test)]
mod import_tests {
    use super::*;

    fn import(log: &mut SeqLog, seq: u64, ts: u64, id: &[u8], policy: &AllocPolicy) -> Result<u64, SeqError> {
        match log.plan_import(seq, ts, id, policy)? {
            AllocPlan::Duplicate(seq) => Ok(seq),
            AllocPlan::Append(append) => log.apply_append(&append, id, b"p").map(|_| append.seq),
        }
    }

    #[test]
    fn gaps_are_skipped_and_a_resumed_import_changes_nothing() {
        let policy = AllocPolicy { dedup_window_ms: 1_000, ..AllocPolicy::default() };
        let mut log = SeqLog::new();
        assert_eq!(import(&mut log, 3, 10, b"a", &policy), Ok(3));
        assert_eq!(import(&mut log, 7, 10, b"b", &policy), Ok(7));
        assert_eq!((log.last(), log.skipped(), log.len()), (7, 5, 2));
        let before = log.header();
        assert_eq!(import(&mut log, 3, 10, b"a", &policy), Ok(3), "a retried import replies its seq");
        assert_eq!(log.header(), before);
        assert_eq!(import(&mut log, 9, 10, b"a", &policy), Err(SeqError::ImportIdTaken { seq: 3 }));
        assert_eq!(import(&mut log, 7, 11, b"c", &policy), Err(SeqError::ImportNotAfterLast { seq: 7, last: 7 }));
        assert_eq!(import(&mut log, 8, 9, b"c", &policy), Err(SeqError::ImportTsBehind { ts: 9, newest: 10 }));
        assert_eq!(log.header(), before, "refusals change nothing");
    }

    #[test]
    fn an_import_writes_in_the_node_epoch_without_the_fence() {
        let policy = AllocPolicy { failover_gap: 100, node_epoch: 2, ..AllocPolicy::default() };
        let mut log = SeqLog::new();
        assert_eq!(import(&mut log, 5, 1, b"a", &policy), Ok(5), "no fence on an explicit seq");
        assert_eq!(log.epoch(), 2);
        let next = log.plan_alloc(b"b", 2, &policy).map(|plan| matches!(plan, AllocPlan::Append(a) if a.seq == 6));
        assert_eq!(next, Ok(true), "the next ALLOC on this node does not skip because of the import");
    }

    #[test]
    fn retention_and_the_window_go_by_the_imported_ts() {
        let policy = AllocPolicy { dedup_window_ms: 100, max_age_ms: 50, ..AllocPolicy::default() };
        let mut log = SeqLog::new();
        assert_eq!(import(&mut log, 1, 1_000, b"a", &policy), Ok(1));
        assert_eq!(import(&mut log, 2, 1_060, b"b", &policy), Ok(2));
        assert_eq!(log.first(), 2, "entry 1 is older than max-age by the imported ts");
        assert_eq!(log.seq_of_id(b"a"), Some(1), "still inside the window");
        assert_eq!(import(&mut log, 3, 1_200, b"c", &policy), Ok(3));
        assert_eq!(log.seq_of_id(b"a"), None, "out of the window by the imported ts");
    }
}
