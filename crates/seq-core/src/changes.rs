//! Change records: for each retained entry that was edited or deleted, the rev of its
//! latest change, indexed both ways: by seq (a new change replaces the old record; a trim
//! drops the records below its point) and by rev (SEQ.CHANGES reads a page in rev order,
//! O(page + log n)). Both are packed maps (`PackedMap`): a few bytes per record each. A
//! log that never changed has none of this allocated (`Lifecycle` holds it behind an
//! `Option<Box<_>>`).

use super::packed_map::PackedMap;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeRecords {
    rev_by_seq: PackedMap,
    seq_by_rev: PackedMap,
}

impl ChangeRecords {
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.rev_by_seq.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rev_by_seq.is_empty()
    }

    /// Records that `seq` changed at `rev` (a rev no other record has), replacing its
    /// previous record. Revs are issued ascending, so the by-rev insert lands in the last
    /// block (a load inserts in seq order, so near it).
    pub fn record(&mut self, seq: u64, rev: u64) {
        if let Some(previous) = self.rev_by_seq.insert(seq, rev) {
            self.seq_by_rev.remove(previous);
        }
        self.seq_by_rev.insert(rev, seq);
    }

    pub fn has_rev(&self, rev: u64) -> bool {
        self.seq_by_rev.get(rev).is_some()
    }

    /// Drops the records of seqs below `seq`; returns the highest rev dropped. Costs the
    /// records dropped (each by-rev block they touch rewritten once), O(log n) if none.
    pub fn drop_below(&mut self, seq: u64) -> Option<u64> {
        let mut revs = Vec::new();
        self.rev_by_seq.drop_below(seq, |_, rev| revs.push(rev));
        revs.sort_unstable();
        self.seq_by_rev.remove_sorted(&revs);
        revs.last().copied()
    }

    /// `(rev, seq)` of each record with rev > `since_rev`, ascending by rev.
    pub fn since(&self, since_rev: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        let from = since_rev.saturating_add(1);
        self.seq_by_rev.range_from(from).skip_while(move |&(rev, _)| rev <= since_rev)
    }

    /// `(seq, rev)` of each record with `start <= seq < end`, ascending by seq.
    pub fn in_seqs(&self, start: u64, end: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.rev_by_seq.range_from(start).take_while(move |&(seq, _)| seq < end)
    }

    pub fn heap_bytes(&self) -> usize {
        self.rev_by_seq.heap_bytes() + self.seq_by_rev.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_seq_keeps_only_its_latest_change() {
        let mut records = ChangeRecords::default();
        records.record(5, 1);
        records.record(7, 2);
        records.record(5, 3);
        assert_eq!(records.since(0).collect::<Vec<_>>(), vec![(2, 7), (3, 5)]);
        assert_eq!(records.since(2).collect::<Vec<_>>(), vec![(3, 5)]);
        assert_eq!(records.in_seqs(5, 7).collect::<Vec<_>>(), vec![(5, 3)]);
        assert_eq!(records.drop_below(6), Some(3));
        assert_eq!(records.drop_below(6), None);
        assert_eq!(records.since(0).collect::<Vec<_>>(), vec![(2, 7)]);
        assert!(records.has_rev(2) && !records.has_rev(3));
        assert_eq!(records.len(), 1);
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// A change of seq `pick % 5000` (the log's next rev).
        Change(u64),
        DropBelow(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            40 => (0u64..5_000).prop_map(Op::Change),
            1 => (0u64..5_000).prop_map(Op::DropBelow),
        ]
    }

    /// The naive records: the latest rev per seq, and the highest rev dropped.
    #[derive(Default)]
    struct Model {
        rev_by_seq: BTreeMap<u64, u64>,
    }

    impl Model {
        fn since(&self, since_rev: u64) -> Vec<(u64, u64)> {
            let mut by_rev: Vec<(u64, u64)> =
                self.rev_by_seq.iter().map(|(&seq, &rev)| (rev, seq)).filter(|&(rev, _)| rev > since_rev).collect();
            by_rev.sort_unstable();
            by_rev
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Against the naive records: the same pages by rev, ranges by seq, revs known and
        /// highest rev dropped after every step, as edits, deletions and trims come.
        #[test]
        fn records_match_the_naive_ones(ops in prop::collection::vec(op(), 1..2000), probes in prop::collection::vec(0u64..5_100, 6)) {
            let mut records = ChangeRecords::default();
            let mut model = Model::default();
            let mut rev = 0;
            for (step, op) in ops.into_iter().enumerate() {
                match op {
                    Op::Change(seq) => {
                        rev += 1;
                        records.record(seq, rev);
                        model.rev_by_seq.insert(seq, rev);
                    }
                    Op::DropBelow(seq) => {
                        let kept = model.rev_by_seq.split_off(&seq);
                        let dropped = std::mem::replace(&mut model.rev_by_seq, kept);
                        prop_assert_eq!(records.drop_below(seq), dropped.values().max().copied(), "step {}", step);
                    }
                }
                prop_assert_eq!((records.len(), records.is_empty()), (model.rev_by_seq.len(), model.rev_by_seq.is_empty()));
                for &probe in &probes {
                    let since_rev = rev.saturating_sub(probe % 300);
                    prop_assert_eq!(records.since(since_rev).take(20).collect::<Vec<_>>(), model.since(since_rev).into_iter().take(20).collect::<Vec<_>>());
                    let in_seqs: Vec<_> = model.rev_by_seq.range(probe..probe + 200).map(|(&s, &r)| (s, r)).collect();
                    prop_assert_eq!(records.in_seqs(probe, probe + 200).collect::<Vec<_>>(), in_seqs);
                    let known = model.rev_by_seq.values().any(|&r| r == since_rev);
                    prop_assert_eq!(records.has_rev(since_rev), known, "rev {} at step {}", since_rev, step);
                }
            }
            prop_assert_eq!(records.since(0).collect::<Vec<_>>(), model.since(0));
        }
    }
}
