//! The small form of a log (issue 11): most conversations are a handful of messages, so
//! a log that has only appended a few entries is one chunk, its epoch and its
//! de-duplication floor, held in the log itself (96 bytes, the allocator's class) next to
//! its one buffer of entries. `last`, `skipped` and `last_ts` are the chunk's own; the
//! ids of the window are scanned in the chunk; nothing rare (edits, deletions, cursors,
//! retired ids, damage) exists, so reading one is the large form's code over one chunk
//! (`LogRef`). Anything else than an append that stays small makes the log large first
//! (`SeqLog::large_mut`); a large log that trims back to a few entries and nothing rare
//! becomes small again (`SmallLog::from_large`).

use std::collections::VecDeque;

use super::chunk::{self, Chunk, MAX_BYTES};
use super::chunk_list::ChunkList;
use super::dedup::{DedupIndex, SCAN_IDS};
use super::log::{Append, LargeLog, Scalars};
use super::log_ref::{Ids, LogRef, NO_CURSORS, NO_LIFECYCLE};
use super::stored_id::StoredId;

/// A small log holds at most this many entries (so its ids are always scanned, never
/// hashed: `dedup::SCAN_IDS`) ...
pub(crate) const MAX_ENTRIES: u32 = SCAN_IDS as u32;
/// ... in at most this many bytes (the chunk's exact-fit sizes, `chunk::grown_capacity`),
/// so what a conversion copies or scans stays small.
pub(crate) const MAX_ENTRY_BYTES: usize = MAX_BYTES / 4;

/// How full a large log may be to become small: as full as a small log may grow when it
/// is loaded (it is what it was when saved), half as full when trims shrink it, so a log
/// at the boundary does not change form on every append.
#[derive(Clone, Copy)]
pub(crate) enum Settle {
    Loaded,
    Shrunk,
}

#[derive(Clone)]
pub(crate) struct SmallLog {
    /// The entries; while there is none, an empty chunk at `last + 1` that carries the
    /// log's `skipped` and `last_ts` (and allocates nothing).
    chunk: Chunk,
    epoch: u64,
    dedup_floor: u64,
}

impl SmallLog {
    pub(crate) fn new() -> SmallLog {
        SmallLog { chunk: Chunk::new(1, 0, 0, 0), epoch: 0, dedup_floor: 1 }
    }

    pub(crate) fn view(&self) -> LogRef<'_> {
        let chunk = &self.chunk;
        LogRef {
            header: Scalars {
                last: chunk.end_seq() - 1,
                skipped: chunk.skipped_before,
                epoch: self.epoch,
                last_ts: chunk.last_ts,
            },
            chunks: ChunkList::of_one(chunk),
            stored: u64::from(chunk.len),
            lifecycle: &NO_LIFECYCLE,
            cursors: &NO_CURSORS,
            ids: Ids::Scan { floor: self.dedup_floor },
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.chunk.heap_bytes()
    }

    /// Applies `append` (checked already) if the log stays small with it: same chunk (or
    /// a first one), room left, nothing trimmed. Returns false, changing nothing, if not.
    pub(crate) fn try_append(&mut self, append: &Append, id: StoredId, payload: &[u8]) -> bool {
        let view = self.view();
        let (last, skipped) = (view.header.last, view.header.skipped);
        let size = chunk::entry_size(append.ts - self.chunk.last_ts, id, payload);
        let empty = self.chunk.len == 0;
        let fits = empty
            || (append.seq == self.chunk.end_seq()
                && self.chunk.len < MAX_ENTRIES
                && self.chunk.live_bytes().len() + size <= MAX_ENTRY_BYTES);
        if !fits || append.keep_from > view.stored_first() {
            return false;
        }
        if empty {
            // Sized to its entry, as the large form's first chunk.
            let skipped_before = skipped + (append.seq - last - 1);
            self.chunk = Chunk::new(append.seq, skipped_before, append.ts, chunk::entry_size(0, id, payload));
        }
        self.chunk.push(append.ts, id, payload);
        self.epoch = append.epoch;
        // Nothing below the floor needs forgetting: a small log has no retired ids.
        self.dedup_floor = self.dedup_floor.max(append.dedup_floor.min(append.seq));
        true
    }

    /// The large form of this log.
    pub(crate) fn into_large(self) -> LargeLog {
        let SmallLog { chunk, epoch, dedup_floor } = self;
        let header =
            Scalars { last: chunk.end_seq() - 1, skipped: chunk.skipped_before, epoch, last_ts: chunk.last_ts };
        let stored = u64::from(chunk.len);
        let in_window = u64::try_from(chunk.iter_from(dedup_floor).count()).unwrap_or(u64::MAX);
        let mut chunks = VecDeque::new();
        if chunk.len > 0 {
            chunks.reserve_exact(1);
            chunks.push_back(chunk);
        }
        let mut dedup = DedupIndex::with_floor(dedup_floor);
        // The span only sizes a table and refuses one too wide to slot: a small log's few
        // ids get no table (they are scanned), so the span is given as 0, which is never
        // refused, and the result is always Ok.
        let _always_ok = dedup.reindex(&chunks, in_window, dedup_floor);
        LargeLog { header, chunks, stored, lifecycle: None, dedup, cursors: None }
    }

    /// The small form of `log`, if it holds nothing rare and few entries (`Settle`).
    pub(crate) fn from_large(log: &mut LargeLog, settle: Settle) -> Option<SmallLog> {
        let share: u32 = match settle {
            Settle::Loaded => 1,
            Settle::Shrunk => 2,
        };
        let few = log.chunks.len() <= 1 && log.stored <= u64::from(MAX_ENTRIES / share);
        if !few || log.lifecycle.is_some() || log.cursors.is_some() || log.dedup.heap_bytes() > 0 {
            return None;
        }
        let Scalars { last, skipped, epoch, last_ts } = log.header;
        let mut chunk = log.chunks.pop_front().unwrap_or_else(|| Chunk::new(last + 1, skipped, last_ts, 0));
        let small = chunk.end_seq() == last + 1
            && chunk.skipped_before == skipped
            && chunk.last_ts == last_ts
            && chunk.live_bytes().len() <= MAX_ENTRY_BYTES / share as usize;
        if !small {
            // A state no append makes (a loaded log's, say): it stays large.
            if chunk.len > 0 {
                log.chunks.push_front(chunk);
            }
            return None;
        }
        chunk.compact();
        Some(SmallLog { chunk, epoch, dedup_floor: log.dedup.floor() })
    }
}
