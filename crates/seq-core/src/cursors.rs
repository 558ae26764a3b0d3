//! Consumer cursors: per consumer (a device, a user), the highest seq it acknowledged.
//! Kept sorted by name so SEQ.CURSORS, the encoding and the digest are deterministic,
//! and counted by value (`CursorCounts`) so SEQ.READERS ("read by 37") is O(log N).

mod counts;

use std::collections::BTreeMap;

use counts::CursorCounts;

#[derive(Clone, Debug, Default)]
pub struct Cursors {
    by_name: BTreeMap<Box<[u8]>, u64>,
    /// The values of `by_name`, as a multiset: kept in step by every change below.
    by_value: CursorCounts,
}

impl Cursors {
    pub const fn new() -> Cursors {
        Cursors { by_name: BTreeMap::new(), by_value: CursorCounts::new() }
    }

    pub fn get(&self, name: &[u8]) -> Option<u64> {
        self.by_name.get(name).copied()
    }

    /// Moves `name`'s cursor to `max(cursor, seq)`, creating it if new; returns the cursor
    /// and whether anything changed.
    pub(crate) fn advance(&mut self, name: &[u8], seq: u64) -> (u64, bool) {
        match self.by_name.get_mut(name) {
            Some(cursor) if *cursor >= seq => (*cursor, false),
            Some(cursor) => {
                self.by_value.remove(*cursor);
                self.by_value.insert(seq);
                *cursor = seq;
                (seq, true)
            }
            None => {
                self.by_name.insert(name.into(), seq);
                self.by_value.insert(seq);
                (seq, true)
            }
        }
    }

    pub fn remove(&mut self, name: &[u8]) -> bool {
        let Some(cursor) = self.by_name.remove(name) else { return false };
        self.by_value.remove(cursor);
        true
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> {
        self.by_name.iter().map(|(name, &seq)| (&**name, seq))
    }

    /// Consumers whose cursor is ≥ `seq` (SEQ.READERS), in O(log N).
    pub fn readers_at_or_above(&self, seq: u64) -> u64 {
        self.by_value.at_or_above(seq)
    }

    pub fn heap_bytes(&self) -> usize {
        // A B-tree node per few entries; count each entry's key, value and a share of node.
        let by_name: usize = self.by_name.keys().map(|k| k.len() + 16 + 8 + 8).sum();
        by_name + self.by_value.heap_bytes()
    }
}

/// Equal cursors: the same consumers at the same seqs (the counting tree's shape depends
/// on the order of changes, not on what it counts).
impl PartialEq for Cursors {
    fn eq(&self, other: &Cursors) -> bool {
        self.by_name == other.by_name
    }
}

impl Eq for Cursors {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Instant;

    #[derive(Clone, Debug)]
    enum Op {
        Advance(u8, u64),
        Remove(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..20, 0u64..30).prop_map(|(name, seq)| Op::Advance(name, seq)),
            1 => (0u8..20).prop_map(Op::Remove),
        ]
    }

    proptest! {
        #[test]
        fn readers_agree_with_counting_by_name(ops in proptest::collection::vec(op(), 0..200)) {
            let mut cursors = Cursors::default();
            for op in ops {
                match op {
                    Op::Advance(name, seq) => { cursors.advance(&[name], seq); }
                    Op::Remove(name) => { cursors.remove(&[name]); }
                }
                cursors.by_value.check();
                for seq in 0..32 {
                    let naive = cursors.iter().filter(|&(_, cursor)| cursor >= seq).count() as u64;
                    prop_assert_eq!(cursors.readers_at_or_above(seq), naive);
                }
            }
        }
    }

    /// Not timed as an assertion: prints what 100,000 consumers cost, for the docs
    /// (`cargo test --release -p seq-core hundred_thousand -- --nocapture`).
    #[test]
    fn hundred_thousand_consumers() {
        const N: u64 = 100_000;
        let mut cursors = Cursors::default();
        let names: Vec<Vec<u8>> = (0..N).map(|i| format!("device:{i:08}").into_bytes()).collect();
        let started = Instant::now();
        for (i, name) in names.iter().enumerate() {
            // Distinct cursors (the tree's worst case for memory), in a scattered order.
            cursors.advance(name, (i as u64 * 7919) % N);
        }
        let created = started.elapsed();
        let started = Instant::now();
        for (i, name) in names.iter().enumerate() {
            cursors.advance(name, N + i as u64);
        }
        let moved = started.elapsed();
        let started = Instant::now();
        let mut sum = 0;
        for seq in 0..N {
            sum += cursors.readers_at_or_above(N + seq);
        }
        let counted = started.elapsed();
        assert_eq!(sum, N * (N + 1) / 2);
        assert_eq!(cursors.readers_at_or_above(0), N);
        let tree = cursors.by_value.heap_bytes();
        println!(
            "{N} consumers: create {:.0} ns, move {:.0} ns, count {:.0} ns each; \
             counting tree {tree} bytes ({:.1} per consumer), heap_bytes {} in all",
            created.as_nanos() as f64 / N as f64,
            moved.as_nanos() as f64 / N as f64,
            counted.as_nanos() as f64 / N as f64,
            tree as f64 / N as f64,
            cursors.heap_bytes(),
        );
        for name in &names {
            assert!(cursors.remove(name));
        }
        assert_eq!((cursors.readers_at_or_above(0), cursors.by_value.heap_bytes()), (0, 0));
    }
}
