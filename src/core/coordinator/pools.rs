//! Index sets with O(1) insert/remove, so placement never scans the tree.
//!
//! Each member remembers its position (stored by the caller in the node); removal swaps the last
//! element into the hole and reports who moved so the caller can update that node's position.

pub(crate) const NOT_IN: u32 = u32::MAX;

/// Which of a node's pool positions (`Positions`): in `free` / `free_new`, `roomy` /
/// `roomy_new`, one of the leaf pools (idle relays, phones), one of the spare pools.
pub(crate) const FREE_POS: usize = 0;
pub(crate) const ROOMY_POS: usize = 1;
pub(crate) const LEAF_POS: usize = 2;
pub(crate) const SPARE_POS: usize = 3;

/// A node's positions in its four kinds of pools.
#[derive(Clone, Copy)]
pub(crate) struct Positions([u32; 4]);

impl Positions {
    pub const NONE: Positions = Positions([NOT_IN; 4]);

    #[inline]
    pub fn get(&self, k: usize) -> u32 {
        self.0[k]
    }

    #[inline]
    pub fn set(&mut self, k: usize, pos: u32) {
        self.0[k] = pos;
    }
}

#[derive(Default, Clone)]
pub(crate) struct DepthBuckets {
    lists: Vec<Vec<u32>>,
    len: usize,
    /// No non-empty bucket below `lo`.
    lo: usize,
    /// No non-empty bucket above `hi`.
    hi: usize,
}

impl DepthBuckets {
    pub fn len(&self) -> usize {
        self.len
    }

    /// Inserts `node` at `depth`; returns its position in that bucket.
    pub fn insert(&mut self, depth: u32, node: u32) -> u32 {
        let d = depth as usize;
        if self.lists.len() <= d {
            self.lists.resize_with(d + 1, Vec::new);
        }
        let list = &mut self.lists[d];
        list.push(node);
        if self.len == 0 {
            self.lo = d;
            self.hi = d;
        } else {
            self.lo = self.lo.min(d);
            self.hi = self.hi.max(d);
        }
        self.len += 1;
        (list.len() - 1) as u32
    }

    /// Removes the member at `pos` of bucket `depth`; returns the node that moved into `pos`.
    pub fn remove(&mut self, depth: u32, pos: u32) -> Option<u32> {
        let list = &mut self.lists[depth as usize];
        list.swap_remove(pos as usize);
        self.len -= 1;
        list.get(pos as usize).copied()
    }

    /// Moves the member at `pos` of bucket `depth` to the end of it (as a removal and a fresh
    /// insertion would); returns the node that moved into `pos`.
    pub fn bump(&mut self, depth: u32, pos: u32) -> Option<u32> {
        let list = &mut self.lists[depth as usize];
        let last = list.len() - 1;
        list.swap(pos as usize, last);
        (pos as usize != last).then(|| list[pos as usize])
    }

    /// `node` sits at `pos` of bucket `depth` (for the invariant checks).
    pub fn holds(&self, depth: u32, pos: u32, node: u32) -> bool {
        self.lists.get(depth as usize).and_then(|l| l.get(pos as usize)) == Some(&node)
    }

    pub fn last_pos(&self, depth: u32) -> u32 {
        (self.lists[depth as usize].len() - 1) as u32
    }

    pub fn shallowest(&mut self) -> Option<(u32, &[u32])> {
        if self.len == 0 {
            return None;
        }
        while self.lists[self.lo].is_empty() {
            self.lo += 1;
        }
        Some((self.lo as u32, &self.lists[self.lo]))
    }

    pub fn deepest(&mut self) -> Option<(u32, &[u32])> {
        if self.len == 0 {
            return None;
        }
        while self.lists[self.hi].is_empty() {
            self.hi -= 1;
        }
        Some((self.hi as u32, &self.lists[self.hi]))
    }

    /// Non-empty buckets from the deepest up, for bounded searches.
    pub fn iter_deepest_first(&self) -> impl Iterator<Item = (u32, &[u32])> {
        self.lists
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, l)| !l.is_empty())
            .map(|(d, l)| (d as u32, l.as_slice()))
    }
}

/// An unordered set with random access (for picking standby candidates).
#[derive(Default, Clone)]
pub(crate) struct FlatPool {
    pub items: Vec<u32>,
}

impl FlatPool {
    pub fn insert(&mut self, node: u32) -> u32 {
        self.items.push(node);
        (self.items.len() - 1) as u32
    }

    /// `node` sits at `pos` (for the invariant checks).
    pub fn holds(&self, pos: u32, node: u32) -> bool {
        self.items.get(pos as usize) == Some(&node)
    }

    pub fn remove(&mut self, pos: u32) -> Option<u32> {
        self.items.swap_remove(pos as usize);
        self.items.get(pos as usize).copied()
    }

    /// Moves the member at `pos` to the end; returns the node that moved into `pos`.
    pub fn bump(&mut self, pos: u32) -> Option<u32> {
        let last = self.items.len() - 1;
        self.items.swap(pos as usize, last);
        (pos as usize != last).then(|| self.items[pos as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_track_extremes() {
        let mut b = DepthBuckets::default();
        assert!(b.shallowest().is_none());
        let p3 = b.insert(3, 30);
        let p5 = b.insert(5, 50);
        let p5b = b.insert(5, 51);
        assert_eq!(b.shallowest().unwrap().0, 3);
        assert_eq!(b.deepest().unwrap().0, 5);
        assert_eq!(b.remove(5, p5), Some(51));
        let _ = p5b;
        assert_eq!(b.remove(5, 0), None);
        assert_eq!(b.deepest().unwrap().0, 3);
        assert_eq!(b.remove(3, p3), None);
        assert!(b.deepest().is_none());
        assert_eq!(b.len(), 0);
    }
}
