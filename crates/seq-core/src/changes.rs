//! Change records: for each retained entry that was edited or deleted, the rev of its
//! latest change, indexed both ways: by seq (a new change replaces the old record; a trim
//! drops the records below its point) and by rev (SEQ.CHANGES reads a page in rev order,
//! O(page + log n)). A log that never changed has none of this allocated (`SeqLog`
//! holds it behind an `Option<Box<_>>`).

use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeRecords {
    rev_by_seq: BTreeMap<u64, u64>,
    seq_by_rev: BTreeMap<u64, u64>,
}

impl ChangeRecords {
    pub fn len(&self) -> usize {
        self.rev_by_seq.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rev_by_seq.is_empty()
    }

    /// Records that `seq` changed at `rev` (a rev no other record has), replacing its
    /// previous record.
    pub fn record(&mut self, seq: u64, rev: u64) {
        if let Some(previous) = self.rev_by_seq.insert(seq, rev) {
            self.seq_by_rev.remove(&previous);
        }
        self.seq_by_rev.insert(rev, seq);
    }

    pub fn has_rev(&self, rev: u64) -> bool {
        self.seq_by_rev.contains_key(&rev)
    }

    /// Drops the records of seqs below `seq`; returns the highest rev dropped.
    pub fn drop_below(&mut self, seq: u64) -> Option<u64> {
        let mut highest = None;
        while let Some(entry) = self.rev_by_seq.first_entry() {
            if *entry.key() >= seq {
                break;
            }
            let rev = entry.remove();
            self.seq_by_rev.remove(&rev);
            highest = highest.max(Some(rev));
        }
        highest
    }

    /// `(rev, seq)` of each record with rev > `since_rev`, ascending by rev.
    pub fn since(&self, since_rev: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        let from = since_rev.saturating_add(1);
        self.seq_by_rev.range(from..).map(|(&rev, &seq)| (rev, seq))
    }

    /// `(seq, rev)` of each record with `start <= seq < end`, ascending by seq.
    pub fn in_seqs(&self, start: u64, end: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.rev_by_seq.range(start..end.max(start)).map(|(&seq, &rev)| (seq, rev))
    }

    /// A B-tree holds its pairs in nodes of eleven, about two thirds full: some 24 bytes
    /// per pair in each of the two maps.
    pub fn heap_bytes(&self) -> usize {
        self.len() * 2 * 24
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
