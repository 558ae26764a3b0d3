//! How many consumers sit at each cursor value, answering "how many cursors are ≥ seq"
//! (SEQ.READERS) in O(log N).
//!
//! An AVL tree over the distinct cursor values in which every node stores the number of
//! consumers in its subtree. A node's own count (consumers exactly at its value) is not
//! stored: it is its subtree's total minus its children's, so a node is 32 bytes and no
//! count has a width of its own to overflow. AVL rather than a treap or a skip list:
//! cursor values come from clients, and a balance that does not depend on randomness
//! cannot be steered into a long path by a client choosing them.
//!
//! Nodes live in one `Vec` and link by index, so there is no allocation per node; a
//! removed node's slot is filled with the last node (`release`), which keeps the vector
//! dense. Every access is checked: an index that is not a node (`NIL` or, after a bug,
//! anything else) reads as an empty subtree instead of panicking.

/// No node: also out of range of every `Vec`, so `get(NIL)` is `None`.
const NIL: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Node {
    value: u64,
    /// Consumers in this subtree, this node's own included (≥ 1 of them at `value`).
    subtree: u64,
    left: u32,
    right: u32,
    height: u8,
}

#[derive(Clone, Debug)]
pub struct CursorCounts {
    nodes: Vec<Node>,
    root: u32,
}

impl Default for CursorCounts {
    fn default() -> CursorCounts {
        CursorCounts::new()
    }
}

impl CursorCounts {
    pub const fn new() -> CursorCounts {
        CursorCounts { nodes: Vec::new(), root: NIL }
    }

    /// Consumers whose cursor is ≥ `value`.
    pub fn at_or_above(&self, value: u64) -> u64 {
        let mut count = 0;
        let mut at = self.root;
        while let Some(node) = self.get(at) {
            if value <= node.value {
                // This node and its right subtree are all ≥ value.
                count += node.subtree.saturating_sub(self.subtree(node.left));
                at = node.left;
            } else {
                at = node.right;
            }
        }
        count
    }

    /// Counts one more consumer at `value`.
    pub fn insert(&mut self, value: u64) {
        // Slot indices are u32 with NIL at the top: 2^32 - 1 distinct cursor values would
        // be 128 GiB of nodes (and more of names), beyond any server; refusing there is
        // the one choice left that neither panics nor corrupts the other counts.
        if self.nodes.len() >= NIL as usize {
            return;
        }
        self.root = self.insert_at(self.root, value);
    }

    /// Counts one consumer fewer at `value`; false (and no change) if none is there.
    pub fn remove(&mut self, value: u64) -> bool {
        let mut freed = None;
        let (root, removed) = self.remove_at(self.root, value, &mut freed);
        self.root = root;
        if let Some(slot) = freed {
            self.release(slot);
        }
        removed
    }

    pub fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
    }

    // ---- checked access ---------------------------------------------------------------

    fn get(&self, at: u32) -> Option<&Node> {
        self.nodes.get(at as usize)
    }

    fn get_mut(&mut self, at: u32) -> Option<&mut Node> {
        self.nodes.get_mut(at as usize)
    }

    fn subtree(&self, at: u32) -> u64 {
        self.get(at).map_or(0, |n| n.subtree)
    }

    fn height(&self, at: u32) -> u8 {
        self.get(at).map_or(0, |n| n.height)
    }

    fn left(&self, at: u32) -> u32 {
        self.get(at).map_or(NIL, |n| n.left)
    }

    fn right(&self, at: u32) -> u32 {
        self.get(at).map_or(NIL, |n| n.right)
    }

    /// Consumers exactly at this node's value.
    fn own(&self, at: u32) -> u64 {
        self.subtree(at).saturating_sub(self.subtree(self.left(at))).saturating_sub(self.subtree(self.right(at)))
    }

    /// Relinks `at`'s children and recomputes its total (from its `own` count, taken
    /// before the children changed) and height.
    fn link(&mut self, at: u32, left: u32, right: u32, own: u64) {
        let subtree = own + self.subtree(left) + self.subtree(right);
        let height = 1 + self.height(left).max(self.height(right));
        if let Some(node) = self.get_mut(at) {
            *node = Node { left, right, subtree, height, ..*node };
        }
    }

    fn grow_subtree(&mut self, at: u32, by: u64) {
        if let Some(node) = self.get_mut(at) {
            node.subtree = node.subtree.saturating_add(by);
        }
    }

    fn shrink_subtree(&mut self, at: u32, by: u64) {
        if let Some(node) = self.get_mut(at) {
            node.subtree = node.subtree.saturating_sub(by);
        }
    }

    // ---- AVL ---------------------------------------------------------------------------

    fn rotate_right(&mut self, at: u32) -> u32 {
        let pivot = self.left(at);
        if self.get(pivot).is_none() {
            return at;
        }
        let (own_at, own_pivot) = (self.own(at), self.own(pivot));
        self.link(at, self.right(pivot), self.right(at), own_at);
        self.link(pivot, self.left(pivot), at, own_pivot);
        pivot
    }

    fn rotate_left(&mut self, at: u32) -> u32 {
        let pivot = self.right(at);
        if self.get(pivot).is_none() {
            return at;
        }
        let (own_at, own_pivot) = (self.own(at), self.own(pivot));
        self.link(at, self.left(at), self.left(pivot), own_at);
        self.link(pivot, at, self.right(pivot), own_pivot);
        pivot
    }

    /// Restores the AVL balance at `at` (its subtrees are balanced and differ in height
    /// by at most 2) and its height; returns the subtree's new root.
    fn rebalance(&mut self, at: u32) -> u32 {
        // Taken first: a rotation below `at` changes what its old child index holds.
        let own = self.own(at);
        let (mut left, mut right) = (self.left(at), self.right(at));
        self.link(at, left, right, own);
        let (left_height, right_height) = (i16::from(self.height(left)), i16::from(self.height(right)));
        if left_height - right_height > 1 {
            if self.height(self.left(left)) < self.height(self.right(left)) {
                left = self.rotate_left(left);
                self.link(at, left, right, own);
            }
            return self.rotate_right(at);
        }
        if right_height - left_height > 1 {
            if self.height(self.right(right)) < self.height(self.left(right)) {
                right = self.rotate_right(right);
                self.link(at, left, right, own);
            }
            return self.rotate_left(at);
        }
        at
    }

    fn insert_at(&mut self, at: u32, value: u64) -> u32 {
        let Some(node) = self.get(at).copied() else {
            return self.new_node(value);
        };
        if value < node.value {
            let left = self.insert_at(node.left, value);
            self.set_child(at, left, node.right);
        } else if value > node.value {
            let right = self.insert_at(node.right, value);
            self.set_child(at, node.left, right);
        }
        self.grow_subtree(at, 1);
        self.rebalance(at)
    }

    /// Replaces `at`'s children without touching its total (the caller adjusts it).
    fn set_child(&mut self, at: u32, left: u32, right: u32) {
        if let Some(node) = self.get_mut(at) {
            node.left = left;
            node.right = right;
        }
    }

    fn new_node(&mut self, value: u64) -> u32 {
        // `insert` keeps the length below NIL.
        let index = self.nodes.len() as u32;
        self.nodes.push(Node { value, subtree: 1, left: NIL, right: NIL, height: 1 });
        index
    }

    /// Removes one consumer at `value` below `at`; returns the subtree's new root and
    /// whether one was there. A node whose last consumer left is unlinked and its slot
    /// put in `freed` (released once the recursion no longer holds slot indices).
    fn remove_at(&mut self, at: u32, value: u64, freed: &mut Option<u32>) -> (u32, bool) {
        let Some(node) = self.get(at).copied() else {
            return (NIL, false);
        };
        let removed = if value < node.value {
            let (left, removed) = self.remove_at(node.left, value, freed);
            self.set_child(at, left, node.right);
            removed
        } else if value > node.value {
            let (right, removed) = self.remove_at(node.right, value, freed);
            self.set_child(at, node.left, right);
            removed
        } else if self.own(at) > 1 {
            true
        } else {
            *freed = Some(at);
            return (self.unlink(at), true);
        };
        if removed {
            self.shrink_subtree(at, 1);
        }
        (self.rebalance(at), removed)
    }

    /// The subtree that replaces `at` once `at` is gone: its in-order successor (the
    /// leftmost node of its right subtree) takes its place.
    fn unlink(&mut self, at: u32) -> u32 {
        let (left, right) = (self.left(at), self.right(at));
        if self.get(left).is_none() {
            return right;
        }
        if self.get(right).is_none() {
            return left;
        }
        let (rest, successor, successor_own) = self.detach_min(right);
        self.link(successor, left, rest, successor_own);
        self.rebalance(successor)
    }

    /// Takes the leftmost node out of the subtree at `at`; returns the subtree's new root,
    /// that node and its own count.
    fn detach_min(&mut self, at: u32) -> (u32, u32, u64) {
        let left = self.left(at);
        if self.get(left).is_none() {
            return (self.right(at), at, self.own(at));
        }
        let (rest, min, min_own) = self.detach_min(left);
        self.set_child(at, rest, self.right(at));
        self.shrink_subtree(at, min_own);
        (self.rebalance(at), min, min_own)
    }

    /// Frees the (unlinked) slot `slot` by moving the last node into it and repointing
    /// the one link to that node, found by searching for its value.
    fn release(&mut self, slot: u32) {
        let last = self.nodes.len().saturating_sub(1) as u32;
        if slot != last {
            if let Some(moved) = self.get(last).map(|n| n.value) {
                self.repoint(last, slot, moved);
            }
        }
        self.nodes.swap_remove(slot as usize);
        if self.nodes.len() * 4 < self.nodes.capacity() {
            self.nodes.shrink_to(self.nodes.len() * 2);
        }
    }

    fn repoint(&mut self, from: u32, to: u32, value: u64) {
        if self.root == from {
            self.root = to;
            return;
        }
        let mut at = self.root;
        while let Some(node) = self.get(at).copied() {
            let child = if value < node.value { node.left } else { node.right };
            if child == from {
                let (left, right) = if value < node.value { (to, node.right) } else { (node.left, to) };
                self.set_child(at, left, right);
                return;
            }
            at = child;
        }
    }
}

#[cfg(test)]
impl CursorCounts {
    /// Checks every invariant: search order, AVL balance and heights, totals, every node
    /// holding at least one consumer and reachable, no slot unused. Returns the height.
    pub fn check(&self) -> u8 {
        let mut seen = 0;
        let height = self.check_at(self.root, None, None, &mut seen);
        assert_eq!(seen, self.nodes.len(), "every slot is a node of the tree");
        height
    }

    fn check_at(&self, at: u32, above: Option<u64>, below: Option<u64>, seen: &mut usize) -> u8 {
        let Some(node) = self.get(at) else {
            assert_eq!(at, NIL, "a link to no node");
            return 0;
        };
        *seen += 1;
        assert!(above.is_none_or(|a| node.value > a) && below.is_none_or(|b| node.value < b), "search order");
        let left = self.check_at(node.left, above, Some(node.value), seen);
        let right = self.check_at(node.right, Some(node.value), below, seen);
        assert!(left.abs_diff(right) <= 1, "AVL balance");
        assert_eq!(node.height, 1 + left.max(right), "height");
        assert!(node.subtree > self.subtree(node.left) + self.subtree(node.right), "a node without consumers");
        node.height
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u64),
        Remove(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Few distinct values, so values are shared and nodes emptied and refilled.
        prop_oneof![3 => (0u64..40).prop_map(Op::Insert), 2 => (0u64..40).prop_map(Op::Remove)]
    }

    proptest! {
        #[test]
        fn agrees_with_a_sorted_multiset(ops in proptest::collection::vec(op(), 0..300), probes in proptest::collection::vec(0u64..42, 8)) {
            let mut counts = CursorCounts::default();
            let mut model: BTreeMap<u64, u64> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(v) => {
                        counts.insert(v);
                        *model.entry(v).or_insert(0) += 1;
                    }
                    Op::Remove(v) => {
                        let there = model.get(&v).is_some_and(|&c| c > 0);
                        prop_assert_eq!(counts.remove(v), there);
                        if there {
                            *model.entry(v).or_insert(0) -= 1;
                        }
                        model.retain(|_, c| *c > 0);
                    }
                }
                counts.check();
                prop_assert_eq!(counts.at_or_above(0), model.values().sum::<u64>());
                for &p in &probes {
                    prop_assert_eq!(counts.at_or_above(p), model.range(p..).map(|(_, c)| c).sum::<u64>());
                }
            }
        }
    }

    #[test]
    fn sorted_inserts_stay_logarithmic() {
        let mut counts = CursorCounts::default();
        for v in 0..100_000 {
            counts.insert(v);
        }
        // An AVL tree of n nodes is at most 1.44 log2(n) high: 24 for 100,000.
        assert!(counts.check() <= 24);
        assert_eq!(counts.at_or_above(50_000), 50_000);
        for v in (0..100_000).step_by(2) {
            assert!(counts.remove(v));
        }
        assert!(counts.check() <= 24);
        assert_eq!(counts.at_or_above(0), 50_000);
        assert_eq!(counts.at_or_above(99_999), 1);
    }

    #[test]
    fn empty_counts_nothing() {
        let mut counts = CursorCounts::default();
        assert_eq!(counts.at_or_above(0), 0);
        assert!(!counts.remove(7));
        counts.insert(u64::MAX);
        assert_eq!(counts.at_or_above(u64::MAX), 1);
        assert!(counts.remove(u64::MAX));
        assert_eq!((counts.at_or_above(0), counts.check()), (0, 0));
    }
}
