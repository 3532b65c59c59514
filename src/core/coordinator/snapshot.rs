//! Saving and restoring the coordinator across a broadcaster reload.
//!
//! The snapshot is compact JSON: one `[id, slots, parent, standby]` row per viewer, parents
//! before children; `parent`/`standby` are 0 for the broadcaster or the 1-based row of a viewer.
//! It is validated like a network message on restore (storage can be stale or tampered with).
//! Viewers still on probation are listed as `[row, seconds left]`: a reload must neither launder
//! a newcomer into a proven relay nor change where the next joiners and moves go.

use super::{Config, Coordinator, F_PROBATION, NONE, ROOT};
use crate::core::ids::PeerId;
use crate::core::protocol::{Role, MAX_SLOTS};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

pub const SNAPSHOT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub v: u32,
    /// The session that saved it.
    pub epoch: u32,
    pub nodes: Vec<SnapshotNode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probation: Vec<(u32, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotNode(pub PeerId, pub u8, pub u32, pub Option<u32>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreError {
    Version(u32),
    TooMany(usize),
    DuplicateId(PeerId),
    BadParent(usize),
    BadStandby(usize),
    BadProbation(usize),
    Slots(usize),
    Json(String),
}

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "snapshot rejected: {self:?}")
    }
}

impl Snapshot {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("snapshots always serialize")
    }

    pub fn from_json(text: &str) -> Result<Snapshot, RestoreError> {
        serde_json::from_str(text).map_err(|e| RestoreError::Json(e.to_string()))
    }
}

impl Coordinator {
    pub fn snapshot(&self) -> Snapshot {
        // Breadth-first, so parents come before children.
        let mut row = vec![0u32; self.nodes.len()];
        let mut order = Vec::with_capacity(self.viewers as usize);
        let mut queue = std::collections::VecDeque::from([ROOT]);
        while let Some(x) = queue.pop_front() {
            let mut k = self.nodes[x as usize].first_child;
            while k != NONE {
                order.push(k);
                row[k as usize] = order.len() as u32;
                queue.push_back(k);
                k = self.nodes[k as usize].next_sibling;
            }
        }
        let nodes = order
            .iter()
            .map(|&x| {
                let n = &self.nodes[x as usize];
                let standby = (n.standby != NONE).then(|| row[n.standby as usize]);
                SnapshotNode(self.id(x).clone(), n.slots(), row[n.parent as usize], standby)
            })
            .collect();
        // One entry per viewer: the queue may hold an older one for the same slot.
        let mut left = HashMap::new();
        for &(x, hash, until_s) in &self.probation {
            if self.same_viewer(x, hash) && self.nodes[x as usize].flags & F_PROBATION != 0 {
                let secs = (until_s as u64 * 1000).saturating_sub(self.now_ms).div_ceil(1000) as u32;
                left.insert(row[x as usize], secs);
            }
        }
        let mut probation: Vec<(u32, u32)> = left.into_iter().collect();
        probation.sort_unstable();
        Snapshot { v: SNAPSHOT_VERSION, epoch: self.config.epoch, nodes, probation }
    }

    /// Rebuilds the tree after a reload. Only the broadcaster's own edges are re-opened (they
    /// died with the page); every other edge still exists between viewers. `config.epoch` must
    /// be the new session's.
    pub fn restore(snapshot: &Snapshot, now_ms: u64, config: Config) -> Result<Coordinator, RestoreError> {
        if snapshot.v != SNAPSHOT_VERSION {
            return Err(RestoreError::Version(snapshot.v));
        }
        if snapshot.nodes.len() > super::viewer_limit(&config) as usize {
            return Err(RestoreError::TooMany(snapshot.nodes.len()));
        }
        let mut seen = HashMap::with_capacity(snapshot.nodes.len());
        for (i, SnapshotNode(id, slots, parent, standby)) in snapshot.nodes.iter().enumerate() {
            if *id == config.broadcaster || seen.insert(id.clone(), i).is_some() {
                return Err(RestoreError::DuplicateId(id.clone()));
            }
            if *slots > MAX_SLOTS {
                return Err(RestoreError::Slots(i));
            }
            if *parent as usize > i {
                return Err(RestoreError::BadParent(i));
            }
            if standby.is_some_and(|s| s as usize > snapshot.nodes.len() || s as usize == i + 1) {
                return Err(RestoreError::BadStandby(i));
            }
        }
        let longest_s = config.probation_ms.div_ceil(1000) as u32 + 1; // deadlines round up
        let mut rows = vec![false; snapshot.nodes.len() + 1];
        for (i, &(row, secs)) in snapshot.probation.iter().enumerate() {
            if row == 0 || row as usize > snapshot.nodes.len() || secs > longest_s || std::mem::replace(&mut rows[row as usize], true) {
                return Err(RestoreError::BadProbation(i));
            }
        }
        let mut c = Coordinator::new(config);
        c.now_ms = now_ms;
        let mut index_of = Vec::with_capacity(snapshot.nodes.len() + 1);
        index_of.push(ROOT);
        for SnapshotNode(id, slots, parent, _) in &snapshot.nodes {
            let x = c.alloc(id.clone(), c.clamp_slots(*slots));
            index_of.push(x);
            let p = index_of[*parent as usize];
            c.attach(x, p);
        }
        // Probations go on where they were (the reload's own time is not served).
        let mut probation: Vec<(u32, u32)> = snapshot.probation.clone();
        probation.sort_by_key(|&(_, secs)| secs);
        for (row, secs) in probation {
            let x = index_of[row as usize];
            c.unindex_node(x);
            c.begin_probation_for(x, secs as u64 * 1000);
            c.reindex(x);
        }
        for (i, SnapshotNode(_, _, _, standby)) in snapshot.nodes.iter().enumerate() {
            let x = index_of[i + 1];
            if let Some(s) = standby {
                let s = index_of[*s as usize];
                if c.needs_standby(x) && c.nodes[s as usize].backed < c.backing_limit(s) && c.standby_valid(x, s) {
                    c.link_standby(s, x);
                }
            }
        }
        // Nothing of the rebuild goes out except the broadcaster's own edges.
        c.out.clear();
        for &x in &c.dirty {
            c.nodes[x as usize].flags &= !super::F_DIRTY;
        }
        c.dirty.clear();
        for x in 1..c.nodes.len() as u32 {
            if c.is_live(x) {
                c.queue_standby(x);
            }
        }
        let mut k = c.nodes[ROOT as usize].first_child;
        while k != NONE {
            c.connect(ROOT, k, Role::Primary);
            c.mark_dirty(k);
            k = c.nodes[k as usize].next_sibling;
        }
        let mut v = c.nodes[ROOT as usize].first_backed;
        while v != NONE {
            c.connect(ROOT, v, Role::Standby);
            c.mark_dirty(v);
            v = c.nodes[v as usize].next_backed;
        }
        c.flush_assigns();
        // Over-capacity nodes (the config may have changed) are repaired on the next ticks.
        Ok(c)
    }
}
