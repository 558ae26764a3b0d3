//! The chunks of a log as its reads see them, whichever form holds them: the deque of a
//! large log or the one chunk of a small log. Every read is written once over this view
//! (`LogRef`), so both forms answer alike by construction; a large log's reads go
//! straight to its deque (one branch on the form, no slices computed up front).

use std::collections::VecDeque;

use super::chunk::Chunk;

#[derive(Clone, Copy)]
pub struct ChunkList<'a>(Chunks<'a>);

#[derive(Clone, Copy)]
enum Chunks<'a> {
    Deque(&'a VecDeque<Chunk>),
    /// No chunk or one.
    Slice(&'a [Chunk]),
}

pub type Iter<'a> = std::iter::Chain<std::slice::Iter<'a, Chunk>, std::slice::Iter<'a, Chunk>>;

impl<'a> ChunkList<'a> {
    pub(crate) fn of_deque(chunks: &'a VecDeque<Chunk>) -> ChunkList<'a> {
        ChunkList(Chunks::Deque(chunks))
    }

    /// A small log's chunk: no chunk while it holds no entry.
    pub(crate) fn of_one(chunk: &'a Chunk) -> ChunkList<'a> {
        let slice = if chunk.len == 0 { &[][..] } else { std::slice::from_ref(chunk) };
        ChunkList(Chunks::Slice(slice))
    }

    pub fn len(&self) -> usize {
        match self.0 {
            Chunks::Deque(chunks) => chunks.len(),
            Chunks::Slice(chunks) => chunks.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, index: usize) -> Option<&'a Chunk> {
        match self.0 {
            Chunks::Deque(chunks) => chunks.get(index),
            Chunks::Slice(chunks) => chunks.get(index),
        }
    }

    pub fn front(&self) -> Option<&'a Chunk> {
        match self.0 {
            Chunks::Deque(chunks) => chunks.front(),
            Chunks::Slice(chunks) => chunks.first(),
        }
    }

    pub fn back(&self) -> Option<&'a Chunk> {
        match self.0 {
            Chunks::Deque(chunks) => chunks.back(),
            Chunks::Slice(chunks) => chunks.last(),
        }
    }

    pub fn iter(&self) -> Iter<'a> {
        let (head, tail) = match self.0 {
            Chunks::Deque(chunks) => chunks.as_slices(),
            Chunks::Slice(chunks) => (chunks, &[][..]),
        };
        head.iter().chain(tail.iter())
    }

    /// The index of the first chunk for which `pred` is false (chunks where it holds come first).
    pub(crate) fn partition_point(&self, pred: impl FnMut(&Chunk) -> bool) -> usize {
        match self.0 {
            Chunks::Deque(chunks) => chunks.partition_point(pred),
            Chunks::Slice(chunks) => chunks.partition_point(pred),
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
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}
