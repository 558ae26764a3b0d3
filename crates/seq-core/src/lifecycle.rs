//! The message lifecycle: edits and deletions of retained entries, counted in `rev`, and
//! the change records SEQ.CHANGES pages through.
//!
//! Both operations depend on nothing but the log, so the master's effect is its input,
//! resolved: the edited `(seq, payload)`, the seqs actually deleted. `apply_edit` and
//! `apply_delete` are what a replica or the AOF runs; they refuse an effect that does not
//! fit the log instead of letting it diverge.

use super::changes::ChangeRecords;
use super::chunk::{chunk_of, Chunk};
use super::deleted_counts::DeletedCounts;
use super::log::LargeLog;
use super::{Entry, SeqError, SeqLog, MAX_SEQ};

/// The lifecycle state of a log: all zero, and nothing allocated, until its first change.
/// Boxed in the log (`SeqLog::lifecycle`), allocated at the first change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lifecycle {
    /// Changes ever made.
    pub(super) rev: u64,
    /// The highest rev among changes dropped by trimming: a device that saw less must resync.
    pub(super) resync_floor: u64,
    /// Entries deleted and not yet trimmed.
    pub(super) deleted: u64,
    pub(super) records: Option<Box<ChangeRecords>>,
    /// Deleted entries per chunk, for rank answers; present while `deleted > 0`.
    pub(super) counts: Option<Box<DeletedCounts>>,
    /// A replicated or loaded effect did not fit: the log may miss writes it was sent.
    /// Persisted; writes are refused while it is set (the adapter checks). Kept here, with
    /// the other rare state, so a small log does not pay for it.
    pub(super) damaged: bool,
}

impl Lifecycle {
    pub(super) const fn new() -> Lifecycle {
        Lifecycle { rev: 0, resync_floor: 0, deleted: 0, records: None, counts: None, damaged: false }
    }

    fn record(&mut self, seq: u64) {
        self.rev += 1;
        let rev = self.rev;
        self.records.get_or_insert_with(Box::default).record(seq, rev);
    }

    /// A trim dropped every entry below `keep_from`, `deleted` of them deleted.
    pub(super) fn forget_below(&mut self, keep_from: u64, deleted: u64) {
        self.deleted -= deleted;
        if self.deleted == 0 {
            self.counts = None;
        }
        let Some(records) = self.records.as_mut() else { return };
        if let Some(dropped) = records.drop_below(keep_from) {
            self.resync_floor = self.resync_floor.max(dropped);
        }
        if records.is_empty() {
            self.records = None;
        }
    }

    pub(super) fn records(&self) -> impl Iterator<Item = &ChangeRecords> {
        self.records.as_deref().into_iter()
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.records.as_ref().map_or(0, |r| std::mem::size_of::<ChangeRecords>() + r.heap_bytes())
            + self.counts.as_ref().map_or(0, |c| std::mem::size_of::<DeletedCounts>() + c.heap_bytes())
    }
}

/// One element of SEQ.CHANGES: a seq at its latest change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change<'a> {
    pub rev: u64,
    pub seq: u64,
    /// The entry as it is now; None once deleted.
    pub entry: Option<Entry<'a>>,
}

impl SeqLog {
    /// Changes ever made (edits and deletions).
    pub fn rev(&self) -> u64 {
        self.lifecycle().rev
    }

    /// The highest rev among changes dropped by trimming (0: none was).
    pub fn resync_floor(&self) -> u64 {
        self.lifecycle().resync_floor
    }

    /// Entries deleted and not yet trimmed.
    pub fn deleted(&self) -> u64 {
        self.lifecycle().deleted
    }

    /// SEQ.EDIT: replaces the payload of the retained, not deleted entry `seq`, rewriting
    /// its chunk. Returns the new rev, or None when the entry already has this payload
    /// (nothing changed: reply `rev()`, replicate nothing).
    pub fn edit(&mut self, seq: u64, payload: &[u8]) -> Result<Option<u64>, SeqError> {
        let entry = self.get(seq).ok_or(SeqError::NoEntry { seq })?;
        if entry.payload == payload {
            return Ok(None);
        }
        self.check_rev_room(1)?;
        let log = self.large()?;
        let index = chunk_of(&log.chunks, seq).map(|(index, _)| index);
        if let Some(chunk) = index.and_then(|index| log.chunks.get_mut(index)) {
            chunk.rewrite(Some((seq, payload)));
        }
        let lifecycle = log.lifecycle_mut();
        lifecycle.record(seq);
        Ok(Some(lifecycle.rev))
    }

    /// Applies a replicated edit: refused unless it changes a retained, not deleted entry.
    pub fn apply_edit(&mut self, seq: u64, payload: &[u8]) -> Result<u64, SeqError> {
        match self.edit(seq, payload) {
            Ok(Some(rev)) => Ok(rev),
            Ok(None) => Err(SeqError::InvalidState("replicated edit changes nothing")),
            Err(SeqError::NoEntry { .. }) => Err(SeqError::InvalidState("edited entry is not retained")),
            Err(other) => Err(other),
        }
    }

    /// SEQ.DEL: deletes each given seq that is a retained, not deleted entry, ascending,
    /// one rev each; the others are ignored. Returns the seqs deleted: the effect.
    pub fn delete(&mut self, seqs: &[u64]) -> Result<Vec<u64>, SeqError> {
        let targets = self.plan_delete(seqs);
        self.check_rev_room(targets.len() as u64)?;
        self.large()?.delete_checked(&targets);
        Ok(targets)
    }

    /// What `delete(seqs)` would delete, without changing anything: the given seqs that are
    /// retained, not deleted entries, ascending, each once. The adapter plans with this and
    /// commits the result through `apply_delete`, as replicas do.
    pub fn plan_delete(&self, seqs: &[u64]) -> Vec<u64> {
        let mut targets: Vec<u64> = seqs.iter().copied().filter(|&seq| self.get(seq).is_some()).collect();
        targets.sort_unstable();
        targets.dedup();
        targets
    }

    /// Applies replicated deletions: refused, changing nothing, unless every seq is a
    /// retained, not deleted entry, strictly ascending. Returns how many.
    pub fn apply_delete(&mut self, seqs: &[u64]) -> Result<u64, SeqError> {
        if !seqs.windows(2).all(|pair| pair[0] < pair[1]) || !seqs.iter().all(|&seq| self.get(seq).is_some()) {
            return Err(SeqError::InvalidState("replicated deletion of an entry that is not retained"));
        }
        self.check_rev_room(seqs.len() as u64)?;
        self.large()?.delete_checked(seqs);
        Ok(seqs.len() as u64)
    }

    fn check_rev_room(&self, changes: u64) -> Result<(), SeqError> {
        match self.lifecycle().rev.checked_add(changes) {
            Some(rev) if rev <= MAX_SEQ => Ok(()),
            _ => Err(SeqError::LogFull),
        }
    }
}

impl LargeLog {
    /// Counts the chunk just pushed at the back, rebuilding the counts when it does not fit.
    pub(super) fn count_pushed_chunk(&mut self) {
        let Some(deleted) = self.chunks.back().map(Chunk::deleted_count) else { return };
        match self.lifecycle.as_mut().and_then(|l| l.counts.as_mut()) {
            Some(counts) if counts.fits(self.chunks.len()) => counts.add(self.chunks.len() - 1, u64::from(deleted)),
            None if deleted == 0 => {}
            _ => self.rebuild_counts(),
        }
    }

    fn rebuild_counts(&mut self) {
        let counts = DeletedCounts::build(self.chunks.iter().map(Chunk::deleted_count));
        self.lifecycle_mut().counts = Some(Box::new(counts));
    }

    /// Deletes `seqs` (ascending, each retained and not deleted): each chunk is rewritten
    /// once and its deleted count updated, O(log chunks).
    pub(super) fn delete_checked(&mut self, seqs: &[u64]) {
        if self.lifecycle().counts.is_none() && !seqs.is_empty() {
            self.rebuild_counts();
        }
        let mut rest = seqs;
        while let Some(&first) = rest.first() {
            let Some((index, chunk)) = chunk_of(&self.chunks, first) else { break };
            let in_chunk = rest.iter().take_while(|&&seq| chunk.contains(seq)).count().max(1);
            let (now, later) = rest.split_at(in_chunk);
            if let Some(chunk) = self.chunks.get_mut(index) {
                for &seq in now {
                    chunk.flag_deleted(seq);
                }
                chunk.rewrite(None);
            }
            for &seq in now {
                self.lifecycle_mut().record(seq);
            }
            let lifecycle = self.lifecycle_mut();
            lifecycle.deleted += now.len() as u64;
            if let Some(counts) = lifecycle.counts.as_mut() {
                counts.add(index, now.len() as u64);
            }
            rest = later;
        }
    }
}

impl SeqLog {
    /// SEQ.CHANGES: each seq whose latest change has a rev > `since_rev`, ascending by
    /// that rev, with its entry as it is now (the caller takes a page): O(page + log n).
    /// `SeqError::Resync` when a change newer than `since_rev` was dropped by a trim.
    pub fn changes_since(&self, since_rev: u64) -> Result<impl Iterator<Item = Change<'_>> + '_, SeqError> {
        if since_rev < self.lifecycle().resync_floor {
            return Err(SeqError::Resync { rev: self.lifecycle().resync_floor });
        }
        let records = self.lifecycle().records().flat_map(move |records| records.since(since_rev));
        Ok(records.map(|(rev, seq)| Change { rev, seq, entry: self.get(seq) }))
    }

    /// The change records of `chunk` (one of this log's chunks), packed as persisted:
    /// per record `varint(seq - first_seq) varint(rev * 2 + deleted)`, ascending by seq.
    /// Empty for a chunk without changes.
    pub fn packed_changes(&self, chunk: &Chunk) -> Vec<u8> {
        let mut packed = Vec::new();
        for records in self.lifecycle().records() {
            for (seq, rev) in records.in_seqs(chunk.first_seq, chunk.end_seq()) {
                super::varint::put(&mut packed, seq - chunk.first_seq);
                super::varint::put(&mut packed, rev * 2 + u64::from(chunk.is_deleted(seq)));
            }
        }
        packed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AllocPlan, AllocPolicy, TrimBy};

    fn log_of(n: u64) -> SeqLog {
        let mut log = SeqLog::new();
        let policy = AllocPolicy { dedup_window_ms: 1_000_000, ..AllocPolicy::default() };
        for i in 1..=n {
            let id = format!("id-{i}");
            if let AllocPlan::Append(append) = log.plan_alloc(id.as_bytes(), i, &policy).unwrap() {
                log.apply_append(&append, id.as_bytes(), format!("payload {i}").as_bytes()).unwrap();
            }
        }
        log
    }

    fn listed(log: &SeqLog, since: u64) -> Result<Vec<(u64, u64, bool)>, SeqError> {
        log.changes_since(since).map(|changes| changes.map(|c| (c.rev, c.seq, c.entry.is_some())).collect())
    }

    #[test]
    fn edits_replace_the_payload_and_count_once_per_change() {
        let mut log = log_of(600);
        assert_eq!(log.edit(300, b"new"), Ok(Some(1)));
        assert_eq!(log.edit(300, b"new"), Ok(None));
        assert_eq!(log.get(300).unwrap().payload, b"new");
        assert_eq!(log.get(301).unwrap().payload, b"payload 301");
        assert_eq!(log.edit(601, b"x"), Err(SeqError::NoEntry { seq: 601 }));
        assert_eq!(log.edit(0, b"x"), Err(SeqError::NoEntry { seq: 0 }));
        assert_eq!(log.apply_edit(300, b"new"), Err(SeqError::InvalidState("replicated edit changes nothing")));
        assert_eq!(log.apply_edit(300, b"newer"), Ok(2));
        assert_eq!(listed(&log, 0), Ok(vec![(2, 300, true)]));
        assert_eq!(log.rev(), 2);
    }

    #[test]
    fn deletions_hide_entries_and_keep_ranks_exact() {
        let mut log = log_of(1000);
        assert_eq!(log.delete(&[900, 1, 1, 5000, 400, 401]), Ok(vec![1, 400, 401, 900]));
        assert_eq!(log.delete(&[1]), Ok(vec![]));
        assert_eq!((log.len(), log.deleted(), log.rev(), log.first()), (996, 4, 4, 2));
        assert_eq!(log.get(400), None);
        assert_eq!(log.seq_of_id(b"id-400"), Some(400));
        assert_eq!(log.count_after(0), 996);
        assert_eq!(log.count_after(400), 598);
        assert_eq!(log.count_after(899), 100);
        assert_eq!(log.seq_at_rank(0), Some(2));
        assert_eq!(log.seq_at_rank(398), Some(402));
        assert_eq!(log.range(399, 402).map(|e| e.seq).collect::<Vec<_>>(), vec![399, 402]);
        assert_eq!(log.rev_range(402, 399).map(|e| e.seq).collect::<Vec<_>>(), vec![402, 399]);
        assert_eq!(listed(&log, 1), Ok(vec![(2, 400, false), (3, 401, false), (4, 900, false)]));
        // MAXLEN counts live entries and trims the deleted ones below the oldest kept.
        assert_eq!(log.plan_trim(TrimBy::MaxLen(600)), 398);
        let keep_from = log.plan_trim(TrimBy::MaxLen(598));
        assert_eq!(keep_from, 402);
        assert_eq!(log.trim_before(keep_from), 398);
        assert_eq!((log.len(), log.deleted(), log.resync_floor()), (598, 1, 3));
        assert_eq!(listed(&log, 2), Err(SeqError::Resync { rev: 3 }));
        assert_eq!(listed(&log, 3), Ok(vec![(4, 900, false)]));
        let before = (log.rev(), log.deleted(), log.len());
        assert!(log.apply_delete(&[950, 940]).is_err());
        assert!(log.apply_delete(&[940, 900]).is_err());
        assert!(log.apply_delete(&[940, 940]).is_err());
        assert_eq!((log.rev(), log.deleted(), log.len()), before, "a refused effect changes nothing");
        assert_eq!(log.apply_delete(&[940, 950]), Ok(2));
        assert_eq!(log.count_after(939), 59);
    }

    #[test]
    fn a_deleted_payload_is_freed_at_once() {
        let mut log = SeqLog::new();
        let policy = AllocPolicy::default();
        for i in 1..=4u64 {
            if let AllocPlan::Append(append) = log.plan_alloc(&[b'a' + i as u8], i, &policy).unwrap() {
                log.apply_append(&append, &[b'a' + i as u8], &[7; 3000]).unwrap();
            }
        }
        let stored = |log: &SeqLog| log.chunks().iter().map(|c| c.live_bytes().len()).sum::<usize>();
        let before = stored(&log);
        log.delete(&[2]).unwrap();
        // The payload's 3000 bytes go (and a byte of its length), and the buffer shrinks
        // to what is left (the allocator's size class of it); the deletion flags cost 32.
        assert_eq!(stored(&log) + 3001, before);
        let chunk_bytes: usize = log.chunks().iter().map(Chunk::heap_bytes).sum();
        assert_eq!(chunk_bytes, crate::alloc_size::allocation_size(stored(&log)) + 32);
        assert!(log.heap_bytes() < chunk_bytes + 1000, "the rest of the log is small");
    }

    #[test]
    fn ranks_stay_exact_across_many_chunks_trims_and_rebuilds() {
        let mut log = SeqLog::new();
        let mut live = std::collections::BTreeSet::new();
        let policy = AllocPolicy { dedup_window_ms: 10, ..AllocPolicy::default() };
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut random = move |below: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % below.max(1)
        };
        for round in 0..40u64 {
            for i in 0..300u64 {
                let id = format!("{round}-{i}");
                if let AllocPlan::Append(append) = log.plan_alloc(id.as_bytes(), round * 1000 + i, &policy).unwrap() {
                    log.apply_append(&append, id.as_bytes(), &[1; 900]).unwrap();
                    live.insert(append.seq);
                }
            }
            let stored_first = log.chunks().front().map_or(1, |c| c.first_seq);
            let picks: Vec<u64> = (0..20).map(|_| stored_first + random(log.last() + 1 - stored_first)).collect();
            for seq in log.delete(&picks).unwrap() {
                assert!(live.remove(&seq));
            }
            if round % 3 == 2 {
                let keep_from = log.last().saturating_sub(3000);
                log.trim_before(keep_from);
                live.retain(|&seq| seq >= keep_from);
            }
            assert_eq!((log.len(), log.first()), (live.len() as u64, live.first().copied().unwrap_or(log.last() + 1)));
            for _ in 0..20 {
                let after = random(log.last() + 2);
                assert_eq!(log.count_after(after), live.range(after + 1..).count() as u64, "after {after}");
                let rank = random(live.len() as u64 + 1);
                assert_eq!(log.seq_at_rank(rank), live.iter().nth(rank as usize).copied(), "rank {rank}");
            }
        }
        assert!(log.chunks().len() > 100);
    }

    #[test]
    fn a_log_whose_entries_are_all_deleted_reads_empty() {
        let mut log = log_of(3);
        log.delete(&[1, 2, 3]).unwrap();
        assert_eq!((log.len(), log.first(), log.first_ts(), log.last_ts()), (0, 4, 0, 0));
        assert_eq!(log.plan_trim(TrimBy::MaxLen(5)), 4);
        assert_eq!(log.trim_before(4), 0);
        assert_eq!((log.deleted(), log.resync_floor(), log.rev()), (0, 3, 3));
        assert_eq!(listed(&log, 3), Ok(vec![]));
    }

    /// A log of 100,000 entries with 1% of them edited and 1% deleted (the benchmark's
    /// pattern: in each hundred seqs one edit, one deletion), then every edited entry
    /// edited again: the change records cost a few bytes per changed entry.
    #[test]
    fn change_records_cost_a_few_bytes_per_changed_entry() {
        let mut log = log_of(100_000);
        let record_bytes = |log: &SeqLog| log.lifecycle().records().map(ChangeRecords::heap_bytes).sum::<usize>();
        for hundred in 0..1_000u64 {
            log.edit(hundred * 100 + 50, b"an edited payload").unwrap();
            log.delete(&[hundred * 100 + 7]).unwrap();
        }
        let changed = 2_000.0;
        let first = record_bytes(&log) as f64 / changed;
        for hundred in 0..1_000u64 {
            log.edit(hundred * 100 + 50, b"edited again").unwrap();
        }
        let again = record_bytes(&log) as f64 / changed;
        eprintln!("change records: {first:.1} bytes per changed entry, {again:.1} once the edits are edited again");
        assert!(first <= 12.0 && again <= 12.0, "{first} then {again} bytes per changed entry");
        assert_eq!(listed(&log, 2_000).unwrap().len(), 1_000);
    }
}
