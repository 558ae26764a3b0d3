//! Consumer cursors: per consumer (a device, a user), the highest seq it acknowledged.
//! Kept sorted by name so SEQ.CURSORS, the encoding and the digest are deterministic.

use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cursors {
    by_name: BTreeMap<Box<[u8]>, u64>,
}

impl Cursors {
    pub fn get(&self, name: &[u8]) -> Option<u64> {
        self.by_name.get(name).copied()
    }

    /// Moves `name`'s cursor to `max(cursor, seq)`, creating it if new; returns the cursor
    /// and whether anything changed.
    pub fn advance(&mut self, name: &[u8], seq: u64) -> (u64, bool) {
        match self.by_name.get_mut(name) {
            Some(cursor) if *cursor >= seq => (*cursor, false),
            Some(cursor) => {
                *cursor = seq;
                (seq, true)
            }
            None => {
                self.by_name.insert(name.into(), seq);
                (seq, true)
            }
        }
    }

    pub fn remove(&mut self, name: &[u8]) -> bool {
        self.by_name.remove(name).is_some()
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> {
        self.by_name.iter().map(|(name, &seq)| (&**name, seq))
    }

    pub fn heap_bytes(&self) -> usize {
        // A B-tree node per few entries; count each entry's key, value and a share of node.
        self.by_name.keys().map(|k| k.len() + 16 + 8 + 8).sum()
    }
}
