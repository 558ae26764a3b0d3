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

use super::chunk::{self, Chunk};
use super::chunk_list::ChunkList;
use super::cursors::Cursors;
use super::dedup::DedupIndex;
use super::lifecycle::Lifecycle;
use super::log_ref::{check_append, Ids, LogRef, RevRange, NO_CURSORS, NO_LIFECYCLE};
use super::retired::RetiredIds;
use super::small_log::{Settle, SmallLog};
use super::stored_id::{PackBuf, StoredId};
use super::{Entry, SeqError};

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

/// One log, in one of two forms that answer every read alike (reads are written once,
/// over `LogRef`): most conversations are a handful of messages, so a log starts small
/// (`SmallLog`: one chunk and two scalars, held in the log itself) and becomes large when
/// an append would not fit that form, or on the first write that needs more (a trim that
/// retires ids, an edit, a deletion, a cursor, damage); it returns to the small form when
/// trims bring it back to a few entries and nothing rare. Nothing of this shows in a
/// reply, the encoding or the digest.
#[derive(Clone)]
pub struct SeqLog {
    form: Form,
}

#[derive(Clone)]
enum Form {
    Small(SmallLog),
    Large(Box<LargeLog>),
}

/// The large form: the parts most logs never use (lifecycle, cursors, retired ids, hash
/// tables) allocated on first use, and at most a few ids scanned instead of hashed
/// (`dedup::SCAN_IDS`).
#[derive(Clone, Default)]
pub(crate) struct LargeLog {
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

impl From<LargeLog> for SeqLog {
    fn from(log: LargeLog) -> SeqLog {
        SeqLog { form: Form::Large(Box::new(log)) }
    }
}

impl Default for SeqLog {
    fn default() -> SeqLog {
        SeqLog::new()
    }
}

impl SeqLog {
    pub fn new() -> SeqLog {
        SeqLog { form: Form::Small(SmallLog::new()) }
    }

    /// A log rebuilt in the large form (`encoding::load`), in the form it belongs in.
    pub(super) fn settled(mut log: LargeLog) -> SeqLog {
        match SmallLog::from_large(&mut log, Settle::Loaded) {
            Some(small) => SeqLog { form: Form::Small(small) },
            None => SeqLog::from(log),
        }
    }

    #[inline]
    pub(super) fn view(&self) -> LogRef<'_> {
        match &self.form {
            Form::Small(small) => small.view(),
            Form::Large(log) => log.view(),
        }
    }

    /// The large form of this log, made so first if it is small.
    #[inline]
    pub(super) fn large(&mut self) -> Result<&mut LargeLog, SeqError> {
        if let Form::Small(small) = &mut self.form {
            let large = std::mem::replace(small, SmallLog::new()).into_large();
            self.form = Form::Large(Box::new(large));
        }
        match &mut self.form {
            Form::Large(log) => Ok(log),
            Form::Small(_) => Err(SeqError::InvalidState("a small log did not become large")),
        }
    }

    /// Back to the small form, if the log is large but no longer needs to be.
    pub(super) fn settle(&mut self, settle: Settle) {
        if let Form::Large(log) = &mut self.form {
            if let Some(small) = SmallLog::from_large(log, settle) {
                self.form = Form::Small(small);
            }
        }
    }

    /// Whether the log is in its small form.
    #[cfg(test)]
    pub(super) fn is_small(&self) -> bool {
        matches!(self.form, Form::Small(_))
    }

    /// The de-duplication index of a large log (an empty one for a small log).
    #[cfg(test)]
    pub(super) fn dedup(&self) -> &DedupIndex {
        static NONE: std::sync::OnceLock<DedupIndex> = std::sync::OnceLock::new();
        match &self.form {
            Form::Small(_) => NONE.get_or_init(DedupIndex::default),
            Form::Large(log) => &log.dedup,
        }
    }

    pub(super) fn lifecycle(&self) -> &Lifecycle {
        self.view().lifecycle
    }

    // ---- reads -------------------------------------------------------------------------

    pub fn header(&self) -> LogHeader {
        self.view().header()
    }

    pub fn last(&self) -> u64 {
        self.view().header.last
    }

    /// Entries retained and not deleted: what reads return.
    pub fn len(&self) -> u64 {
        self.view().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lowest seq a read returns; `last + 1` when there is none.
    pub fn first(&self) -> u64 {
        self.view().first()
    }

    /// Lowest stored seq, deleted or not: where "trim nothing" stands.
    pub(super) fn stored_first(&self) -> u64 {
        self.view().stored_first()
    }

    /// ts of the lowest entry a read returns (0 when none).
    pub fn first_ts(&self) -> u64 {
        self.view().first_ts()
    }

    /// ts of the highest entry a read returns (0 when none).
    pub fn last_ts(&self) -> u64 {
        self.view().last_ts()
    }

    pub fn epoch(&self) -> u64 {
        self.view().header.epoch
    }

    pub fn skipped(&self) -> u64 {
        self.view().header.skipped
    }

    pub fn dedup_entries(&self) -> usize {
        self.view().dedup_entries()
    }

    pub fn retired(&self) -> &RetiredIds {
        self.view().retired()
    }

    pub fn cursors(&self) -> &Cursors {
        self.view().cursors
    }

    pub fn chunks(&self) -> ChunkList<'_> {
        self.view().chunks
    }

    /// The retained, not deleted entry `seq`, if any.
    pub fn get(&self, seq: u64) -> Option<Entry<'_>> {
        self.view().get(seq)
    }

    /// Retained entries with `start <= seq <= end`, ascending.
    pub fn range(&self, start: u64, end: u64) -> impl Iterator<Item = Entry<'_>> + '_ {
        self.view().range(start, end)
    }

    /// Retained entries with `start <= seq <= end`, descending.
    pub fn rev_range(&self, end: u64, start: u64) -> RevRange<'_> {
        self.view().rev_range(end, start)
    }

    /// Retained, not deleted entries with seq > `after`: O(log chunks).
    pub fn count_after(&self, after: u64) -> u64 {
        self.view().count_after(after)
    }

    /// The seq of the live entry at `rank` (0 = oldest not deleted): O(log chunks).
    pub(super) fn seq_at_rank(&self, rank: u64) -> Option<u64> {
        self.view().seq_at_rank(rank)
    }

    /// The first retained seq whose ts is `>= ts`.
    pub(super) fn first_seq_at_or_after_ts(&self, ts: u64) -> Option<u64> {
        self.view().first_seq_at_or_after_ts(ts)
    }

    /// The seq `id` got, if it is inside the de-duplication window.
    pub fn seq_of_id(&self, id: &[u8]) -> Option<u64> {
        self.view().seq_of_id(id)
    }

    pub fn cursor(&self, consumer: &[u8]) -> Option<u64> {
        self.cursors().get(consumer)
    }

    /// Retained entries the consumer has not acknowledged (a new consumer: all of them).
    pub fn unread(&self, consumer: &[u8]) -> u64 {
        self.view().unread(consumer)
    }

    /// Heap bytes owned by this log (for MEMORY USAGE): what each form allocates.
    pub fn heap_bytes(&self) -> usize {
        match &self.form {
            Form::Small(small) => small.heap_bytes(),
            Form::Large(log) => std::mem::size_of::<LargeLog>() + log.heap_bytes(),
        }
    }

    // ---- ALLOC -------------------------------------------------------------------------

    /// Decides what an ALLOC of `id` at wall-clock `now_ms` does, without changing anything.
    pub fn plan_alloc(&self, id: &[u8], now_ms: u64, policy: &AllocPolicy) -> Result<AllocPlan, SeqError> {
        self.view().plan_alloc(id, now_ms, policy)
    }

    /// Decides what a SEQ.IMPORT of `id` at exactly `seq` and `ts` does, without changing
    /// anything. The failover fence does not apply (the seq is explicit), but the import
    /// writes the log in the node's epoch as an ALLOC would: the log was last written
    /// here, so neither does the next ALLOC on this node skip because of an import, nor
    /// does one after a failover fail to skip (imported seqs can be lost like allocated ones).
    pub fn plan_import(&self, seq: u64, ts: u64, id: &[u8], policy: &AllocPolicy) -> Result<AllocPlan, SeqError> {
        self.view().plan_import(seq, ts, id, policy)
    }

    /// Applies a resolved append (planned here, or received from the master or the AOF).
    /// Returns how many entries automatic retention trimmed.
    pub fn apply_append(&mut self, append: &Append, id: &[u8], payload: &[u8]) -> Result<u64, SeqError> {
        let mut buf = PackBuf::new();
        let id = StoredId::of(id, &mut buf);
        if let Form::Small(small) = &mut self.form {
            small.view().check_append(append, id)?;
            if small.try_append(append, id, payload) {
                return Ok(0);
            }
        }
        let log = self.large()?;
        let trimmed = log.apply_append(append, id, payload)?;
        // Only a log of one chunk can be small: one test for the others.
        if log.chunks.len() <= 1 {
            self.settle(Settle::Shrunk);
        }
        Ok(trimmed)
    }

    // ---- damage ------------------------------------------------------------------------

    /// Whether a replicated or loaded effect did not fit this log (see `mark_damaged`).
    pub fn is_damaged(&self) -> bool {
        self.lifecycle().damaged
    }

    /// Records that an effect sent to this log did not fit it, so the log is not trusted
    /// to hold every write its master made. Returns whether it was undamaged before.
    pub fn mark_damaged(&mut self) -> bool {
        self.large().is_ok_and(LargeLog::mark_damaged)
    }

    // ---- retention ---------------------------------------------------------------------

    /// Trims every retained entry with seq < `keep_from` (`LargeLog::trim_before`).
    pub fn trim_before(&mut self, keep_from: u64) -> u64 {
        if keep_from <= self.stored_first() {
            return 0;
        }
        let trimmed = self.large().map_or(0, |log| log.trim_before(keep_from));
        self.settle(Settle::Shrunk);
        trimmed
    }

    // ---- cursors -----------------------------------------------------------------------

    /// Sets `consumer`'s cursor to `max(cursor, seq)`; returns the cursor and whether it
    /// changed (moved or was created).
    pub fn ack(&mut self, consumer: &[u8], seq: u64) -> Result<(u64, bool), SeqError> {
        let last = self.last();
        if seq > last {
            return Err(SeqError::SeqOutOfRange { seq, last });
        }
        self.large()?.ack(consumer, seq)
    }

    pub fn forget(&mut self, consumer: &[u8]) -> bool {
        let Form::Large(log) = &mut self.form else { return false };
        let removed = log.forget(consumer);
        self.settle(Settle::Shrunk);
        removed
    }
}

impl LargeLog {
    pub(super) fn view(&self) -> LogRef<'_> {
        LogRef {
            header: self.header,
            chunks: ChunkList::of_deque(&self.chunks),
            stored: self.stored,
            lifecycle: self.lifecycle(),
            cursors: self.cursors.as_deref().unwrap_or(&NO_CURSORS),
            ids: Ids::Index(&self.dedup, &self.chunks),
        }
    }

    pub(super) fn lifecycle(&self) -> &Lifecycle {
        self.lifecycle.as_deref().unwrap_or(&NO_LIFECYCLE)
    }

    pub(super) fn lifecycle_mut(&mut self) -> &mut Lifecycle {
        self.lifecycle.get_or_insert_with(Box::default)
    }

    pub(super) fn retired(&self) -> &RetiredIds {
        self.dedup.retired()
    }

    fn heap_bytes(&self) -> usize {
        let chunks: usize = self.chunks.iter().map(Chunk::heap_bytes).sum();
        chunks
            + self.chunks.capacity() * std::mem::size_of::<Chunk>()
            + self.dedup.heap_bytes()
            + self.cursors.as_ref().map_or(0, |c| std::mem::size_of::<Cursors>() + c.heap_bytes())
            + self.lifecycle.as_ref().map_or(0, |l| std::mem::size_of::<Lifecycle>() + l.heap_bytes())
    }

    fn apply_append(&mut self, append: &Append, id: StoredId, payload: &[u8]) -> Result<u64, SeqError> {
        check_append(&self.header, self.lifecycle().damaged, self.dedup.floor(), append, id)?;
        let last = self.header.last;
        self.dedup.advance_floor(append.dedup_floor.min(append.seq), &self.chunks);

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

    pub(super) fn mark_damaged(&mut self) -> bool {
        !std::mem::replace(&mut self.lifecycle_mut().damaged, true)
    }

    /// Trims every retained entry with seq < `keep_from`, deleted ones and their change
    /// records included; ids still inside the de-duplication window are kept aside. Never
    /// changes `last`. Returns the (not deleted) entries removed. Costs the entries
    /// removed (plus one partial chunk), never the log's length.
    fn trim_before(&mut self, keep_from: u64) -> u64 {
        let keep_from = keep_from.min(self.header.last + 1);
        // The stored first seq (`LogRef::stored_first`), read without a view: this runs on
        // every append.
        if self.chunks.front().is_none_or(|c| keep_from <= c.first_seq) {
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

    pub(super) fn ack(&mut self, consumer: &[u8], seq: u64) -> Result<(u64, bool), SeqError> {
        if seq > self.header.last {
            return Err(SeqError::SeqOutOfRange { seq, last: self.header.last });
        }
        Ok(self.cursors.get_or_insert_with(Box::default).advance(consumer, seq))
    }

    fn forget(&mut self, consumer: &[u8]) -> bool {
        let Some(cursors) = self.cursors.as_mut() else { return false };
        let removed = cursors.remove(consumer);
        if cursors.is_empty() {
            self.cursors = None;
        }
        removed
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
