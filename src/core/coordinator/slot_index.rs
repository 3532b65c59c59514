//! Peer id -> slot: open addressing with linear probing over 8-byte entries (32 bits of the id's
//! hash beside the slot). A lookup reads one run of entries, at 1M viewers one cache miss; a
//! SwissTable (hashbrown) keeps its control bytes apart from its entries, so it took two.
//! Deletion shifts the run back (no tombstones), and growing rehashes from the stored bits
//! without reading any id.

const EMPTY: u64 = u64::MAX;

#[derive(Clone, Default)]
pub(crate) struct SlotIndex {
    entries: Vec<u64>,
    len: usize,
}

fn entry(hash: u32, slot: u32) -> u64 {
    (hash as u64) << 32 | slot as u64
}

impl SlotIndex {
    pub fn len(&self) -> usize {
        self.len
    }

    fn mask(&self) -> usize {
        self.entries.len() - 1
    }

    /// Where a hash's run starts (the high bits of a multiplicative hash: they depend on all of
    /// the stored 32 bits).
    fn home(&self, hash: u32) -> usize {
        let bits = self.entries.len().trailing_zeros();
        ((hash as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits)) as usize
    }

    /// The slot stored with `hash` for which `is_it` holds.
    pub fn find(&self, hash: u32, mut is_it: impl FnMut(u32) -> bool) -> Option<u32> {
        if self.entries.is_empty() {
            return None;
        }
        let mut i = self.home(hash);
        loop {
            let e = self.entries[i];
            if e == EMPTY {
                return None;
            }
            if (e >> 32) as u32 == hash && is_it(e as u32) {
                return Some(e as u32);
            }
            i = (i + 1) & self.mask();
        }
    }

    /// Adds `slot` under `hash` (the caller knows it is not there yet).
    pub fn insert(&mut self, hash: u32, slot: u32) {
        // At most 3/4 full: linear probing's runs stay short.
        if (self.len + 1) * 4 > self.entries.len() * 3 {
            self.grow();
        }
        let mut i = self.home(hash);
        while self.entries[i] != EMPTY {
            i = (i + 1) & self.mask();
        }
        self.entries[i] = entry(hash, slot);
        self.len += 1;
    }

    /// Removes `slot`, stored under `hash`; false when it is not there.
    pub fn remove(&mut self, hash: u32, slot: u32) -> bool {
        if self.entries.is_empty() {
            return false;
        }
        let mask = self.mask();
        let target = entry(hash, slot);
        let mut i = self.home(hash);
        loop {
            match self.entries[i] {
                EMPTY => return false,
                e if e == target => break,
                _ => i = (i + 1) & mask,
            }
        }
        // Move later members of the run into the hole unless that would put one before its home.
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let e = self.entries[j];
            if e == EMPTY {
                break;
            }
            let k = self.home((e >> 32) as u32);
            // `e` may fill the hole at `i` only if its home is not cyclically in (i, j].
            let stays = if i <= j { i < k && k <= j } else { i < k || k <= j };
            if !stays {
                self.entries[i] = e;
                i = j;
            }
        }
        self.entries[i] = EMPTY;
        self.len -= 1;
        true
    }

    fn grow(&mut self) {
        let size = (self.entries.len() * 2).max(16);
        let old = std::mem::replace(&mut self.entries, vec![EMPTY; size]);
        self.len = 0;
        for e in old.into_iter().filter(|&e| e != EMPTY) {
            self.insert((e >> 32) as u32, e as u32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn matches_a_map_through_inserts_and_removals() {
        // Few distinct hashes: long runs, collisions, wrap-around at the table's end.
        let mut index = SlotIndex::default();
        let mut model: HashMap<u32, u32> = HashMap::new(); // slot -> hash
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        for step in 0..20_000u32 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let slot = (rng % 3_000) as u32;
            let hash = (((rng >> 20) % 40) as u32 * 0x0101_0101) ^ (step % 3);
            if let Some(&h) = model.get(&slot) {
                assert!(index.remove(h, slot));
                assert!(!index.remove(h, slot));
                model.remove(&slot);
            } else {
                index.insert(hash, slot);
                model.insert(slot, hash);
            }
            assert_eq!(index.len(), model.len());
            if step % 97 == 0 {
                for (&s, &h) in &model {
                    assert_eq!(index.find(h, |x| x == s), Some(s));
                }
                assert_eq!(index.find(hash, |x| x == 5_000), None);
            }
        }
    }
}
