//! The chunks of a log as its reads see them, whichever form holds them: the deque of a
//! large log (its two slices) or the one chunk of a small log. Every read is written once
//! over this view (`LogRef`), so both forms answer alike by construction.

use std::collections::VecDeque;

use super::chunk::Chunk;

#[derive(Clone, Copy)]
pub struct ChunkList<'a> {
    head: &'a [Chunk],
    tail: &'a [Chunk],
}

impl<'a> ChunkList<'a> {
    pub(crate) fn of_deque(chunks: &'a VecDeque<Chunk>) -> ChunkList<'a> {
        let (head, tail) = chunks.as_slices();
        ChunkList { head, tail }
    }

    /// A small log's chunk: no chunk while it holds no entry.
    pub(crate) fn of_one(chunk: &'a Chunk) -> ChunkList<'a> {
        let head = if chunk.len == 0 { &[][..] } else { std::slice::from_ref(chunk) };
        ChunkList { head, tail: &[] }
    }

    pub fn len(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, index: usize) -> Option<&'a Chunk> {
        match index.checked_sub(self.head.len()) {
            None => self.head.get(index),
            Some(in_tail) => self.tail.get(in_tail),
        }
    }

    pub fn front(&self) -> Option<&'a Chunk> {
        self.head.first().or(self.tail.first())
    }

    pub fn back(&self) -> Option<&'a Chunk> {
        self.tail.last().or(self.head.last())
    }

    pub fn iter(&self) -> std::iter::Chain<std::slice::Iter<'a, Chunk>, std::slice::Iter<'a, Chunk>> {
        self.head.iter().chain(self.tail.iter())
    }

    /// The index of the first chunk for which `pred` is false (chunks where it holds come first).
    pub(crate) fn partition_point(&self, mut pred: impl FnMut(&Chunk) -> bool) -> usize {
        match self.head.last() {
            Some(last) if pred(last) => self.head.len() + self.tail.partition_point(pred),
            _ => self.head.partition_point(pred),
        }
    }

    /// The chunk holding `seq`, if any entry of the log has it.
    pub(crate) fn chunk_of(&self, seq: u64) -> Option<(usize, &'a Chunk)> {
        let index = self.partition_point(|c| c.end_seq() <= seq);
        self.get(index).filter(|c| c.contains(seq)).map(|c| (index, c))
    }
}

impl<'a> IntoIterator for ChunkList<'a> {
    type Item = &'a Chunk;
    type IntoIter = std::iter::Chain<std::slice::Iter<'a, Chunk>, std::slice::Iter<'a, Chunk>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
