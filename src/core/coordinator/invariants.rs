//! The tree's invariants, checked in full (O(n)) by tests after every event.

use super::{Coordinator, Policy, F_DETACHED, F_OVERLOADED, F_SUSPECT, F_WANTS_STANDBY, NONE, ROOT};
use std::fmt;

/// The first broken rule found, with the offending peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvariantViolation(pub String);

impl fmt::Display for InvariantViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(InvariantViolation(format!($($fmt)*)));
        }
    };
}

impl Coordinator {
    /// Checks every rule; `Err` names the first violation.
    ///
    /// - the primary edges form one tree rooted at the broadcaster (every viewer reachable, no
    ///   cycle, depths and branch labels consistent, child counts right);
    /// - no node has more primary children than its capacity, except an overload transient that
    ///   is registered, retried every tick and younger than `overload_grace_ms` (or older only
    ///   while no free slot exists for the excess children);
    /// - standbys: only under treecast, only at depth >= 2, never in the subtree of the viewer's
    ///   parent, never backed by the viewer it backs (one edge per pair of peers), never more
    ///   than the backer's limit; viewers missing one are queued for retry;
    /// - the pools hold exactly the nodes they should (`roomy`: a free slot whose use drops no
    ///   standby).
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        let n = self.nodes.len();
        ensure!(self.nodes[ROOT as usize].parent == NONE, "broadcaster has a parent");
        // Map <-> slab.
        let live = (1..n).filter(|&i| self.is_live(i as u32)).count();
        ensure!(live == self.viewers as usize, "viewer count {} != live nodes {live}", self.viewers);
        ensure!(self.index.len() == live, "index has {} entries for {live} viewers", self.index.len());
        for x in 0..n as u32 {
            let other = self.nodes[x as usize].flags & super::F_OTHER_ID != 0;
            ensure!((x != ROOT && self.is_live(x) && other) == self.other_ids.contains_key(&x), "slot {x}: id kept apart or not");
            if x != ROOT && self.is_live(x) {
                ensure!(self.find(&self.id(x)) == Some(x), "{:?}: not found in the index", self.name(x));
            }
        }
        // One tree from the root: walk it and compare with the live set.
        let mut seen = vec![false; n];
        let mut stack = vec![ROOT];
        seen[ROOT as usize] = true;
        let mut reached = 0usize;
        while let Some(x) = stack.pop() {
            let node = &self.nodes[x as usize];
            let mut count = 0u32;
            let mut k = node.first_child;
            while k != NONE {
                ensure!(!seen[k as usize], "cycle or shared child at {:?}", self.name(k));
                seen[k as usize] = true;
                let child = &self.nodes[k as usize];
                ensure!(self.is_live(k), "dead node in the tree under {:?}", self.name(x));
                ensure!(child.flags & F_DETACHED == 0, "{:?}: still marked detached", self.name(k));
                ensure!(child.parent == x, "{:?}: parent link mismatch", self.name(k));
                ensure!(child.depth() == node.depth() + 1, "{:?}: depth {} under depth {}", self.name(k), child.depth(), node.depth());
                for (i, &d) in super::BRANCH_DEPTHS.iter().enumerate() {
                    ensure!(child.depth() <= d || child.branch[i] == node.branch[i], "{:?}: branch label {i} differs from its parent's", self.name(k));
                }
                count += 1;
                reached += 1;
                stack.push(k);
                k = child.next_sibling;
            }
            ensure!(count == node.children as u32, "{:?}: {} children counted {}", self.name(x), node.children, count);
            if node.children > self.cap(x) {
                ensure!(node.flags & F_OVERLOADED != 0, "{:?}: over capacity ({} > {}) unregistered", self.name(x), node.children, self.cap(x));
                let since = self.overloaded.iter().find(|e| e.0 == x).map(|e| e.1);
                ensure!(since.is_some(), "{:?}: overload not queued", self.name(x));
                let age = self.now_ms.saturating_sub(since.unwrap_or(0));
                ensure!(
                    age <= self.config.overload_grace_ms || self.free.len() + self.free_new.len() == 0 || self.no_room_outside(x),
                    "{:?}: over capacity for {age} ms while free slots exist", self.name(x)
                );
            }
        }
        ensure!(reached == live, "{} viewers reachable from the broadcaster, {live} live", reached);
        // Standbys.
        let mut backed = vec![0u16; n];
        for x in 0..n {
            let node = &self.nodes[x];
            if !self.is_live(x as u32) || x == ROOT as usize {
                continue;
            }
            let s = node.standby;
            if s != NONE {
                ensure!(self.config.policy == Policy::Treecast, "seed policy has standbys");
                ensure!(self.is_live(s), "{:?}: dead standby", self.name(x as u32));
                ensure!(node.depth() >= 2, "{:?}: standby at depth {}", self.name(x as u32), node.depth());
                ensure!(self.standby_rule(x as u32, s, false), "{:?}: standby {:?} in its parent's subtree, or backed by it", self.name(x as u32), self.name(s));
                backed[s as usize] += 1;
            } else if self.needs_standby(x as u32) {
                ensure!(node.flags & F_WANTS_STANDBY != 0, "{:?}: no standby and not queued", self.name(x as u32));
            }
        }
        for (x, node) in self.nodes.iter().enumerate() {
            if !self.is_live(x as u32) {
                continue;
            }
            ensure!(backed[x] == node.backed, "{:?}: backs {} counted {}", self.name(x as u32), node.backed, backed[x]);
            ensure!(node.backed <= self.backing_limit(x as u32), "{:?}: backs {} > limit {}", self.name(x as u32), node.backed, self.backing_limit(x as u32));
            let mut k = node.first_backed;
            let mut count = 0;
            while k != NONE {
                ensure!(self.nodes[k as usize].standby == x as u32, "{:?}: backed list mismatch", self.name(x as u32));
                count += 1;
                k = self.nodes[k as usize].next_backed;
            }
            ensure!(count == node.backed, "{:?}: backed list length", self.name(x as u32));
            // Pools (a suspect is in none), each in the right one: free slots of nodes on probation in
            // `free_new`/`roomy_new`, idle relays on probation in `idle_new`.
            let x32 = x as u32;
            let suspect = node.flags & super::F_SUSPECT != 0;
            if suspect {
                ensure!(self.suspects.iter().any(|e| e.0 == x32), "{:?}: suspect without a deadline", self.name(x32));
            }
            let new = node.flags & super::F_PROBATION != 0;
            if new {
                ensure!(self.probation.iter().any(|e| e.0 == x32), "{:?}: on probation without a deadline", self.name(x32));
            }
            let (free_pool, roomy_pool) = if new { (&self.free_new, &self.roomy_new) } else { (&self.free, &self.roomy) };
            let free = !suspect && node.children < self.cap(x32);
            ensure!((node.pos.get(super::FREE_POS) != super::NOT_IN) == free, "{:?}: free pool membership wrong", self.name(x32));
            ensure!(!free || free_pool.holds(node.depth(), node.pos.get(super::FREE_POS), x32), "{:?}: not where its free pool says", self.name(x32));
            let roomy = !suspect && self.config.policy == Policy::Treecast && self.truly_free(x32);
            ensure!((node.pos.get(super::ROOMY_POS) != super::NOT_IN) == roomy, "{:?}: roomy pool membership wrong", self.name(x32));
            ensure!(!roomy || roomy_pool.holds(node.depth(), node.pos.get(super::ROOMY_POS), x32), "{:?}: not where its roomy pool says", self.name(x32));
            let leaf = !suspect && x32 != ROOT && node.children == 0;
            ensure!((node.pos.get(super::LEAF_POS) != super::NOT_IN) == leaf, "{:?}: leaf pool membership wrong", self.name(x32));
            let leaf_pool = match (node.flags & super::F_PHONE_POOL != 0, new) {
                (true, _) => &self.phones,
                (false, false) => &self.idle_relays,
                (false, true) => &self.idle_new,
            };
            ensure!(!leaf || leaf_pool.holds(node.depth(), node.pos.get(super::LEAF_POS), x32), "{:?}: not where its leaf pool says", self.name(x32));
            ensure!(!leaf || (node.flags & super::F_PHONE_POOL != 0) == (self.cap(x32) == 0), "{:?}: in the wrong leaf pool", self.name(x32));
            let spare = !suspect && x32 != ROOT && node.backed < self.backing_limit(x32);
            ensure!((node.pos.get(super::SPARE_POS) != super::NOT_IN) == spare, "{:?}: spare pool membership wrong", self.name(x32));
            let pack = node.flags & super::F_PACK_POOL != 0;
            ensure!(!spare || pack == self.packs_slot(node.backed), "{:?}: in the wrong spare pool", self.name(x32));
            let spare_pool = if pack { &self.packs } else { &self.spare };
            ensure!(!spare || spare_pool.holds(node.pos.get(super::SPARE_POS), x32), "{:?}: not where its spare pool says", self.name(x32));
        }
        // No pool holds anyone else (every member was found at its place above).
        let members = |k: usize| self.nodes.iter().filter(|n| n.pos.get(k) != super::NOT_IN).count();
        ensure!(self.free.len() + self.free_new.len() == members(super::FREE_POS), "free pools hold strangers");
        ensure!(self.roomy.len() + self.roomy_new.len() == members(super::ROOMY_POS), "roomy pools hold strangers");
        ensure!(self.idle_relays.len() + self.idle_new.len() + self.phones.len() == members(super::LEAF_POS), "leaf pools hold strangers");
        let spares = self.spare.items.len() + self.packs.items.len();
        ensure!(spares == members(super::SPARE_POS), "spare pools hold strangers");
        Ok(())
    }

    /// No free slot in sight outside the subtree of `x` (so its excess children cannot move).
    /// A suspect's slots are out of sight until its suspicion ends (`suspect_ms` at most, a
    /// child cannot renew it once moved off), so they do not count.
    fn no_room_outside(&self, x: u32) -> bool {
        (0..self.nodes.len() as u32).all(|t| {
            !self.is_live(t)
                || self.nodes[t as usize].flags & F_SUSPECT != 0
                || self.nodes[t as usize].children >= self.cap(t)
                || !self.reaches_root_avoiding(t, x)
        })
    }
}
