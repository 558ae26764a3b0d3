//! The de-duplication index's hash table: open addressing with linear probing over one
//! slot per id, sized to the ids it holds (not to a power of two).
//!
//! A slot holds an entry's seq offset (from the index's base) plus one in its low bits,
//! and bits of the id's hash (its tag) above them, so a probe that meets another id's
//! slot almost never has to read that id from storage to rule it out. Slots come in two
//! widths: compact `u32` ones while the offsets fit 24 bits, and wide `u64` ones (up to a
//! 56-bit offset) beyond, so the window is never cut short by the slot's width; the owner
//! picks the width whenever it rebuilds the table. Within a width, the split is the
//! table's own: its offsets get just the bits the largest offset it was made for needs,
//! and the tag every bit left (at least 8), so a table over a short span reads storage
//! for a mismatched id thousands of times less often than an 8-bit tag would. The table
//! never stores ids or full hashes: growing means rebuilding it from storage (see
//! `DedupIndex`), which the owner does when `needs_room` or `fits` says so.

use super::alloc_size::allocation_size;

/// The largest offset a compact slot can hold.
pub const NARROW_MAX_OFFSET: u64 = (1 << 24) - 2;
/// The largest offset any slot can hold (a wide one).
pub const MAX_OFFSET: u64 = (1 << 56) - 2;

/// One slot width. `EMPTY` is zero (so a new table is zeroed memory); a used slot has a
/// non-zero offset part. Slots are never removed: the index skips expired ids' slots
/// until a rebuild sheds them.
trait Slot: Copy + Eq {
    const BITS: u32;
    const EMPTY: Self;
    fn from_bits(bits: u64) -> Self;
    fn bits(self) -> u64;
}

macro_rules! slot_width {
    ($name:ident, $int:ty) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        struct $name($int);

        impl Slot for $name {
            const BITS: u32 = <$int>::BITS;
            const EMPTY: Self = $name(0);

            fn from_bits(bits: u64) -> Self {
                // Truncation is the point: `Layout` never sets bits above the width.
                $name(bits as $int)
            }

            fn bits(self) -> u64 {
                u64::from(self.0)
            }
        }
    };
}

slot_width!(Narrow, u32);
slot_width!(Wide, u64);

/// How one table's slots split: `offset_bits` low bits of offset + 1, the rest tag.
#[derive(Clone, Copy, Debug)]
struct Layout {
    offset_bits: u32,
}

impl Layout {
    /// The split for offsets up to `max_offset` (at most `MAX_OFFSET`).
    fn holding(max_offset: u64) -> Layout {
        Layout { offset_bits: u64::BITS - (max_offset.min(MAX_OFFSET) + 1).leading_zeros() }
    }

    fn max_offset(self) -> u64 {
        (1 << self.offset_bits) - 2
    }

    fn tag_of<S: Slot>(self, hash: u64) -> u64 {
        hash & ((1 << (S::BITS - self.offset_bits)) - 1)
    }

    fn slot<S: Slot>(self, hash: u64, offset: u64) -> S {
        S::from_bits((self.tag_of::<S>(hash) << self.offset_bits) | (offset + 1))
    }

    fn offset<S: Slot>(self, slot: S) -> u64 {
        (slot.bits() & ((1 << self.offset_bits) - 1)) - 1
    }

    fn tag<S: Slot>(self, slot: S) -> u64 {
        slot.bits() >> self.offset_bits
    }
}

/// Slots live in segments of this many (256 KB compact, 512 KB wide), so a large table
/// is zeroed and freed a segment at a time, never in one long pause: the module's
/// allocator has no zeroed allocation, and freeing 100+ MB at once returns it to the
/// system inline; both cost tens of milliseconds or more.
const SEGMENT_BITS: u32 = 16;
const SEGMENT: usize = 1 << SEGMENT_BITS;

#[derive(Clone, Debug)]
struct Segmented<S> {
    segments: Vec<Vec<S>>,
    /// Slots of the whole table (the last segment may be shorter than `SEGMENT`).
    len: usize,
}

impl<S: Slot> Segmented<S> {
    fn get(&self, index: usize) -> Option<S> {
        self.segments.get(index >> SEGMENT_BITS)?.get(index & (SEGMENT - 1)).copied()
    }

    fn get_mut(&mut self, index: usize) -> Option<&mut S> {
        self.segments.get_mut(index >> SEGMENT_BITS)?.get_mut(index & (SEGMENT - 1))
    }

    /// Zeroes up to `segments` more segments; true once the table is ready.
    fn prepare(&mut self, segments: usize) -> bool {
        for _ in 0..segments {
            let ready = self.segments.len() * SEGMENT;
            if ready >= self.len {
                break;
            }
            self.segments.push(vec![S::EMPTY; (self.len - ready).min(SEGMENT)]);
        }
        self.segments.len() * SEGMENT >= self.len
    }
}

#[derive(Clone, Debug)]
enum Slots {
    Narrow(Segmented<Narrow>),
    Wide(Segmented<Wide>),
}

#[derive(Clone, Debug)]
pub struct IdTable {
    slots: Slots,
    layout: Layout,
    /// Ids inserted (expired ones included): slots not EMPTY.
    len: usize,
}

impl Default for IdTable {
    fn default() -> IdTable {
        IdTable {
            slots: Slots::Narrow(Segmented { segments: Vec::new(), len: 0 }),
            layout: Layout::holding(NARROW_MAX_OFFSET),
            len: 0,
        }
    }
}

/// Runs `$body` with `$slots` bound to the table's slot vector, whatever its width.
macro_rules! with_slots {
    ($table:expr, $slots:ident => $body:expr) => {
        match $table {
            Slots::Narrow($slots) => $body,
            Slots::Wide($slots) => $body,
        }
    };
}

impl IdTable {
    /// A table for `ids` ids, about 55% full (it asks for a rebuild at 80%), whose slots
    /// hold offsets up to `max_offset` (compact slots when they can), and tag ids with
    /// every bit those offsets leave.
    pub fn for_ids(ids: usize, max_offset: u64) -> IdTable {
        let mut table = IdTable::unprepared(ids, max_offset);
        table.prepare(usize::MAX);
        table
    }

    /// `for_ids`, with no memory yet: `prepare` zeroes it a segment at a time, so a
    /// large table never costs one long pause. Used only once `prepare` says it is ready.
    pub fn unprepared(ids: usize, max_offset: u64) -> IdTable {
        let len = (ids * 20 / 11 + 1).max(16);
        let slots = if max_offset <= NARROW_MAX_OFFSET {
            Slots::Narrow(Segmented { segments: Vec::new(), len })
        } else {
            Slots::Wide(Segmented { segments: Vec::new(), len })
        };
        IdTable { slots, layout: Layout::holding(max_offset), len: 0 }
    }

    /// Zeroes up to `segments` more segments; true once the table is ready.
    pub fn prepare(&mut self, segments: usize) -> bool {
        with_slots!(&mut self.slots, s => s.prepare(segments))
    }

    /// Frees one segment of a table no longer used; true once all are freed.
    pub fn release_some(&mut self) -> bool {
        with_slots!(&mut self.slots, s => {
            s.segments.pop();
            s.segments.is_empty()
        })
    }

    /// Whether `ids` ids leave the table at most 60% full (room to take more for a while).
    pub fn is_roomy_for(&self, ids: usize) -> bool {
        ids * 5 <= with_slots!(&self.slots, s => s.len) * 3
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether one more insert would take the table past 80% full.
    pub fn needs_room(&self) -> bool {
        (self.len + 1) * 5 > with_slots!(&self.slots, s => s.len) * 4
    }

    /// Whether the slots can hold `offset`.
    pub fn fits(&self, offset: u64) -> bool {
        offset <= self.max_offset()
    }

    fn max_offset(&self) -> u64 {
        self.layout.max_offset()
    }

    #[cfg(test)]
    pub fn is_wide(&self) -> bool {
        matches!(self.slots, Slots::Wide(_))
    }

    pub fn heap_bytes(&self) -> usize {
        fn bytes<S: Slot>(slots: &Segmented<S>) -> usize {
            let segments: usize =
                slots.segments.iter().map(|s| allocation_size(s.len() * std::mem::size_of::<S>())).sum();
            segments + allocation_size(slots.segments.capacity() * std::mem::size_of::<Vec<S>>())
        }
        with_slots!(&self.slots, s => bytes(s))
    }

    /// The offset of the id with `hash` for which `is_id(offset)` holds.
    pub fn find(&self, hash: u64, is_id: impl FnMut(u64) -> bool) -> Option<u64> {
        with_slots!(&self.slots, s => find(s, self.layout, hash, is_id))
    }

    /// Adds `offset` under `hash`. The caller checked `needs_room` (false) and `fits`.
    pub fn insert(&mut self, hash: u64, offset: u64) {
        if with_slots!(&mut self.slots, s => insert(s, self.layout, hash, offset)) {
            self.len += 1;
        }
    }

    /// Reads the home slot of each hash, so that the probes that follow find them cached.
    /// The reads do not depend on one another, so the processor overlaps their cache
    /// misses (in a table of millions of ids nearly every one is a miss) instead of
    /// waiting for each in turn.
    fn touch(&self, hashes: impl Iterator<Item = u64>) {
        let empty = with_slots!(&self.slots, s => count_empty_homes(s, hashes));
        std::hint::black_box(empty);
    }
}

/// How many inserts `BatchInsert` queues before doing them.
const BATCH: usize = 32;

/// Inserts into a table `BATCH` at a time, their home slots read first (`IdTable::touch`):
/// for the rebuilds and migrations, which insert many ids at once, each at a random place
/// of a table that may be far larger than the cache. Queued inserts are done when the
/// batch is dropped, so none is ever left behind.
pub struct BatchInsert<'t> {
    table: &'t mut IdTable,
    queued: [(u64, u64); BATCH],
    len: usize,
}

impl<'t> BatchInsert<'t> {
    pub fn new(table: &'t mut IdTable) -> BatchInsert<'t> {
        BatchInsert { table, queued: [(0, 0); BATCH], len: 0 }
    }

    /// `IdTable::insert`, done by the time the batch is dropped.
    pub fn insert(&mut self, hash: u64, offset: u64) {
        if let Some(slot) = self.queued.get_mut(self.len) {
            *slot = (hash, offset);
            self.len += 1;
        }
        if self.len == BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let queued = self.queued.get(..self.len).unwrap_or_default();
        self.table.touch(queued.iter().map(|&(hash, _)| hash));
        for &(hash, offset) in queued {
            self.table.insert(hash, offset);
        }
        self.len = 0;
    }
}

impl Drop for BatchInsert<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

fn home(len: usize, hash: u64) -> usize {
    // Maps the hash onto 0..len without a division (Lemire's fast range).
    ((u128::from(hash) * len as u128) >> 64) as usize
}

fn next(len: usize, index: usize) -> usize {
    if index + 1 == len {
        0
    } else {
        index + 1
    }
}

fn count_empty_homes<S: Slot>(slots: &Segmented<S>, hashes: impl Iterator<Item = u64>) -> usize {
    hashes.filter(|&hash| slots.get(home(slots.len, hash)) == Some(S::EMPTY)).count()
}

fn find<S: Slot>(slots: &Segmented<S>, layout: Layout, hash: u64, mut is_id: impl FnMut(u64) -> bool) -> Option<u64> {
    if slots.len == 0 {
        return None;
    }
    let wanted = layout.tag_of::<S>(hash);
    let mut index = home(slots.len, hash);
    loop {
        let slot = slots.get(index)?;
        if slot == S::EMPTY {
            return None;
        }
        if layout.tag(slot) == wanted && is_id(layout.offset(slot)) {
            return Some(layout.offset(slot));
        }
        index = next(slots.len, index);
    }
}

/// False if the table is full (or not ready).
fn insert<S: Slot>(slots: &mut Segmented<S>, layout: Layout, hash: u64, offset: u64) -> bool {
    let len = slots.len;
    let mut index = home(len, hash);
    for _ in 0..len {
        let Some(slot) = slots.get_mut(index) else { return false };
        if *slot == S::EMPTY {
            *slot = layout.slot(hash, offset);
            return true;
        }
        index = next(len, index);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn hash_of(key: u64) -> u64 {
        key.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (key >> 7)
    }

    /// Offsets start at `first_offset` and step by `stride`, so wide tables see offsets
    /// far beyond 24 bits.
    fn behaves_like_a_map(keys: Vec<u64>, first_offset: u64, stride: u64) -> Result<(), TestCaseError> {
        let max_offset = first_offset + stride * keys.len() as u64;
        let mut table = IdTable::for_ids(0, max_offset);
        prop_assert_eq!(table.is_wide(), max_offset > NARROW_MAX_OFFSET);
        let mut model: HashMap<u64, u64> = HashMap::new();
        let mut next_offset = first_offset;
        for key in keys {
            if !model.contains_key(&key) {
                if table.needs_room() {
                    // Rebuilt as the index rebuilds: in batches.
                    let mut bigger = IdTable::for_ids(model.len() + 1, max_offset);
                    let mut batch = BatchInsert::new(&mut bigger);
                    for (&k, &o) in &model {
                        batch.insert(hash_of(k), o);
                    }
                    drop(batch);
                    table = bigger;
                }
                prop_assert!(table.fits(next_offset));
                table.insert(hash_of(key), next_offset);
                model.insert(key, next_offset);
                next_offset += stride;
            }
            prop_assert_eq!(table.len(), model.len());
            for probe in 0..2000u64 {
                let want = model.get(&probe).copied();
                let got = table.find(hash_of(probe), |o| model.get(&probe) == Some(&o));
                prop_assert_eq!(got, want);
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn compact_table_behaves_like_a_map(keys in prop::collection::vec(0u64..2000, 1..600)) {
            behaves_like_a_map(keys, 0, 1)?;
        }

        #[test]
        fn wide_table_behaves_like_a_map(
            keys in prop::collection::vec(0u64..2000, 1..600),
            first_offset in 0u64..(1 << 40),
            stride in 1u64..(1 << 30),
        ) {
            behaves_like_a_map(keys, first_offset, stride)?;
        }
    }

    #[test]
    fn a_batch_has_inserted_everything_once_dropped() {
        for n in [0u64, 1, BATCH as u64 - 1, BATCH as u64, BATCH as u64 + 1, 1000] {
            let mut table = IdTable::for_ids(n as usize, NARROW_MAX_OFFSET);
            let mut batch = BatchInsert::new(&mut table);
            for key in 0..n {
                batch.insert(hash_of(key), key * 3);
            }
            drop(batch);
            assert_eq!(table.len(), n as usize);
            for key in 0..n {
                assert_eq!(table.find(hash_of(key), |o| o == key * 3), Some(key * 3));
            }
            assert_eq!(table.find(hash_of(n), |o| o == n * 3), None);
        }
    }

    /// A table over a short span tags ids with the bits its offsets leave, so looking up
    /// absent ids almost never reads one from storage (an 8-bit tag would, about once
    /// per 100 probes of used slots).
    #[test]
    fn short_spans_leave_long_tags() {
        let mut table = IdTable::for_ids(1000, 3000);
        for key in 0..1000u64 {
            table.insert(hash_of(key), key * 3);
        }
        let mut reads = 0;
        for key in 1000..101_000u64 {
            let found = table.find(hash_of(key), |_| {
                reads += 1;
                false
            });
            assert_eq!(found, None);
        }
        assert!(reads < 20, "{reads} storage reads for 100000 absent ids");
    }

    #[test]
    fn slot_widths_hold_their_largest_offsets() {
        assert_eq!(NARROW_MAX_OFFSET, (1 << 24) - 2);
        assert_eq!(MAX_OFFSET, (1 << 56) - 2);
        for (max, wide) in [(NARROW_MAX_OFFSET, false), (NARROW_MAX_OFFSET + 1, true), (MAX_OFFSET, true)] {
            let mut table = IdTable::for_ids(4, max);
            assert_eq!(table.is_wide(), wide);
            assert!(table.fits(max));
            assert_eq!(table.fits(max + 1), max == NARROW_MAX_OFFSET + 1);
            table.insert(u64::MAX, max);
            table.insert(0, 0);
            assert_eq!(table.find(u64::MAX, |o| o == max), Some(max));
            assert_eq!(table.find(0, |o| o == 0), Some(0));
            assert_eq!(table.find(u64::MAX, |o| o == max - 1), None);
            assert_eq!(table.len(), 2);
        }
    }
}
