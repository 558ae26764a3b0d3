//! The de-duplication index: which client-msg-ids this log has seen within its window,
//! and the seq each got.
//!
//! The window is a *seq range*: every entry with `seq >= floor` is indexed. Because `ts`
//! never decreases along seqs, "ids younger than the window" is always such a suffix, and
//! expiring is moving `floor` up. The table (`IdTable`) stores only a slot per id:
//! `seq - base` and a few bits of the id's hash; the id itself is read from where the
//! entry lives (its chunk, or `retired` once trimmed), so no id is stored twice.
//!
//! The window is kept by time alone, for any number of ids: the slot width follows the
//! span of seqs indexed (`u32` slots while it fits 24 bits, `u64` ones beyond), chosen
//! each time the table is rebuilt, and a rebuild never runs all at once on a large table
//! (see `Successor`, `Migration`), so an ALLOC costs O(1) amortised, with no long pause,
//! however many ids the window holds.
//! (Until issue 14 the floor was pinned 16.7 M seqs below `last`, which expired older ids
//! early and made every ALLOC past that count rebuild the whole table.)

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::OnceLock;

use foldhash::fast::RandomState;

use super::chunk::{chunk_of, Chunk};
use super::id_table::{BatchInsert, IdTable, MAX_OFFSET, NARROW_MAX_OFFSET, SHORT_MAX_OFFSET};
use super::retired::RetiredIds;
use super::stored_id::StoredId;
use super::SeqError;

#[derive(Clone)]
pub struct DedupIndex {
    floor: u64,
    /// ts of the oldest indexed id (`u64::MAX` when none): while it is inside the window
    /// nothing expires, which spares the ALLOC path any search.
    oldest_ts: u64,
    /// Ids indexed with `seq >= floor`. Expiry only counts: the slots of expired ids
    /// stay in the tables, unseen (lookups skip seqs below the floor), until a rebuild
    /// sheds them, so expiring millions of ids at once costs no more than a few.
    live: usize,
    /// None while the window holds at most `SCAN_IDS` ids of a log of one short chunk: a
    /// lookup scans them where they are stored (faster than hashing, for so few), and a
    /// small log pays for no table.
    tables: Option<Box<Tables>>,
    /// None while no trimmed id is inside the window.
    retired: Option<Box<RetiredIds>>,
}

/// The hash tables of a log whose window holds more than `SCAN_IDS` ids.
#[derive(Clone, Default)]
struct Tables {
    base: u64,
    table: IdTable,
    /// While a large table is being replaced, the old ones (see `Migration`).
    migration: Option<Migration>,
    /// While the next large table is being made ready, where new ids go meanwhile.
    successor: Option<Successor>,
    /// Tables no longer used, freed a segment per insert (freeing a large one at once
    /// would be a pause of its own).
    unused: Vec<IdTable>,
}

/// Up to this many ids in the window, no table: a lookup decodes them from storage.
pub const SCAN_IDS: usize = 16;

/// Whether a lookup without a table decodes few entries: it reads the floor's chunk from
/// its first entry, so a log of one short chunk (a short window over a long log keeps
/// its table: its few ids may sit behind hundreds of older entries).
fn scan_is_short(chunks: &VecDeque<Chunk>) -> bool {
    chunks.len() <= 1 && chunks.front().is_none_or(|c| c.len as usize <= 2 * SCAN_IDS)
}

/// One hash state for every log of the process, seeded at random when the module loads:
/// a client cannot predict it, so it cannot craft ids that collide (hash flooding), and
/// nothing depends on it across processes (tables are rebuilt on load, never persisted).
/// A state per log would cost 8+ bytes in every log for no more protection: the tables of
/// one server are filled by the clients of that server alike (Redis itself seeds all its
/// dictionaries with one per-process key).
fn hash_state() -> &'static RandomState {
    static STATE: OnceLock<RandomState> = OnceLock::new();
    STATE.get_or_init(RandomState::default)
}

fn hash(id: StoredId) -> u64 {
    hash_state().hash_one(id.hash_key())
}

static NO_RETIRED: RetiredIds = RetiredIds::new();

/// A large table is replaced in two phases, neither of them a long pause. First the new
/// table's memory is zeroed a piece per insert (`IdTable::prepare`) while new ids go to
/// `spill`, a small table of its own, so the table in use needs no room (nor offsets)
/// for them; then it replaces the table in use and the ids move over (`Migration`).
#[derive(Clone)]
struct Successor {
    table: IdTable,
    /// Indexes every stored id from `spill_base` on.
    spill: IdTable,
    spill_base: u64,
}

/// Replacing a large table happens a few storage chunks of ids per insert, never in one
/// long pause (a log with millions of ids in its window would otherwise stall the server
/// while its table is rebuilt), as Redis' own dictionaries rehash incrementally. Stored
/// entries `next..=end` are still indexed only in the `old` tables; everything else is in
/// the new table. The old tables are only read: ids copied out or expired stay in them,
/// unseen (lookups try the new table first and ignore seqs below the floor), which spares
/// a probe per id.
///
/// Should the new table itself be replaced before the migration ends (a fence skip
/// beyond what its slots hold), it joins the old tables, with the successor's spill, and
/// the migration starts over from the floor into the next one: lookups search every old
/// table, so every id stays findable, and no insert ever has to finish a migration at
/// once.
#[derive(Clone)]
struct Migration {
    /// `(table, base)`, each holding some of the ids of `next..=end` (together, all).
    old: Vec<(IdTable, u64)>,
    next: u64,
    end: u64,
}

/// Tables up to this many ids are rebuilt at once (a fraction of a millisecond), with
/// no successor and no migration.
const REBUILD_AT_ONCE: usize = 4096;

/// Above, segments of a successor zeroed per insert (512 KB or less: about 0.1 ms).
const PREPARE_PER_INSERT: usize = 1;

/// And each insert moves whole storage chunks (read in order from the chunk's start)
/// until it has moved this many ids (about 0.1 ms): the new table starts at most 60%
/// full, with room for a third more ids, and sees one new id per this many moved, so the
/// migration ends long before it fills up, whatever the chunks' sizes.
const MOVE_PER_INSERT: usize = 256;

/// The seq span a new table's slots are chosen for: three times the span indexed when it
/// is built, so the span does not outgrow the slots before the ids fill the table (a
/// large table grows about 2.4 times between rebuilds), and every bit the offsets do not
/// need tags ids (fewer reads of storage to rule out another id). Except where that
/// would cost wider slots while narrower ones hold a third more than the span (as long as
/// they last a good while): then the narrower ones, with their 8-bit tags.
fn span_to_hold(span: u64) -> u64 {
    let roomy = span.saturating_mul(3);
    let tight = span.saturating_add(span / 3);
    [SHORT_MAX_OFFSET, NARROW_MAX_OFFSET].into_iter().find(|&max| roomy > max && tight <= max).unwrap_or(roomy)
}

/// How much of a migration one call to `migrate` does.
#[derive(Clone, Copy)]
enum Step {
    All,
    Some,
}

/// Where indexed ids live: the retired list, then the log's chunks.
#[derive(Clone, Copy)]
pub struct IdStore<'a> {
    pub retired: &'a RetiredIds,
    pub chunks: &'a VecDeque<Chunk>,
}

impl<'a> IdStore<'a> {
    /// The id of `seq`, when the log still holds it.
    pub fn id_of(&self, seq: u64) -> Option<StoredId<'a>> {
        if self.retired.last().is_some_and(|(newest, _)| seq <= newest) {
            return self.retired.id_of(seq);
        }
        let (_, chunk) = chunk_of(self.chunks, seq)?;
        chunk.iter_from(seq).next().map(|e| e.id)
    }

    /// The end (exclusive) of the storage chunk holding the first stored seq `>= from`;
    /// `u64::MAX` when nothing is stored from there on.
    pub fn chunk_end(&self, from: u64) -> u64 {
        if let Some(end) = self.retired.chunk_end(from) {
            return end;
        }
        let index = self.chunks.partition_point(|c| c.end_seq() <= from);
        self.chunks.get(index).map_or(u64::MAX, Chunk::end_seq)
    }

    /// Every stored `(seq, id)` with `seq >= from`, ascending, while `visit` says go on.
    pub fn each_from(&self, from: u64, mut visit: impl FnMut(u64, StoredId<'a>) -> bool) {
        for entry in self.retired.iter_from(from) {
            if !visit(entry.seq, entry.id) {
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
        DedupIndex { floor, oldest_ts: u64::MAX, live: 0, tables: None, retired: None }
    }

    pub fn oldest_ts(&self) -> u64 {
        self.oldest_ts
    }

    /// Whether `seq` can be indexed over a window starting at `floor`: the span must fit
    /// the widest slot (56 bits; only fence skips, tens of thousands of the largest inside
    /// one window, could leave it).
    pub fn can_index(floor: u64, seq: u64) -> bool {
        seq.checked_sub(floor).is_some_and(|span| span <= MAX_OFFSET)
    }

    pub fn floor(&self) -> u64 {
        self.floor
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn retired(&self) -> &RetiredIds {
        self.retired.as_deref().unwrap_or(&NO_RETIRED)
    }

    /// Whether ids are looked up in hash tables (false: scanned in storage).
    #[cfg(test)]
    pub fn has_tables(&self) -> bool {
        self.tables.is_some()
    }

    #[cfg(test)]
    pub fn is_migrating(&self) -> bool {
        self.tables.as_ref().is_some_and(|t| t.migration.is_some())
    }

    /// Whether a successor table is being made ready (new ids go to its spill).
    #[cfg(test)]
    pub fn is_preparing(&self) -> bool {
        self.tables.as_ref().is_some_and(|t| t.successor.is_some())
    }

    /// Whether the table in use has wide slots.
    #[cfg(test)]
    pub fn is_wide(&self) -> bool {
        self.tables.as_ref().is_some_and(|t| t.table.is_wide())
    }

    /// The seq `id` got, if it is inside the window.
    pub fn find(&self, id: StoredId, chunks: &VecDeque<Chunk>) -> Option<u64> {
        let store = IdStore { retired: self.retired(), chunks };
        let floor = self.floor;
        let Some(tables) = self.tables.as_deref() else {
            let mut found = None;
            store.each_from(floor, |seq, stored| {
                if stored == id {
                    found = Some(seq);
                }
                found.is_none()
            });
            return found;
        };
        let hash = hash(id);
        let find_in = |table: &IdTable, base: u64| {
            table
                .find(hash, |offset| base + offset >= floor && store.id_of(base + offset).is_some_and(|s| s == id))
                .map(|offset| base + offset)
        };
        find_in(&tables.table, tables.base)
            .or_else(|| tables.successor.as_ref().and_then(|s| find_in(&s.spill, s.spill_base)))
            .or_else(|| {
                let old = tables.migration.as_ref().map_or(&[][..], |m| &m.old[..]);
                old.iter().rev().find_map(|(table, base)| find_in(table, *base))
            })
    }

    /// Indexes `seq`, whose entry (holding `id`) the caller has just stored. Entries are
    /// indexed in seq order: every stored entry in `floor..seq` is indexed already.
    /// Refused only if `can_index(floor, seq)` does not hold (the caller checks first).
    pub fn insert(&mut self, seq: u64, ts: u64, id: StoredId, chunks: &VecDeque<Chunk>) -> Result<(), SeqError> {
        if !DedupIndex::can_index(self.floor, seq) {
            return Err(SeqError::InvalidState("de-duplicated seq too far above the floor"));
        }
        if self.live == 0 {
            self.oldest_ts = ts;
        }
        self.live += 1;
        let Some(tables) = self.tables.as_deref_mut() else {
            if self.live > SCAN_IDS || !scan_is_short(chunks) {
                // The first table: built below from storage, as any small rebuild.
                self.tables = Some(Box::new(Tables { base: self.floor, ..Tables::default() }));
                return self.insert_in_tables(seq, id, chunks);
            }
            return Ok(());
        };
        let idle = tables.migration.is_none() && tables.successor.is_none() && tables.unused.is_empty();
        // Back to scanning once the window holds few ids again (a small table only: a
        // large one is first rebuilt smaller, a piece at a time, as it sheds expired ids).
        if idle && self.live <= SCAN_IDS && tables.table.len() <= REBUILD_AT_ONCE && scan_is_short(chunks) {
            self.tables = None;
            return Ok(());
        }
        self.insert_in_tables(seq, id, chunks)
    }

    fn insert_in_tables(&mut self, seq: u64, id: StoredId, chunks: &VecDeque<Chunk>) -> Result<(), SeqError> {
        let (floor, live) = (self.floor, self.live);
        let store = IdStore { retired: self.retired.as_deref().unwrap_or(&NO_RETIRED), chunks };
        let Some(tables) = self.tables.as_deref_mut() else { return Ok(()) };
        tables.migrate(Step::Some, floor, store);
        if tables.unused.last_mut().is_some_and(IdTable::release_some) {
            tables.unused.pop();
        }
        let hash = hash(id);
        if tables.successor.is_none() {
            let fits = seq.checked_sub(tables.base).is_some_and(|offset| tables.table.fits(offset));
            // Mostly expired ids: a smaller table sheds them (and frees their memory).
            let stale = tables.table.len() > live.saturating_mul(2) + REBUILD_AT_ONCE;
            if fits && !tables.table.needs_room() && !stale {
                tables.table.insert(hash, seq - tables.base);
                return Ok(());
            }
            let ids = live - 1;
            if ids <= REBUILD_AT_ONCE {
                let table = IdTable::for_ids(ids + 1, span_to_hold(seq - floor));
                tables.replace_table(table, floor, seq - 1);
                tables.migrate(Step::All, floor, store);
                tables.table.insert(hash, seq - tables.base);
                return Ok(());
            }
            let (table, spill) = (next_table(floor, seq, ids), IdTable::for_ids(64, MAX_OFFSET));
            tables.successor = Some(Successor { table, spill, spill_base: seq });
        }
        tables.spill(seq, hash, floor, store);
        tables.prepare_successor(seq, floor, live);
        Ok(())
    }

    /// Builds the table once for everything stored from the floor up (`in_chunks` of it
    /// in chunks, the rest retired, up to `last`): how a loaded log gets its index in one
    /// pass.
    pub fn reindex(&mut self, chunks: &VecDeque<Chunk>, in_chunks: u64, last: u64) -> Result<(), SeqError> {
        let span = last.saturating_sub(self.floor);
        if span > MAX_OFFSET {
            return Err(SeqError::InvalidState("de-duplication floor too far below the last seq"));
        }
        let ids = self.retired().len() + usize::try_from(in_chunks).unwrap_or(0);
        let base = self.floor;
        let store = IdStore { retired: self.retired(), chunks };
        let mut live = 0;
        let mut table = (ids > SCAN_IDS || !scan_is_short(chunks)).then(|| IdTable::for_ids(ids, span_to_hold(span)));
        let mut batch = table.as_mut().map(BatchInsert::new);
        store.each_from(self.floor, |seq, id| {
            if let Some(batch) = batch.as_mut() {
                batch.insert(hash(id), seq - base);
            }
            live += 1;
            true
        });
        drop(batch);
        self.live = live;
        self.oldest_ts = match self.retired().first() {
            Some((_, ts)) => ts,
            None => first_at_or_after(chunks, self.floor).map_or(u64::MAX, |e| e.ts),
        };
        self.tables = table.map(|table| Box::new(Tables { base, table, ..Tables::default() }));
        Ok(())
    }

    /// Expires every id below `new_floor` (no-op if it is not above the current floor):
    /// it counts them (by chunk, not one by one) and drops the retired ones.
    pub fn advance_floor(&mut self, new_floor: u64, chunks: &VecDeque<Chunk>) {
        if new_floor <= self.floor {
            return;
        }
        let retired = self.retired.as_mut().map_or(0, |r| r.drop_before(new_floor));
        if self.retired.as_ref().is_some_and(|r| r.len() == 0) {
            self.retired = None;
        }
        let in_chunks = entries_below(chunks, new_floor) - entries_below(chunks, self.floor);
        let expired = retired.saturating_add(usize::try_from(in_chunks).unwrap_or(usize::MAX));
        self.live = self.live.saturating_sub(expired);
        self.oldest_ts = match self.retired().first() {
            Some((_, ts)) => ts,
            None => first_at_or_after(chunks, new_floor).map_or(u64::MAX, |e| e.ts),
        };
        self.floor = new_floor;
    }

    /// Keeps the id of an entry being trimmed from the log, if it is still in the window.
    pub fn retire(&mut self, seq: u64, ts: u64, id: StoredId) {
        if seq >= self.floor {
            self.push_loaded_retired(seq, ts, id);
        }
    }

    /// Appends a retired id read from a persisted log (the loader checked its order);
    /// the caller indexes it (`insert`) or reindexes everything once (`reindex`).
    pub fn push_loaded_retired(&mut self, seq: u64, ts: u64, id: StoredId) {
        self.retired.get_or_insert_with(Box::default).push(seq, ts, id);
    }

    pub fn heap_bytes(&self) -> usize {
        let retired = self.retired.as_ref().map_or(0, |r| std::mem::size_of::<RetiredIds>() + r.heap_bytes());
        retired + self.tables.as_ref().map_or(0, |t| std::mem::size_of::<Tables>() + t.heap_bytes())
    }
}

/// An unprepared table for the ids indexed now, about a third full (so it grows, and
/// shrinks after expiry, with the window; it also sheds the expired ids' slots), its
/// slots as wide as the span up to `seq` needs. A third full, where a small rebuild
/// makes it 55% full: a large rebuild moves every id of the window into the new table (a
/// cache miss each), and a table that grows 2.4 times between rebuilds (from a third to
/// 80% full) moves each id 0.7 times on average as the window grows, against 1.6 times
/// when it grows 1.6 times; the cost is a table about an eighth larger on average, and
/// only for windows of more than `REBUILD_AT_ONCE` ids.
fn next_table(floor: u64, seq: u64, ids: usize) -> IdTable {
    IdTable::unprepared(ids + ids * 2 / 3 + 1, span_to_hold(seq - floor))
}

impl Tables {
    /// Indexes `seq` in the successor's spill table (rebuilt from storage, at once: it
    /// holds only the few ids that come while the successor is made ready).
    fn spill(&mut self, seq: u64, hash: u64, floor: u64, store: IdStore<'_>) {
        let Some(successor) = self.successor.as_mut() else { return };
        let fits = seq.checked_sub(successor.spill_base).is_some_and(|offset| successor.spill.fits(offset));
        if !fits || successor.spill.needs_room() {
            let base = successor.spill_base.max(floor);
            let mut spill = IdTable::for_ids(successor.spill.len() * 2 + 64, MAX_OFFSET);
            let mut batch = BatchInsert::new(&mut spill);
            store.each_from(base, |stored, id| {
                if stored < seq {
                    batch.insert(self::hash(id), stored - base);
                }
                stored < seq
            });
            drop(batch);
            successor.spill = spill;
            successor.spill_base = base;
        }
        successor.spill.insert(hash, seq - successor.spill_base);
    }

    /// Zeroes another piece of the successor; once it is ready, it replaces the table in
    /// use (unless the ids or the span outgrew it meanwhile: then a new one is prepared).
    fn prepare_successor(&mut self, seq: u64, floor: u64, ids: usize) {
        if !self.successor.as_mut().is_some_and(|s| s.table.prepare(PREPARE_PER_INSERT)) {
            return;
        }
        let Some(mut successor) = self.successor.take() else { return };
        if !(successor.table.fits(seq - floor) && successor.table.is_roomy_for(ids + 1)) {
            let table = std::mem::replace(&mut successor.table, next_table(floor, seq, ids));
            self.unused.push(table);
            self.successor = Some(successor);
            return;
        }
        let Successor { table, spill, spill_base } = successor;
        self.replace_table(table, floor, seq);
        if let Some(migration) = self.migration.as_mut() {
            migration.old.push((spill, spill_base));
        }
    }

    /// Puts `table` (ready, empty) in use, based at `floor`: the stored ids up to `end`
    /// move over from the tables they are in now (`Migration`), starting over if a
    /// migration was still going on. Ids are read from storage in order, not looked up.
    fn replace_table(&mut self, table: IdTable, floor: u64, end: u64) {
        let old = (std::mem::replace(&mut self.table, table), std::mem::replace(&mut self.base, floor));
        let mut old_tables = self.migration.take().map_or_else(Vec::new, |m| m.old);
        old_tables.push(old);
        self.migration = Some(Migration { old: old_tables, next: floor, end });
    }

    /// Moves ids from the old tables to the new one: all of them, or whole storage
    /// chunks from where the migration stands until `MOVE_PER_INSERT` ids have moved.
    fn migrate(&mut self, step: Step, floor: u64, store: IdStore<'_>) {
        let Some(migration) = self.migration.as_mut() else { return };
        let (mut table, base) = (BatchInsert::new(&mut self.table), self.base);
        let from = migration.next.max(floor);
        let budget = match step {
            Step::All => usize::MAX,
            Step::Some => MOVE_PER_INSERT,
        };
        let (mut moved, mut chunk_end, mut through) = (0, store.chunk_end(from), migration.end);
        store.each_from(from, |seq, id| {
            if seq > migration.end {
                return false;
            }
            if seq >= chunk_end {
                if moved >= budget {
                    through = seq.saturating_sub(1);
                    return false;
                }
                chunk_end = store.chunk_end(seq);
            }
            table.insert(hash(id), seq - base);
            moved += 1;
            true
        });
        drop(table);
        migration.next = through.saturating_add(1);
        if migration.next > migration.end {
            if let Some(done) = self.migration.take() {
                self.unused.extend(done.old.into_iter().map(|(table, _)| table));
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        let old: usize = self.migration.as_ref().map_or(0, |m| m.old.iter().map(|(t, _)| t.heap_bytes()).sum());
        let successor = self.successor.as_ref().map_or(0, |s| s.table.heap_bytes() + s.spill.heap_bytes());
        let unused: usize = self.unused.iter().map(IdTable::heap_bytes).sum();
        self.table.heap_bytes() + old + successor + unused
    }
}

/// How many entries of `chunks` have a seq below `seq` (chunks hold consecutive seqs).
fn entries_below(chunks: &VecDeque<Chunk>, seq: u64) -> u64 {
    let Some(front) = chunks.front() else { return 0 };
    let index = chunks.partition_point(|c| c.first_seq < seq);
    let Some(chunk) = index.checked_sub(1).and_then(|i| chunks.get(i)) else { return 0 };
    chunk.ordinal_base() + (seq - chunk.first_seq).min(u64::from(chunk.len)) - front.ordinal_base()
}

/// The first entry of `chunks` with a seq `>= seq`.
fn first_at_or_after(chunks: &VecDeque<Chunk>, seq: u64) -> Option<super::Entry<'_>> {
    let start = chunks.partition_point(|c| c.end_seq() <= seq);
    chunks.get(start).and_then(|c| c.iter_from(seq).next())
}
