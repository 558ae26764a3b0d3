//! A sorted map of u64 to u64 that costs a few bytes per pair: the pairs live in blocks of
//! at most `MAX_PAIRS`, each block one exact-size buffer of varint pairs, the blocks in a
//! sorted deque keyed by a lower bound of their keys. A lookup or a change binary-searches
//! the deque and decodes (for a change, re-encodes) one block: O(log n + MAX_PAIRS); the
//! change records use two (by seq, by rev). A map that holds nothing allocates nothing.
//!
//! A deque rather than a B-tree: a block costs 24 bytes there instead of a share of
//! 320-byte nodes (which a map of one pair pays whole), and dropping the oldest blocks, a
//! trim, is a pop at the front. The price is a move of the block list when a block in the
//! middle splits or merges, at most once per `MIN_PAIRS` changes to it (a log with a
//! million changed entries moves some 300 KB then); appends and trims never pay it.
//!
//! A block keyed `b` holds keys in `[b, key of the next block)`. Its bytes are, per pair,
//! `varint(key - previous key) varint(zigzag(value - previous value))`, the first pair's
//! previous key being `b` and its previous value 0: keys close together (consecutive
//! revs, changes of nearby seqs) take a byte, values that move little (the rev of nearby
//! seqs, the seq of consecutive revs) a byte or two. Since the key is only a lower bound,
//! removing a block's first pair re-keys nothing.

use std::collections::VecDeque;

use super::alloc_size::allocation_size;
use super::varint;

/// Pairs per block at most: bounds the bytes decoded per lookup.
const MAX_PAIRS: usize = 64;
/// A block (but the last) with fewer pairs merges with the next, so that sparse blocks
/// cannot make the per-block cost a per-pair one.
const MIN_PAIRS: usize = MAX_PAIRS / 4;

#[derive(Clone, Debug, Default)]
pub struct PackedMap {
    /// Ascending by key.
    blocks: VecDeque<Block>,
    len: usize,
}

#[derive(Clone, Debug)]
struct Block {
    /// A lower bound of the block's keys, above the previous block's.
    key: u64,
    bytes: Box<[u8]>,
}

impl Block {
    fn pairs(&self) -> Pairs<'_> {
        Pairs { bytes: &self.bytes, pos: 0, previous: (self.key, 0) }
    }
}

/// Equal maps hold the same pairs (the blocks depend on the order of changes).
impl PartialEq for PackedMap {
    fn eq(&self, other: &PackedMap) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for PackedMap {}

impl PackedMap {
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, key: u64) -> Option<u64> {
        let block = self.blocks.get(self.block_of(key)?)?;
        block.pairs().find(|&(k, _)| k >= key).filter(|&(k, _)| k == key).map(|(_, value)| value)
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(&mut self, key: u64, value: u64) -> Option<u64> {
        // The block that must hold `key`; below every block, the first one, re-keyed.
        let at = match self.block_of(key) {
            Some(at) => at,
            None if !self.blocks.is_empty() => 0,
            None => {
                self.blocks.push_back(Block { key, bytes: encode(key, &[(key, value)]) });
                self.len += 1;
                return None;
            }
        };
        if at + 1 == self.blocks.len() && self.append(key, value) {
            return None;
        }
        let mut pairs = self.pairs_at(at);
        let previous = match pairs.binary_search_by_key(&key, |&(k, _)| k) {
            Ok(found) => pairs.get_mut(found).map(|pair| std::mem::replace(&mut pair.1, value)),
            Err(found) => {
                pairs.insert(found, (key, value));
                self.len += 1;
                None
            }
        };
        let block_key = self.blocks.get(at).map_or(key, |block| block.key.min(key));
        self.store(at, block_key, pairs);
        previous
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: u64) -> Option<u64> {
        let value = self.get(key)?;
        self.remove_sorted(&[key]);
        Some(value)
    }

    /// Removes the pairs of `keys` (ascending), each block they touch rewritten once.
    pub fn remove_sorted(&mut self, keys: &[u64]) {
        let mut rest = keys;
        while let Some(&first) = rest.first() {
            let Some((at, block_key)) = self.block_of(first).and_then(|at| Some((at, self.blocks.get(at)?.key))) else {
                rest = rest.get(1..).unwrap_or_default();
                continue;
            };
            let end = self.blocks.get(at + 1).map(|next| next.key);
            let in_block = rest.iter().take_while(|&&key| end.is_none_or(|end| key < end)).count().max(1);
            let (now, later) = rest.split_at(in_block.min(rest.len()));
            let mut pairs = self.pairs_at(at);
            let before = pairs.len();
            pairs.retain(|(key, _)| now.binary_search(key).is_err());
            if pairs.len() < before {
                self.len -= before - pairs.len();
                self.store(at, block_key, pairs);
            }
            rest = later;
        }
    }

    /// Removes the pairs with key < `below`, passing each to `dropped` in key order: whole
    /// blocks go as they are, the one that straddles `below` is rewritten.
    pub fn drop_below(&mut self, below: u64, mut dropped: impl FnMut(u64, u64)) {
        while let Some(first) = self.blocks.front() {
            if self.blocks.get(1).is_some_and(|next| next.key <= below) {
                for (key, value) in first.pairs() {
                    self.len -= 1;
                    dropped(key, value);
                }
                self.blocks.pop_front();
                self.shrink();
                continue;
            }
            if first.pairs().next().is_none_or(|(key, _)| key >= below) {
                return;
            }
            let mut pairs = self.pairs_at(0);
            let kept_from = pairs.partition_point(|&(key, _)| key < below);
            for (key, value) in pairs.drain(..kept_from) {
                self.len -= 1;
                dropped(key, value);
            }
            // `below` bounds what is kept from below, and the next block's key from above.
            self.store(0, below, pairs);
            return;
        }
    }

    /// The pairs with key >= `from`, ascending: O(log n) to the first, then O(1) each.
    pub fn range_from(&self, from: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        let start = self.block_of(from).unwrap_or(0);
        self.blocks.range(start..).flat_map(Block::pairs).skip_while(move |&(key, _)| key < from)
    }

    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.range_from(0)
    }

    /// Heap bytes: each block's allocation and the deque's.
    pub fn heap_bytes(&self) -> usize {
        let blocks: usize = self.blocks.iter().map(|block| allocation_size(block.bytes.len())).sum();
        blocks + allocation_size(self.blocks.capacity() * std::mem::size_of::<Block>())
    }

    /// Adds `key` after the last pair of the map if it is above it and the last block has
    /// room: the pair's bytes are appended, nothing is re-encoded (revs are issued
    /// ascending, a load goes in seq order: most inserts are these).
    fn append(&mut self, key: u64, value: u64) -> bool {
        let Some(block) = self.blocks.back_mut() else { return false };
        let (count, last) = block.pairs().fold((0, None), |(count, _), pair| (count + 1, Some(pair)));
        let Some((last_key, last_value)) = last.filter(|&(last_key, _)| last_key < key && count < MAX_PAIRS) else {
            return false;
        };
        let delta = (key - last_key, zigzag(value.wrapping_sub(last_value)));
        let mut bytes = std::mem::take(&mut block.bytes).into_vec();
        bytes.reserve_exact(varint::len(delta.0) + varint::len(delta.1));
        varint::put(&mut bytes, delta.0);
        varint::put(&mut bytes, delta.1);
        block.bytes = bytes.into_boxed_slice();
        self.len += 1;
        true
    }

    /// Gives back the deque's room once three quarters of it is unused (a trim dropped the
    /// oldest blocks), so that its capacity follows the records kept, not the most ever.
    fn shrink(&mut self) {
        if self.blocks.len() * 4 <= self.blocks.capacity() {
            self.blocks.shrink_to_fit();
        }
    }

    /// The index of the block that holds `key` if any does: the last keyed at or below it.
    fn block_of(&self, key: u64) -> Option<usize> {
        self.blocks.partition_point(|block| block.key <= key).checked_sub(1)
    }

    /// The pairs of the block at `at`, decoded (none if there is no such block), with room
    /// for the one an insert adds.
    fn pairs_at(&self, at: usize) -> Vec<(u64, u64)> {
        let mut pairs = Vec::with_capacity(MAX_PAIRS + 1);
        pairs.extend(self.blocks.get(at).into_iter().flat_map(Block::pairs));
        pairs
    }

    /// Writes `pairs` (ascending, none below `block_key` nor at or above the next block's
    /// key) as the block at `at`, keyed `block_key`: removed if empty, merged with the
    /// next block if too small (but the last), split if too big — the last block keeps
    /// the first MAX_PAIRS (appends then fill a new last block, leaving full blocks
    /// behind), any other in halves.
    fn store(&mut self, at: usize, block_key: u64, mut pairs: Vec<(u64, u64)>) {
        if pairs.len() < MIN_PAIRS && at + 1 < self.blocks.len() {
            pairs.extend(self.pairs_at(at + 1));
            self.blocks.remove(at + 1);
        }
        if pairs.len() > MAX_PAIRS {
            let split = if at + 1 == self.blocks.len() { MAX_PAIRS } else { pairs.len() / 2 };
            let tail = pairs.split_off(split);
            if let Some(&(key, _)) = tail.first() {
                self.blocks.insert(at + 1, Block { key, bytes: encode(key, &tail) });
            }
        }
        if pairs.is_empty() {
            self.blocks.remove(at);
            self.shrink();
        } else if let Some(block) = self.blocks.get_mut(at) {
            *block = Block { key: block_key, bytes: encode(block_key, &pairs) };
        }
    }
}

/// Encodes `pairs` as the block keyed `block_key`, in an allocation of exactly their size.
fn encode(block_key: u64, pairs: &[(u64, u64)]) -> Box<[u8]> {
    let deltas = || {
        let mut previous = (block_key, 0u64);
        pairs.iter().map(move |&(key, value)| {
            let delta = (key.wrapping_sub(previous.0), zigzag(value.wrapping_sub(previous.1)));
            previous = (key, value);
            delta
        })
    };
    let size = deltas().map(|(key, value)| varint::len(key) + varint::len(value)).sum();
    let mut bytes = Vec::with_capacity(size);
    for (key, value) in deltas() {
        varint::put(&mut bytes, key);
        varint::put(&mut bytes, value);
    }
    bytes.into_boxed_slice()
}

/// A difference as an unsigned varint's input: small either way, small number.
fn zigzag(delta: u64) -> u64 {
    let signed = delta as i64;
    ((signed << 1) ^ (signed >> 63)) as u64
}

fn unzigzag(encoded: u64) -> u64 {
    (encoded >> 1) ^ 0u64.wrapping_sub(encoded & 1)
}

/// The pairs of one block, decoded in order. Blocks are written only by `encode`, so a
/// decoding failure cannot happen; were it to, the block would just end there.
struct Pairs<'a> {
    bytes: &'a [u8],
    pos: usize,
    previous: (u64, u64),
}

impl Iterator for Pairs<'_> {
    type Item = (u64, u64);

    fn next(&mut self) -> Option<(u64, u64)> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        let key = next_varint(self.bytes, &mut self.pos)?;
        let value = next_varint(self.bytes, &mut self.pos)?;
        self.previous = (self.previous.0.wrapping_add(key), self.previous.1.wrapping_add(unzigzag(value)));
        Some(self.previous)
    }
}

/// `varint::get` with the one-byte case, most deltas, first: decoding a block is the
/// inner loop of every lookup and change.
fn next_varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    match bytes.get(*pos) {
        Some(&byte) if byte < 0x80 => {
            *pos += 1;
            Some(u64::from(byte))
        }
        _ => varint::get(bytes, pos),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap as Model;

    /// The layout's invariants: blocks non-empty, at most MAX_PAIRS, all but the last at
    /// least MIN_PAIRS, each block's keys ascending in `[its key, the next block's key)`,
    /// and `len` their count.
    fn check_blocks(map: &PackedMap) -> Result<(), String> {
        let mut count = 0;
        for (i, block) in map.blocks.iter().enumerate() {
            let (block_key, pairs): (u64, Vec<(u64, u64)>) = (block.key, block.pairs().collect());
            let next = map.blocks.get(i + 1).map(|next| next.key);
            let small = pairs.len() < MIN_PAIRS && next.is_some();
            if pairs.is_empty() || pairs.len() > MAX_PAIRS || small {
                return Err(format!("block {block_key} holds {} pairs", pairs.len()));
            }
            if pairs.first().is_some_and(|&(key, _)| key < block_key)
                || pairs.windows(2).any(|w| w[0].0 >= w[1].0)
                || pairs.last().is_some_and(|&(key, _)| next.is_some_and(|next| key >= next))
            {
                return Err(format!("block {block_key} keys out of place: {pairs:?}"));
            }
            if encode(block_key, &pairs) != block.bytes {
                return Err(format!("block {block_key} does not round-trip"));
            }
            count += pairs.len();
        }
        if count != map.len() {
            return Err(format!("len {} but {count} pairs", map.len()));
        }
        Ok(())
    }

    #[test]
    fn appends_fill_whole_blocks() {
        let mut map = PackedMap::default();
        assert_eq!((map.heap_bytes(), map.blocks.len()), (0, 0));
        for key in 1..=10_000u64 {
            assert_eq!(map.insert(key, key * 7), None);
        }
        check_blocks(&map).unwrap();
        assert_eq!(map.blocks.len(), 10_000usize.div_ceil(MAX_PAIRS));
        assert_eq!(map.insert(5, 1), Some(35));
        assert_eq!((map.get(5), map.get(6), map.get(0), map.get(10_001)), (Some(1), Some(42), None, None));
        // A key delta of 1 and a value delta of 7: two bytes a pair, then the size classes'
        // rounding (130 bytes a block take 160) and the B-tree's nodes.
        let per_pair = map.heap_bytes() as f64 / 10_000.0;
        assert!(per_pair < 3.5, "{per_pair} bytes per pair");
    }

    #[test]
    fn removing_and_dropping_keep_the_blocks_dense() {
        let mut map = PackedMap::default();
        for key in 0..2_000u64 {
            map.insert(key * 3, key);
        }
        for key in (0..2_000u64).filter(|key| key % 8 != 0) {
            assert_eq!(map.remove(key * 3), Some(key));
        }
        assert_eq!(map.remove(1), None);
        check_blocks(&map).unwrap();
        assert_eq!(map.len(), 250);
        let mut dropped = Vec::new();
        map.drop_below(3 * 1_000, |key, value| dropped.push((key, value)));
        assert_eq!(dropped, (0..125).map(|i| (i * 24, i * 8)).collect::<Vec<_>>());
        check_blocks(&map).unwrap();
        assert_eq!(map.iter().next(), Some((3_000, 1_000)));
        map.drop_below(u64::MAX, |_, _| {});
        assert_eq!((map.len(), map.heap_bytes()), (0, 0));
    }

    #[test]
    fn extreme_keys_and_values_round_trip() {
        let mut map = PackedMap::default();
        for (key, value) in [(u64::MAX, 0), (0, u64::MAX), (u64::MAX - 1, u64::MAX), (1, 0)] {
            map.insert(key, value);
        }
        check_blocks(&map).unwrap();
        let pairs: Vec<_> = map.iter().collect();
        assert_eq!(pairs, [(0, u64::MAX), (1, 0), (u64::MAX - 1, u64::MAX), (u64::MAX, 0)]);
        assert_eq!(map.range_from(2).collect::<Vec<_>>(), pairs[2..]);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u64, u64),
        Remove(u64),
        RemoveSorted(Vec<u64>),
        DropBelow(u64),
    }

    /// Keys mostly in a span a few blocks wide (so that blocks split, merge and empty), some
    /// at the top of the range; values small, large, or anything.
    fn key() -> impl Strategy<Value = u64> {
        prop_oneof![9 => 0u64..3_000, 1 => (u64::MAX - 200)..=u64::MAX]
    }

    fn value() -> impl Strategy<Value = u64> {
        prop_oneof![0u64..100, any::<u64>()]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            12 => (key(), value()).prop_map(|(key, value)| Op::Insert(key, value)),
            6 => key().prop_map(Op::Remove),
            1 => prop::collection::vec(key(), 0..200).prop_map(Op::RemoveSorted),
            1 => (0u64..3_000).prop_map(Op::DropBelow),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Against a BTreeMap: after every step the same pairs, lookups and ranges, and the
        /// layout's invariants.
        #[test]
        fn packed_map_matches_a_btreemap(ops in prop::collection::vec(op(), 1..1500), probes in prop::collection::vec(key(), 8)) {
            let mut map = PackedMap::default();
            let mut model: Model<u64, u64> = Model::new();
            for (step, op) in ops.into_iter().enumerate() {
                match op {
                    Op::Insert(key, value) => prop_assert_eq!(map.insert(key, value), model.insert(key, value)),
                    Op::Remove(key) => prop_assert_eq!(map.remove(key), model.remove(&key)),
                    Op::RemoveSorted(mut keys) => {
                        keys.sort_unstable();
                        keys.dedup();
                        map.remove_sorted(&keys);
                        for key in keys {
                            model.remove(&key);
                        }
                    }
                    Op::DropBelow(below) => {
                        let mut dropped = Vec::new();
                        map.drop_below(below, |key, value| dropped.push((key, value)));
                        let kept = model.split_off(&below);
                        let expected: Vec<(u64, u64)> = std::mem::replace(&mut model, kept).into_iter().collect();
                        prop_assert_eq!(dropped, expected, "step {}", step);
                    }
                }
                check_blocks(&map).map_err(|e| TestCaseError::fail(format!("step {step}: {e}")))?;
                prop_assert_eq!(map.len(), model.len());
                for &probe in &probes {
                    prop_assert_eq!(map.get(probe), model.get(&probe).copied(), "get {} at step {}", probe, step);
                    let got: Vec<_> = map.range_from(probe).take(5).collect();
                    let want: Vec<_> = model.range(probe..).take(5).map(|(&k, &v)| (k, v)).collect();
                    prop_assert_eq!(got, want, "range from {} at step {}", probe, step);
                }
            }
            prop_assert!(map.iter().eq(model.into_iter()));
        }
    }
}
