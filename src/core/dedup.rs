//! The de-duplication index: which client-msg-ids this log has seen within its window,
//! and the seq each got.
//!
//! The window is a *seq range*: every entry with `seq >= floor` is indexed. Because `ts`
//! never decreases along seqs, "ids younger than the window" is always such a suffix, and
//! expiring is moving `floor` up. The table (`IdTable`) stores only a `u32` per id:
//! `seq - base` and a few bits of the id's hash; the id itself is read from where the
//! entry lives (its chunk, or `retired` once trimmed), so no id is stored twice.

use std::collections::VecDeque;
use std::hash::BuildHasher;

use hashbrown::DefaultHashBuilder;

use super::chunk::Chunk;
use super::id_table::{IdTable, MAX_OFFSET};

/// An entry trimmed from the log while its id is still inside the de-duplication window:
/// only what a late retry needs (and what keeps the window deterministic) is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetiredId {
    pub seq: u64,
    pub ts: u64,
    pub id: Box<[u8]>,
}

#[derive(Clone)]
pub struct DedupIndex {
    floor: u64,
    /// ts of the oldest indexed id (`u64::MAX` when none): while it is inside the window
    /// nothing expires, which spares the ALLOC path any search.
    oldest_ts: u64,
    base: u64,
    table: IdTable,
    hash_state: DefaultHashBuilder,
    retired: VecDeque<RetiredId>,
}

/// Where indexed ids live: the retired list, then the log's chunks.
#[derive(Clone, Copy)]
pub struct IdStore<'a> {
    pub retired: &'a VecDeque<RetiredId>,
    pub chunks: &'a VecDeque<Chunk>,
}

/// The chunk holding `seq`, if any entry of the log has it.
pub fn chunk_of(chunks: &VecDeque<Chunk>, seq: u64) -> Option<(usize, &Chunk)> {
    let index = chunks.partition_point(|c| c.end_seq() <= seq);
    chunks.get(index).filter(|c| c.contains(seq)).map(|c| (index, c))
}

impl<'a> IdStore<'a> {
    /// The id of `seq`, when the log still holds it.
    pub fn id_of(&self, seq: u64) -> Option<&'a [u8]> {
        if self.retired.back().is_some_and(|r| seq <= r.seq) {
            let index = self.retired.partition_point(|r| r.seq < seq);
            return self.retired.get(index).filter(|r| r.seq == seq).map(|r| &*r.id);
        }
        let (_, chunk) = chunk_of(self.chunks, seq)?;
        chunk.iter_from(seq).next().map(|e| e.id)
    }

    /// Every stored `(seq, id)` with `seq >= from`, ascending, while `visit` says go on.
    pub fn each_from(&self, from: u64, mut visit: impl FnMut(u64, &'a [u8]) -> bool) {
        for r in self.retired.iter().skip(self.retired.partition_point(|r| r.seq < from)) {
            if !visit(r.seq, &r.id) {
                return;
            }
        }
        let start = self.chunks.partition_point(|c| c.end_seq() <= from);
        for chunk in self.chunks.iter().skip(start) {
            for entry in chunk.iter_from(from) {
                if !visit(entry.seq, entry.id) {
                    return;
                }
            }
        }
    }
}

impl Default for DedupIndex {
    fn default() -> DedupIndex {
        DedupIndex::with_floor(1)
    }
}

impl DedupIndex {
    pub fn with_floor(floor: u64) -> DedupIndex {
        DedupIndex {
            floor,
            oldest_ts: u64::MAX,
            base: floor,
            table: IdTable::default(),
            hash_state: DefaultHashBuilder::default(),
            retired: VecDeque::new(),
        }
    }

    pub fn oldest_ts(&self) -> u64 {
        self.oldest_ts
    }

    /// The lowest floor that lets `seq` be indexed: offsets from the floor fit a slot.
    /// (So the window also ends after 16,777,214 newer entries in the same log.)
    pub fn lowest_floor_for(seq: u64) -> u64 {
        seq.saturating_sub(MAX_OFFSET)
    }

    pub fn floor(&self) -> u64 {
        self.floor
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn retired(&self) -> &VecDeque<RetiredId> {
        &self.retired
    }

    fn hash(&self, id: &[u8]) -> u64 {
        self.hash_state.hash_one(id)
    }

    /// The seq `id` got, if it is inside the window.
    pub fn find(&self, id: &[u8], chunks: &VecDeque<Chunk>) -> Option<u64> {
        let store = IdStore { retired: &self.retired, chunks };
        let base = self.base;
        self.table
            .find(self.hash(id), |offset| store.id_of(base + offset).is_some_and(|stored| stored == id))
            .map(|offset| base + offset)
    }

    /// Indexes `seq`, whose entry (holding `id`) the caller has just stored. Entries are
    /// indexed in seq order: every stored entry in `floor..seq` is indexed already.
    pub fn insert(&mut self, seq: u64, ts: u64, id: &[u8], chunks: &VecDeque<Chunk>) {
        if self.table.len() == 0 {
            self.oldest_ts = ts;
        }
        let fits = seq.checked_sub(self.base).is_some_and(|offset| offset <= MAX_OFFSET);
        if !fits || self.table.needs_room() {
            self.rebuild_through(seq, chunks);
            return;
        }
        let hash = self.hash(id);
        self.table.insert(hash, seq - self.base);
    }

    /// Rebuilds the table from the stored entries `floor..=through`, with `base = floor`,
    /// sized for them (so it grows, and shrinks after expiry, with the window). Rebuilding
    /// reads each id once, in storage order; it also clears the removed ids' tombstones.
    fn rebuild_through(&mut self, through: u64, chunks: &VecDeque<Chunk>) {
        let mut table = IdTable::for_ids(self.table.len() + 1);
        let base = self.floor;
        let store = IdStore { retired: &self.retired, chunks };
        store.each_from(self.floor, |seq, id| {
            if seq > through || seq - base > MAX_OFFSET {
                return false;
            }
            table.insert(self.hash_state.hash_one(id), seq - base);
            true
        });
        self.table = table;
        self.base = base;
    }

    /// Expires every id below `new_floor` (no-op if it is not above the current floor).
    pub fn advance_floor(&mut self, new_floor: u64, chunks: &VecDeque<Chunk>) {
        if new_floor <= self.floor {
            return;
        }
        self.oldest_ts = u64::MAX;
        while let Some(oldest) = self.retired.front() {
            if oldest.seq >= new_floor {
                self.oldest_ts = oldest.ts;
                break;
            }
            let hash = self.hash(&oldest.id);
            self.remove(hash, oldest.seq);
            self.retired.pop_front();
        }
        // What is left of `retired` is above the new floor: the rest expires from chunks.
        let start = chunks.partition_point(|c| c.end_seq() <= self.floor);
        'chunks: for chunk in chunks.iter().skip(start) {
            for entry in chunk.iter_from(self.floor) {
                if entry.seq >= new_floor {
                    self.oldest_ts = self.oldest_ts.min(entry.ts);
                    break 'chunks;
                }
                let hash = self.hash(entry.id);
                self.remove(hash, entry.seq);
            }
        }
        self.floor = new_floor;
    }

    fn remove(&mut self, hash: u64, seq: u64) {
        if let Some(offset) = seq.checked_sub(self.base) {
            self.table.remove(hash, offset);
        }
    }

    /// Keeps the id of an entry being trimmed from the log, if it is still in the window.
    pub fn retire(&mut self, seq: u64, ts: u64, id: &[u8]) {
        if seq >= self.floor {
            self.retired.push_back(RetiredId { seq, ts, id: id.into() });
        }
    }

    /// Appends a retired id read from a persisted log (the loader checked its order);
    /// the caller indexes it (`insert`) or reindexes everything once (`reindex`).
    pub fn push_loaded_retired(&mut self, retired: RetiredId) {
        self.retired.push_back(retired);
    }

    /// Builds the table once for everything stored from the floor up (`in_chunks` of it
    /// in chunks, the rest retired): how a loaded log gets its index in one pass.
    pub fn reindex(&mut self, chunks: &VecDeque<Chunk>, in_chunks: u64) {
        let ids = self.retired.len() + usize::try_from(in_chunks).unwrap_or(0);
        let mut table = IdTable::for_ids(ids);
        let base = self.floor;
        let store = IdStore { retired: &self.retired, chunks };
        store.each_from(self.floor, |seq, id| {
            if seq - base > MAX_OFFSET {
                return false;
            }
            table.insert(self.hash_state.hash_one(id), seq - base);
            true
        });
        self.oldest_ts = match self.retired.front() {
            Some(oldest) => oldest.ts,
            None => {
                let start = chunks.partition_point(|c| c.end_seq() <= self.floor);
                chunks.get(start).and_then(|c| c.iter_from(self.floor).next()).map_or(u64::MAX, |e| e.ts)
            }
        };
        self.table = table;
        self.base = base;
    }

    pub fn heap_bytes(&self) -> usize {
        let retired: usize = self.retired.iter().map(|r| r.id.len()).sum();
        self.table.heap_bytes()
            + self.retired.capacity() * std::mem::size_of::<RetiredId>()
            + retired
    }
}
