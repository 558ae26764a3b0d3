//! The de-duplication index's hash table: open addressing with linear probing over one
//! `u32` per slot, sized to the ids it holds (not to a power of two).
//!
//! A slot holds an entry's seq offset (from the index's base) plus one in its low 24
//! bits, and 8 bits of the id's hash above them, so a probe that meets another id's slot
//! almost never has to read that id from storage to rule it out. The table never stores
//! ids or full hashes: growing means rebuilding it from storage (see `DedupIndex`), which
//! the owner does when `needs_room` says so.

const OFFSET_BITS: u32 = 24;
const OFFSET_MASK: u32 = (1 << OFFSET_BITS) - 1;
/// The largest offset a slot can hold.
pub const MAX_OFFSET: u64 = OFFSET_MASK as u64 - 1;
const EMPTY: u32 = 0;
/// A removed id whose slot must still be probed past.
const TOMBSTONE: u32 = 0xff << OFFSET_BITS;

fn tag(hash: u64) -> u32 {
    ((hash & 0xff) as u32) << OFFSET_BITS
}

fn is_live(slot: u32) -> bool {
    slot & OFFSET_MASK != 0
}

fn offset(slot: u32) -> u64 {
    u64::from(slot & OFFSET_MASK) - 1
}

#[derive(Clone, Debug, Default)]
pub struct IdTable {
    slots: Vec<u32>,
    /// Live ids.
    len: usize,
    /// Slots not EMPTY (live ids and tombstones): probes end only at an EMPTY slot.
    used: usize,
}

impl IdTable {
    /// A table for `ids` ids, about 55% full (it asks for a rebuild at 80%).
    pub fn for_ids(ids: usize) -> IdTable {
        let slots = (ids * 20 / 11 + 1).max(16);
        IdTable { slots: vec![EMPTY; slots], len: 0, used: 0 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether one more insert would take the table past 80% full.
    pub fn needs_room(&self) -> bool {
        (self.used + 1) * 5 > self.slots.len() * 4
    }

    pub fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<u32>()
    }

    fn home(&self, hash: u64) -> usize {
        // Maps the hash onto 0..len without a division (Lemire's fast range).
        ((u128::from(hash) * self.slots.len() as u128) >> 64) as usize
    }

    fn next(&self, index: usize) -> usize {
        if index + 1 == self.slots.len() {
            0
        } else {
            index + 1
        }
    }

    /// The offset of the id with `hash` for which `is_id(offset)` holds.
    pub fn find(&self, hash: u64, mut is_id: impl FnMut(u64) -> bool) -> Option<u64> {
        if self.slots.is_empty() {
            return None;
        }
        let wanted = tag(hash);
        let mut index = self.home(hash);
        loop {
            let slot = *self.slots.get(index)?;
            if slot == EMPTY {
                return None;
            }
            if is_live(slot) && slot & !OFFSET_MASK == wanted && is_id(offset(slot)) {
                return Some(offset(slot));
            }
            index = self.next(index);
        }
    }

    /// Adds `offset` under `hash`. The caller checked `needs_room` (false) and that the
    /// offset is at most `MAX_OFFSET`.
    pub fn insert(&mut self, hash: u64, offset: u64) {
        let mut index = self.home(hash);
        while let Some(&slot) = self.slots.get(index) {
            if !is_live(slot) {
                if slot == EMPTY {
                    self.used += 1;
                }
                self.slots[index] = tag(hash) | (offset as u32 + 1);
                self.len += 1;
                return;
            }
            index = self.next(index);
        }
    }

    /// Removes `offset`, stored under `hash`; false if it is not there.
    pub fn remove(&mut self, hash: u64, offset: u64) -> bool {
        if self.slots.is_empty() {
            return false;
        }
        let mut index = self.home(hash);
        loop {
            let Some(&slot) = self.slots.get(index) else { return false };
            if slot == EMPTY {
                return false;
            }
            if is_live(slot) && self::offset(slot) == offset {
                let next = self.next(index);
                // Before an EMPTY slot no probe needs to pass here: free it outright.
                if self.slots.get(next) == Some(&EMPTY) {
                    self.slots[index] = EMPTY;
                    self.used -= 1;
                } else {
                    self.slots[index] = TOMBSTONE;
                }
                self.len -= 1;
                return true;
            }
            index = self.next(index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn hash_of(key: u64) -> u64 {
        key.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (key >> 7)
    }

    proptest! {
        #[test]
        fn behaves_like_a_map(ops in prop::collection::vec((any::<bool>(), 0u64..200), 1..600)) {
            let mut table = IdTable::for_ids(0);
            let mut model: HashMap<u64, u64> = HashMap::new();
            let mut next_offset = 0u64;
            for (insert, key) in ops {
                if insert && !model.contains_key(&key) {
                    if table.needs_room() {
                        let mut bigger = IdTable::for_ids(model.len() + 1);
                        for (&k, &o) in &model {
                            bigger.insert(hash_of(k), o);
                        }
                        table = bigger;
                    }
                    table.insert(hash_of(key), next_offset);
                    model.insert(key, next_offset);
                    next_offset += 1;
                } else if let Some(offset) = model.remove(&key) {
                    prop_assert!(table.remove(hash_of(key), offset));
                }
                prop_assert_eq!(table.len(), model.len());
                for probe in 0..200u64 {
                    let want = model.get(&probe).copied();
                    let got = table.find(hash_of(probe), |o| model.get(&probe) == Some(&o));
                    prop_assert_eq!(got, want);
                }
            }
        }
    }
}
