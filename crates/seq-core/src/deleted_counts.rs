//! Deleted entries per chunk, in a Fenwick tree over chunk positions: the deleted entries
//! before a chunk — what every rank answer subtracts — cost O(log chunks) to read and to
//! update, wherever in the log the deletion is. Only a log with deleted entries has one.
//!
//! The chunk at index `i` of the log sits at position `front + i`: trimming a chunk from
//! the front zeroes its count and moves `front` on, so positions below `front` hold zeros.
//! When the back reaches the tree's end the tree is rebuilt from the chunks (O(chunks),
//! once per as many chunks pushed: O(1) amortized per chunk).

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeletedCounts {
    /// 1-based: `tree[j]` sums positions `j - lowbit(j) .. j` (0-based, end exclusive).
    tree: Vec<u64>,
    front: usize,
}

fn lowbit(j: usize) -> usize {
    j & j.wrapping_neg()
}

impl DeletedCounts {
    /// A tree over the chunks' deleted counts, with room for as many chunks again.
    pub fn build(counts: impl ExactSizeIterator<Item = u32>) -> DeletedCounts {
        let size = (counts.len() * 2).max(16).next_power_of_two();
        let mut tree = vec![0u64; size + 1];
        for (position, count) in counts.enumerate() {
            tree[position + 1] = u64::from(count);
        }
        for j in 1..=size {
            let parent = j + lowbit(j);
            if parent <= size {
                tree[parent] = tree[parent].wrapping_add(tree[j]);
            }
        }
        DeletedCounts { tree, front: 0 }
    }

    fn size(&self) -> usize {
        self.tree.len().saturating_sub(1)
    }

    /// Whether a log of `chunks` chunks still fits (else the owner rebuilds it).
    pub fn fits(&self, chunks: usize) -> bool {
        self.front + chunks <= self.size()
    }

    /// Adds `delta` (two's complement: a wrapping subtraction also works, as every sum
    /// read back is non-negative) to the chunk at `index`.
    fn update(&mut self, index: usize, delta: u64) {
        let mut j = self.front + index + 1;
        while let Some(node) = self.tree.get_mut(j) {
            *node = node.wrapping_add(delta);
            j += lowbit(j);
        }
    }

    pub fn add(&mut self, index: usize, count: u64) {
        self.update(index, count);
    }

    pub fn remove(&mut self, index: usize, count: u64) {
        self.update(index, count.wrapping_neg());
    }

    /// The front chunk, with `count` deleted entries left in it, was trimmed away.
    pub fn pop_front(&mut self, count: u64) {
        self.remove(0, count);
        self.front += 1;
    }

    /// Deleted entries in the chunks before `index`.
    pub fn before(&self, index: usize) -> u64 {
        let mut sum = 0u64;
        let mut j = (self.front + index).min(self.size());
        while j > 0 {
            sum = sum.wrapping_add(self.tree.get(j).copied().unwrap_or(0));
            j -= lowbit(j);
        }
        sum
    }

    /// The largest `k` (a count of chunks from the front, at most `chunks`) for which
    /// `holds(k, deleted entries in the first k chunks)` is true, with that count; `holds`
    /// must be true for 0 and stay false once false. O(log chunks) calls.
    pub fn last_where(&self, chunks: usize, holds: impl Fn(usize, u64) -> bool) -> (usize, u64) {
        let (mut position, mut sum) = (0usize, 0u64);
        let mut step = self.size().next_power_of_two();
        while step > 0 {
            let next = position + step;
            if let Some(&node) = self.tree.get(next) {
                let next_sum = sum.wrapping_add(node);
                let fine = match next.checked_sub(self.front) {
                    None | Some(0) => true,
                    Some(k) => k <= chunks && holds(k, next_sum),
                };
                if fine {
                    (position, sum) = (next, next_sum);
                }
            }
            step /= 2;
        }
        (position.saturating_sub(self.front), sum)
    }

    pub fn heap_bytes(&self) -> usize {
        self.tree.capacity() * std::mem::size_of::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_sums_follow_updates_trims_and_searches() {
        let counts = [3u32, 0, 5, 1, 0, 0, 2];
        let mut tree = DeletedCounts::build(counts.iter().copied());
        let prefix = |counts: &[u32], k: usize| counts[..k].iter().map(|&c| u64::from(c)).sum::<u64>();
        for k in 0..=counts.len() {
            assert_eq!(tree.before(k), prefix(&counts, k));
        }
        tree.add(4, 7);
        tree.pop_front(3);
        tree.pop_front(0);
        // Now chunks 0.. are [5, 1, 7, 0, 2].
        let now = [5u32, 1, 7, 0, 2];
        for k in 0..=now.len() {
            assert_eq!(tree.before(k), prefix(&now, k), "before {k}");
        }
        for limit in 0..16 {
            let (k, sum) = tree.last_where(now.len(), |_, deleted| deleted <= limit);
            let want = (0..=now.len()).filter(|&k| prefix(&now, k) <= limit).max().unwrap();
            assert_eq!((k, sum), (want, prefix(&now, want)), "limit {limit}");
        }
        assert!(tree.fits(now.len()) && !tree.fits(15));
    }
}
