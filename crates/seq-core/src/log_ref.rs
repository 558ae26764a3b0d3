//! Every read of a log, written once over a borrowed view of either form (`SeqLog`'s
//! small or large one): the chunks as a `ChunkList`, the scalars, and the rare parts
//! (empty statics for a small log, which has none). A read costs building the view (a
//! few words copied) and nothing else for its form.

use std::collections::VecDeque;

use super::chunk::Chunk;
use super::chunk_list::ChunkList;
use super::cursors::Cursors;
use super::dedup::DedupIndex;
use super::lifecycle::Lifecycle;
use super::log::{AllocPlan, AllocPolicy, Append, LogHeader, Scalars};
use super::retired::RetiredIds;
use super::stored_id::{PackBuf, StoredId};
use super::{Entry, SeqError, MAX_SEQ};

pub(crate) static NO_LIFECYCLE: Lifecycle = Lifecycle::new();
pub(crate) static NO_CURSORS: Cursors = Cursors::new();
static NO_RETIRED: RetiredIds = RetiredIds::new();

/// Where the ids of the de-duplication window are looked up.
#[derive(Clone, Copy)]
pub(crate) enum Ids<'a> {
    /// A large log's index (which reads the ids from its chunks).
    Index(&'a DedupIndex, &'a VecDeque<Chunk>),
    /// A small log: every entry from `floor` on is in the window, scanned where it is stored.
    Scan { floor: u64 },
}

#[derive(Clone, Copy)]
pub(crate) struct LogRef<'a> {
    pub(super) header: Scalars,
    pub(super) chunks: ChunkList<'a>,
    /// Entries stored in `chunks`, deleted ones included.
    pub(super) stored: u64,
    pub(super) lifecycle: &'a Lifecycle,
    pub(super) cursors: &'a Cursors,
    pub(super) ids: Ids<'a>,
}

impl<'a> LogRef<'a> {
    pub(super) fn header(&self) -> LogHeader {
        let Scalars { last, skipped, epoch, last_ts } = self.header;
        LogHeader { last, skipped, epoch, last_ts, dedup_floor: self.dedup_floor() }
    }

    /// Entries retained and not deleted: what reads return.
    #[inline]
    pub(super) fn len(&self) -> u64 {
        self.stored - self.lifecycle.deleted
    }

    /// Lowest seq a read returns; `last + 1` when there is none.
    pub(super) fn first(&self) -> u64 {
        if self.lifecycle.deleted == 0 {
            return self.stored_first();
        }
        self.seq_at_rank(0).unwrap_or(self.header.last + 1)
    }

    /// Lowest stored seq, deleted or not: where "trim nothing" stands.
    #[inline]
    pub(super) fn stored_first(&self) -> u64 {
        self.chunks.front().map_or(self.header.last + 1, |c| c.first_seq)
    }

    /// ts of the lowest entry a read returns (0 when none).
    pub(super) fn first_ts(&self) -> u64 {
        if self.lifecycle.deleted == 0 {
            return self.chunks.front().map_or(0, |c| c.first_ts);
        }
        self.seq_at_rank(0).and_then(|seq| self.get(seq)).map_or(0, |e| e.ts)
    }

    /// ts of the highest entry a read returns (0 when none).
    pub(super) fn last_ts(&self) -> u64 {
        if self.lifecycle.deleted == 0 {
            return self.chunks.back().map_or(0, |c| c.last_ts);
        }
        let newest = self.len().checked_sub(1).and_then(|rank| self.seq_at_rank(rank));
        newest.and_then(|seq| self.get(seq)).map_or(0, |e| e.ts)
    }

    // ---- the de-duplication window ---------------------------------------------------------

    #[inline]
    pub(super) fn dedup_floor(&self) -> u64 {
        match self.ids {
            Ids::Index(dedup, _) => dedup.floor(),
            Ids::Scan { floor } => floor,
        }
    }

    /// ts of the oldest id in the window (`u64::MAX` when none).
    #[inline]
    fn dedup_oldest_ts(&self) -> u64 {
        match self.ids {
            Ids::Index(dedup, _) => dedup.oldest_ts(),
            Ids::Scan { floor } => self.first_stored_from(floor).map_or(u64::MAX, |e| e.ts),
        }
    }

    pub(super) fn dedup_entries(&self) -> usize {
        match self.ids {
            Ids::Index(dedup, _) => dedup.len(),
            Ids::Scan { floor } => self.chunks.iter().map(|c| c.iter_from(floor).count()).sum(),
        }
    }

    pub(super) fn retired(&self) -> &'a RetiredIds {
        match self.ids {
            Ids::Index(dedup, _) => dedup.retired(),
            Ids::Scan { .. } => &NO_RETIRED,
        }
    }

    /// The seq `id` got, if it is inside the de-duplication window.
    #[inline]
    pub(super) fn seq_of_id(&self, id: &[u8]) -> Option<u64> {
        let mut buf = PackBuf::new();
        let id = StoredId::of(id, &mut buf);
        match self.ids {
            Ids::Index(dedup, chunks) => dedup.find(id, chunks),
            Ids::Scan { floor } => {
                let start = self.chunks.partition_point(|c| c.end_seq() <= floor);
                let mut stored = self.chunks.iter().skip(start).flat_map(|c| c.iter_from(floor));
                stored.find(|e| e.id == id).map(|e| e.seq)
            }
        }
    }

    // ---- entries -----------------------------------------------------------------------

    /// The retained, not deleted entry `seq`, if any.
    pub(super) fn get(&self, seq: u64) -> Option<Entry<'a>> {
        let (_, chunk) = self.chunks.chunk_of(seq).filter(|(_, c)| !c.is_deleted(seq))?;
        chunk.iter_from(seq).next()
    }

    /// The first stored entry (deleted or not) with seq `>= seq`.
    fn first_stored_from(&self, seq: u64) -> Option<Entry<'a>> {
        let start = self.chunks.partition_point(|c| c.end_seq() <= seq);
        self.chunks.get(start).and_then(|c| c.iter_from(seq).next())
    }

    /// Retained entries with `start <= seq <= end`, ascending.
    pub(super) fn range(&self, start: u64, end: u64) -> impl Iterator<Item = Entry<'a>> + 'a {
        let first_chunk = self.chunks.partition_point(|c| c.end_seq() <= start);
        self.chunks
            .iter()
            .skip(first_chunk)
            .take_while(move |c| c.first_seq <= end)
            .flat_map(move |c| c.live_from(start))
            .take_while(move |e| e.seq <= end)
    }

    /// Retained entries with `start <= seq <= end`, descending.
    pub(super) fn rev_range(&self, end: u64, start: u64) -> RevRange<'a> {
        let past_end = self.chunks.partition_point(|c| c.first_seq <= end);
        RevRange { chunks: self.chunks, next_chunk: past_end, start, end, page: Vec::new() }
    }

    /// Deleted entries in the chunks before the chunk at `index`: O(log chunks).
    fn deleted_before(&self, index: usize) -> u64 {
        self.lifecycle.counts.as_ref().map_or(0, |counts| counts.before(index))
    }

    /// Retained, not deleted entries with seq > `after`: O(log chunks).
    pub(super) fn count_after(&self, after: u64) -> u64 {
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
        let (index, deleted_before) = match &self.lifecycle.counts {
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

    /// Retained entries the consumer has not acknowledged (a new consumer: all of them).
    pub(super) fn unread(&self, consumer: &[u8]) -> u64 {
        self.count_after(self.cursors.get(consumer).unwrap_or(0))
    }

    // ---- ALLOC -------------------------------------------------------------------------

    /// Decides what an ALLOC of `id` at wall-clock `now_ms` does, without changing anything.
    pub(super) fn plan_alloc(&self, id: &[u8], now_ms: u64, policy: &AllocPolicy) -> Result<AllocPlan, SeqError> {
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

    /// Decides what a SEQ.IMPORT of `id` at exactly `seq` and `ts` does (`SeqLog::plan_import`).
    pub(super) fn plan_import(
        &self,
        seq: u64,
        ts: u64,
        id: &[u8],
        policy: &AllocPolicy,
    ) -> Result<AllocPlan, SeqError> {
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
        let expired = if window_start <= self.dedup_oldest_ts() {
            self.dedup_floor()
        } else {
            self.dedup_floor_for_window_start(window_start).unwrap_or(seq)
        };
        let mut dedup_floor = expired.max(self.dedup_floor());
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
        if policy.max_len > 0 && (len + 1 > policy.max_len || self.lifecycle.deleted > 0) {
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

    /// The lowest seq `>= from` whose entry (or retired id) the log still stores.
    fn lowest_stored_seq_from(&self, from: u64) -> Option<u64> {
        let retired = self.retired().iter_from(from).next().map(|e| e.seq);
        retired.or_else(|| self.first_stored_from(from).map(|e| e.seq))
    }

    /// The first indexed seq whose ts is `>= window_start`.
    fn dedup_floor_for_window_start(&self, window_start: u64) -> Option<u64> {
        if let Some(seq) = self.retired().first_seq_at_or_after_ts(window_start) {
            return Some(seq);
        }
        self.first_seq_at_or_after_ts(window_start).map(|seq| seq.max(self.dedup_floor()))
    }

    /// Refuses a resolved append that does not fit this log (`check_append`).
    pub(super) fn check_append(&self, append: &Append, id: StoredId) -> Result<(), SeqError> {
        check_append(&self.header, self.lifecycle.damaged, self.dedup_floor(), append, id)
    }
}

/// Refuses a resolved append that does not fit a log of these scalars (`SeqLog::apply_append`):
/// a function of the scalars alone, so the large form's append (the hot path) checks
/// without building a view.
pub(super) fn check_append(
    header: &Scalars,
    damaged: bool,
    dedup_floor: u64,
    append: &Append,
    id: StoredId,
) -> Result<(), SeqError> {
    let last = header.last;
    if append.seq <= last || append.seq > MAX_SEQ || append.ts > MAX_SEQ {
        return Err(SeqError::InvalidState("appended seq is not above last, or too large"));
    }
    if append.ts < header.last_ts {
        return Err(SeqError::InvalidState("appended ts is older than the log's newest"));
    }
    // A damaged log already says it misses effects: it follows its master's later
    // appends by the old rule (above `last`) instead of refusing every one of them.
    let expected = append.skip.map(|skip| last.saturating_add(skip).saturating_add(1));
    if expected.is_some_and(|expected| expected != append.seq) && !damaged {
        return Err(SeqError::InvalidState("appended seq is not last + 1 + the declared skip (an effect is missing)"));
    }
    if id.is_empty() {
        return Err(SeqError::InvalidState("empty client-msg-id"));
    }
    let floor = append.dedup_floor.min(append.seq);
    if !DedupIndex::can_index(floor.max(dedup_floor), append.seq) {
        return Err(SeqError::InvalidState("appended seq too far above the de-duplication floor"));
    }
    Ok(())
}

/// Descending iteration: chunks decode forwards, so each chunk's slice of the range is
/// decoded into a small page (at most `chunk::MAX_ENTRIES`) and handed out backwards.
pub struct RevRange<'a> {
    chunks: ChunkList<'a>,
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
            let chunk = self.chunks.get(self.next_chunk)?;
            if chunk.last_seq() < self.start {
                self.next_chunk = 0;
                return None;
            }
            let (start, end) = (self.start, self.end);
            self.page.extend(chunk.live_from(start).take_while(|e| e.seq <= end));
        }
    }
}
