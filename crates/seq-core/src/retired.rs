//! Ids of trimmed entries that are still inside the de-duplication window, so a late retry
//! still gets its first seq. Kept as chunks whose entries have empty payloads: each id
//! costs its bytes plus about three, and finding one is the same search as in the log.

use std::collections::VecDeque;

use super::chunk::{self, chunk_of, Chunk};
use super::stored_id::StoredId;
use super::Entry;

#[derive(Clone, Debug, Default)]
pub struct RetiredIds {
    chunks: VecDeque<Chunk>,
    len: usize,
}

impl RetiredIds {
    pub const fn new() -> RetiredIds {
        RetiredIds { chunks: VecDeque::new(), len: 0 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Appends the id of the trimmed entry `seq` (seqs ascending, ts never decreasing).
    pub fn push(&mut self, seq: u64, ts: u64, id: StoredId) {
        let fits = self
            .chunks
            .back()
            .is_some_and(|c| c.end_seq() == seq && c.has_room(chunk::entry_size(ts - c.last_ts, id, &[])));
        if !fits {
            if let Some(full) = self.chunks.back_mut() {
                full.seal();
            }
            self.chunks.push_back(Chunk::new(seq, 0, ts, chunk::entry_size(0, id, &[]) * 4));
        }
        if let Some(open) = self.chunks.back_mut() {
            open.push(ts, id, &[]);
            self.len += 1;
        }
    }

    /// The end (exclusive) of the chunk holding the first retired seq `>= from`, if any.
    pub fn chunk_end(&self, from: u64) -> Option<u64> {
        let index = self.chunks.partition_point(|c| c.end_seq() <= from);
        self.chunks.get(index).map(Chunk::end_seq)
    }

    /// `(seq, ts)` of the oldest retired id.
    pub fn first(&self) -> Option<(u64, u64)> {
        self.chunks.front().map(|c| (c.first_seq, c.first_ts))
    }

    /// `(seq, ts)` of the newest retired id.
    pub fn last(&self) -> Option<(u64, u64)> {
        self.chunks.back().map(|c| (c.last_seq(), c.last_ts))
    }

    pub fn id_of(&self, seq: u64) -> Option<StoredId<'_>> {
        let (_, chunk) = chunk_of(&self.chunks, seq)?;
        chunk.iter_from(seq).next().map(|e| e.id)
    }

    /// The retired ids in seq order (as entries with empty payloads).
    pub fn iter(&self) -> impl Iterator<Item = Entry<'_>> + '_ {
        self.iter_from(0)
    }

    pub fn iter_from(&self, from: u64) -> impl Iterator<Item = Entry<'_>> + '_ {
        let start = self.chunks.partition_point(|c| c.end_seq() <= from);
        self.chunks.iter().skip(start).flat_map(move |c| c.iter_from(from))
    }

    /// The first retired seq whose ts is `>= ts`.
    pub fn first_seq_at_or_after_ts(&self, ts: u64) -> Option<u64> {
        let index = self.chunks.partition_point(|c| c.last_ts < ts);
        self.chunks.get(index)?.iter().find(|e| e.ts >= ts).map(|e| e.seq)
    }

    /// Drops the ids below `seq`; returns how many. Whole chunks go without decoding
    /// them, so expiring many ids at once stays cheap.
    pub fn drop_before(&mut self, seq: u64) -> usize {
        let mut dropped = 0;
        while let Some(front) = self.chunks.front_mut() {
            if front.first_seq >= seq {
                break;
            }
            if front.end_seq() <= seq {
                dropped += front.len as usize;
                self.chunks.pop_front();
            } else {
                dropped += front.iter().take_while(|e| e.seq < seq).count();
                front.drop_before(seq);
                break;
            }
        }
        self.len -= dropped;
        dropped
    }

    pub fn heap_bytes(&self) -> usize {
        let chunks: usize = self.chunks.iter().map(Chunk::heap_bytes).sum();
        chunks + self.chunks.capacity() * std::mem::size_of::<Chunk>()
    }
}
