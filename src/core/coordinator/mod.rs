//! The coordinator: one per broadcast, inside the broadcaster's page. It keeps the logical tree
//! and tells peers which edges to open; peers do the media switching themselves.
//!
//! Placement, standbys and repair are explained in `src/core/DESIGN.md`. Internally nodes live in
//! a slab of dense `u32` indices (index 0 is the broadcaster) with intrusive child and "backed"
//! (standby children) lists, plus pools of nodes with free slots / idle relays / spare capacity,
//! so every event costs O(log n) expected (the size of the moved subtrees), never a scan.

mod invariants;
mod pools;
mod prefetch;
mod slot_index;
mod snapshot;
pub mod workload;

pub use invariants::InvariantViolation;
pub use snapshot::{RestoreError, Snapshot, SnapshotNode};

use crate::core::ids::PeerId;
use crate::core::protocol::{Message, Position, Role, MAX_SLOTS};
use pools::{DepthBuckets, FlatPool, Positions, FREE_POS, LEAF_POS, NOT_IN, ROOMY_POS, SPARE_POS};
use slot_index::SlotIndex;
use std::collections::{HashMap, VecDeque};
use std::hash::Hasher;

/// Hashes peer ids for the index: an Fx-style word-at-a-time hash (much cheaper than SipHash on
/// ~30-byte ids) keyed by `Config::seed`, with a final avalanche so that nearby keys spread.
struct IdHasher(u64);

const HASH_K: u64 = 0xf135_7aea_2e62_a9c5;

impl IdHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(HASH_K);
    }
}

impl Hasher for IdHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf) ^ ((rest.len() as u64) << 56));
        }
    }
    #[inline]
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

const NONE: u32 = u32::MAX;
/// Standbys re-assigned within the event that dropped them (see `assign_fresh_standbys`).
const FRESH_STANDBYS_PER_EVENT: u32 = 8;
const ROOT: u32 = 0;

/// Viewers beyond this are told to wait, whatever `max_viewers` says: depths then fit the 24 bits
/// nodes keep them in. 16.7M viewers, far beyond what a broadcaster's page could hold (1 GB of
/// nodes).
fn viewer_limit(config: &Config) -> u32 {
    config.max_viewers.min(DEPTH_MASK)
}

// Node flags.
const F_DIRTY: u16 = 1; // position changed: send `assign` at the end of the event
const F_WANTS_STANDBY: u16 = 2; // queued in `standby_queue`
const F_REPOSITION: u16 = 4; // queued in `reposition_queue` (hangs deeper than needed after a failover)
const F_OVERLOADED: u16 = 8; // more primary children than capacity (transient, see `overloaded`)
const F_PHONE_POOL: u16 = 16; // its leaf position is in `phones`, not `idle_relays` / `idle_new`
const F_DETACHED: u16 = 32; // in a subtree being moved: kept out of every pool until attached
const F_LIVE: u16 = 64; // the slot holds a viewer (or the broadcaster)
const F_PACK_POOL: u16 = 128; // its spare position is in `packs`, not `spare`
const F_SUSPECT: u16 = 256; // a child reported it lost: kept out of every pool (see `suspects`)
const F_PROBATION: u16 = 512; // joined less than `probation_ms` ago: its slots are second choice
const F_OTHER_ID: u16 = 1024; // its id is not of the viewer form: kept in `other_ids`

/// Which tree policy the coordinator runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Capacity-aware placement, standby parents, make-before-break repair.
    Treecast,
    /// The 2017 library: breadth-first fill, fan-out N, last leaf replaces a departed relay.
    Seed,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub policy: Policy,
    /// The broadcaster's own peer id (commands addressed to it are executed locally).
    pub broadcaster: PeerId,
    /// This coordinator session (nonzero; a restarted broadcaster uses a new one).
    pub epoch: u32,
    /// Children the broadcaster feeds (1 spares the streamer's uplink, as the original did).
    pub broadcaster_fanout: u8,
    /// Parked standby edges the broadcaster keeps per fed child, for the children of its children:
    /// the upload it reserves so that losing its first child is no single point of failure.
    /// Its children feed at most this many (0 disables the reserve).
    pub broadcaster_reserve: u8,
    /// Announced slots are clamped to this.
    pub max_slots: u8,
    /// Seed policy: every viewer feeds this many, whatever it announced.
    pub seed_fanout: u8,
    /// When spare capacity is short, one spare slot may back this many standbys (1 = exclusive).
    pub standby_share: u8,
    /// Depth-restoring moves per tick (bounded rate of make-before-break moves).
    pub moves_per_tick: u32,
    /// Standby assignments retried per tick.
    pub standbys_per_tick: u32,
    /// Viewers beyond this are told to wait.
    pub max_viewers: u32,
    /// Retry hint in `wait` commands.
    pub retry_ms: u32,
    /// Documented bound of an over-capacity transient while spare capacity exists elsewhere.
    pub overload_grace_ms: u64,
    /// A viewer that a child reported lost takes no new child or standby for this long, unless
    /// it is heard from first (then cleared at once) or reported lost by its parent (removed).
    /// Parents report a silent child after `ViewerConfig::slow_loss_after_ms` (3 s).
    pub suspect_ms: u64,
    /// Seeds the deterministic choice among equally good standby candidates.
    pub seed: u64,
    /// Placement prefers a truly free slot (one whose use evicts no standby) up to this many
    /// levels deeper than the shallowest free slot; beyond that it takes the shallowest slot and
    /// the fewest standbys are moved away from it.
    pub stable_slack: u32,
    /// Probation: a new viewer's relay slots are used only when no viewer that joined at least
    /// this long ago has one free (within `probation_slack` levels); until then it takes no
    /// placed phone's place (it does when its probation ends), and it replaces a departed relay
    /// only if no proven idle relay can. So fake relays from a flood of fresh ids get children
    /// only when nobody else has room (as in an honest flash crowd, where everyone is new).
    /// Standbys are not affected (a standby edge that never opens is reported and replaced).
    /// 0 disables it.
    pub probation_ms: u64,
    /// A proven viewer's free slot is preferred to a new viewer's unless it sits more than this
    /// many levels deeper (simulated, 20k viewers over 30 min: without this bound the tree was
    /// a level deeper and stalls 8% longer than with 2; the flood test passes with 1 to 3).
    pub probation_slack: u32,
}

impl Config {
    pub fn new(policy: Policy, broadcaster: PeerId, epoch: u32) -> Config {
        Config {
            policy,
            broadcaster,
            epoch: epoch.max(1),
            broadcaster_fanout: 1,
            broadcaster_reserve: 4,
            max_slots: 8,
            seed_fanout: 2,
            standby_share: 2,
            moves_per_tick: 8,
            standbys_per_tick: 256,
            max_viewers: 100_000,
            retry_ms: 1_000,
            overload_grace_ms: 10_000,
            suspect_ms: 4_000,
            seed: 0x7265_6563_6173_7421,
            stable_slack: 0,
            probation_ms: 30_000,
            probation_slack: 2,
        }
    }
}

/// Something that happened, as the coordinator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Join { peer: PeerId, slots: u8, at: Option<Position> },
    Leave { peer: PeerId },
    /// The peer crashed (reported by its parent, or observed by the driver).
    Lost { peer: PeerId },
    /// `peer` says its primary parent went silent (it has already switched to its standby).
    ParentLost { peer: PeerId, parent: PeerId },
    /// `peer` says an edge to its child (primary or standby) went silent.
    ChildLost { peer: PeerId, child: PeerId },
    Capacity { peer: PeerId, slots: u8 },
    Tick,
}

impl Event {
    /// Turns a decoded viewer -> coordinator message from `src` (set by the PeerServer) into an event.
    pub fn from_message(src: PeerId, message: Message) -> Result<Event, Rejected> {
        Ok(match message {
            Message::Join { slots, at } => Event::Join { peer: src, slots, at },
            Message::Leave {} => Event::Leave { peer: src },
            Message::ParentLost { parent } => Event::ParentLost { peer: src, parent },
            Message::ChildLost { child } => Event::ChildLost { peer: src, child },
            Message::Capacity { slots } => Event::Capacity { peer: src, slots },
            _ => return Err(Rejected::NotForCoordinator),
        })
    }
}

/// What the coordinator asks of the peers. `outbox::to_message` turns each into one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `parent` opens an edge to `child` (sends `feed`).
    Connect { parent: PeerId, child: PeerId, role: Role },
    /// `parent` lets go of `child` (sends `drop`); it keeps feeding until the child closed the edge.
    Disconnect { parent: PeerId, child: PeerId },
    /// `child`'s position (sends `assign`): whom to accept edges from, and its depth.
    Assign { child: PeerId, parent: PeerId, standby: Option<PeerId>, depth: u32 },
    /// No place now (sends `wait`).
    Wait { peer: PeerId, retry_ms: u32 },
}

/// Why an event was dropped without any change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejected {
    UnknownPeer,
    IsBroadcaster,
    SlotsOutOfRange,
    /// A loss report about a peer that is not the reporter's parent / child (stale or false).
    NotRelated,
    NotForCoordinator,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            Rejected::UnknownPeer => "unknown peer",
            Rejected::IsBroadcaster => "the broadcaster cannot be a viewer",
            Rejected::SlotsOutOfRange => "slots out of range",
            Rejected::NotRelated => "loss report about a peer that is not parent/child of the reporter",
            Rejected::NotForCoordinator => "message is not for the coordinator",
        };
        f.write_str(text)
    }
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Stats {
    pub viewers: u32,
    pub max_depth: u32,
    pub mean_depth: f64,
    /// Viewers that need a standby (depth >= 2) and have one.
    pub with_standby: u32,
    pub needing_standby: u32,
    /// with_standby / needing_standby (1.0 when none need one).
    pub standby_coverage: f64,
    pub overloaded: u32,
    /// Relay departures repaired (leave or loss of a node with children).
    pub repairs: u64,
    /// Make-before-break moves ordered.
    pub moves: u64,
    /// Events dropped as invalid.
    pub rejected: u64,
}

/// Read-only view of one viewer, for dashboards and tests.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeView {
    pub id: PeerId,
    pub parent: PeerId,
    pub standby: Option<PeerId>,
    pub children: Vec<PeerId>,
    pub depth: u32,
    pub slots: u8,
    pub subtree_size: u32,
}

/// Where one viewer sits (see `Coordinator::placement`). The ids are copies: nodes keep them in
/// a compact form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub parent: PeerId,
    pub standby: Option<PeerId>,
    pub depth: u32,
    /// Primary children.
    pub children: u16,
}

/// Depths of the branch labels (see `Node::branch`).
const BRANCH_DEPTHS: [u32; 2] = [4, 10];

/// One slot of the slab: one cache line (at 1M viewers nearly every node an event touches is a
/// cache miss). The id sits beside the links, in its 12-byte form: commands name the nodes just
/// touched.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Node {
    /// The random bytes of a viewer id (`PeerId::viewer_bytes`); any other id (`F_OTHER_ID`)
    /// is kept in `Coordinator::other_ids`, the broadcaster's in its config.
    id: [u8; 12],
    /// For each depth D of `BRANCH_DEPTHS` this node is at or below: an 8-bit label of its
    /// ancestor at depth D (the same for the whole subtree of that ancestor). Two nodes with
    /// different labels are in different subtrees, so the standby rule needs no walk up the tree
    /// for most candidates (a walk at 1M viewers: 6 random reads a check, 19% of the time).
    /// Only inequality is trusted: labels may collide (1 in 256 pairs of branches), then the
    /// walk decides.
    branch: [u8; 2],
    parent: u32,
    standby: u32,
    first_child: u32,
    next_sibling: u32, // also the slab's free-list link
    first_backed: u32,
    next_backed: u32,
    /// Its depth (low 24 bits) and the slots it announced (high 8 bits), in one word so that the
    /// node fits a cache line. Depths stay below `viewer_limit`, so below 2^24.
    depth_slots: u32,
    /// Where it sits in its pools (`FREE_POS` ...), NOT_IN when it is in none of that kind.
    pos: Positions,
    children: u16,
    backed: u16,
    flags: u16,
}

impl Node {
    fn vacant() -> Node {
        Node {
            id: [0; 12],
            branch: [0; 2],
            parent: NONE,
            standby: NONE,
            first_child: NONE,
            next_sibling: NONE,
            first_backed: NONE,
            next_backed: NONE,
            depth_slots: 0,
            pos: Positions::NONE,
            children: 0,
            backed: 0,
            flags: 0,
        }
    }

    #[inline]
    fn depth(&self) -> u32 {
        self.depth_slots & DEPTH_MASK
    }

    #[inline]
    fn slots(&self) -> u8 {
        (self.depth_slots >> 24) as u8
    }

    fn set_depth_to(&mut self, depth: u32) {
        debug_assert!(depth <= DEPTH_MASK);
        self.depth_slots = self.depth_slots & !DEPTH_MASK | depth & DEPTH_MASK;
    }

    fn set_slots_to(&mut self, slots: u8) {
        self.depth_slots = self.depth_slots & DEPTH_MASK | (slots as u32) << 24;
    }
}

/// The depth bits of `Node::depth_slots`.
const DEPTH_MASK: u32 = 0xff_ffff;

pub struct Coordinator {
    config: Config,
    nodes: Vec<Node>,
    free_list: u32,
    /// Peer id -> slot (see `SlotIndex`).
    index: SlotIndex,
    /// The ids of viewers whose id is not of the viewer form (none in a real broadcast: the
    /// extension makes every viewer id), by slot.
    other_ids: HashMap<u32, PeerId>,
    hash_key: u64,
    viewers: u32,
    /// Nodes past probation with a free primary slot, by depth.
    free: DepthBuckets,
    /// Nodes past probation with a truly free primary slot (using it evicts none of their
    /// standbys), by depth.
    roomy: DepthBuckets,
    /// `free` and `roomy` of nodes on probation: used only while `free` is empty.
    free_new: DepthBuckets,
    roomy_new: DepthBuckets,
    /// Childless nodes past probation that can relay, by depth (replacement and settling
    /// candidates).
    idle_relays: DepthBuckets,
    /// The same on probation, apart: replacement takes one only when no proven idle relay can,
    /// and the deepest idle relays are mostly newcomers (1M viewers: 22 nodes read a search,
    /// 18 of them on probation, when both shared one pool).
    idle_new: DepthBuckets,
    /// Childless nodes that cannot relay, by depth.
    phones: DepthBuckets,
    /// Nodes (not the broadcaster) that can back one more standby, without a half-used shared slot.
    spare: FlatPool,
    /// Nodes (not the broadcaster) with a half-used shared slot (`standby_share` > 1): backing
    /// one more standby there costs no slot that placement could use.
    packs: FlatPool,
    /// Viewers on probation, oldest first: (slot, 32 bits of its id's hash, until: seconds).
    probation: VecDeque<(u32, u32, u32)>,
    standby_queue: VecDeque<u32>,
    fresh_buf: Vec<u32>,
    reposition_queue: VecDeque<u32>,
    overloaded: Vec<(u32, u64)>,
    /// Viewers under suspicion, oldest first: (slot, id, since).
    suspects: VecDeque<(u32, PeerId, u64)>,
    dirty: Vec<u32>,
    out: Vec<Command>,
    scratch: Vec<u32>,
    scratch2: Vec<u32>,
    backed_walk: Vec<(u32, u32)>,
    backed_starts: Vec<u32>,
    orphan_buf: Vec<u32>,
    rng: u64,
    now_ms: u64,
    repairs: u64,
    moves: u64,
    rejected: u64,
}

impl Coordinator {
    pub fn new(config: Config) -> Coordinator {
        let mut root = Node::vacant();
        root.flags = F_LIVE | F_OTHER_ID;
        let rng = config.seed | 1;
        let mut c = Coordinator {
            nodes: vec![root],
            free_list: NONE,
            index: SlotIndex::default(),
            other_ids: HashMap::new(),
            hash_key: rng.rotate_left(17) ^ 0x5bd1_e995,
            config,
            viewers: 0,
            free: DepthBuckets::default(),
            roomy: DepthBuckets::default(),
            free_new: DepthBuckets::default(),
            roomy_new: DepthBuckets::default(),
            idle_relays: DepthBuckets::default(),
            idle_new: DepthBuckets::default(),
            phones: DepthBuckets::default(),
            spare: FlatPool::default(),
            packs: FlatPool::default(),
            probation: VecDeque::new(),
            standby_queue: VecDeque::new(),
            fresh_buf: Vec::new(),
            reposition_queue: VecDeque::new(),
            overloaded: Vec::new(),
            suspects: VecDeque::new(),
            dirty: Vec::new(),
            out: Vec::new(),
            scratch: Vec::new(),
            scratch2: Vec::new(),
            backed_walk: Vec::new(),
            backed_starts: Vec::new(),
            orphan_buf: Vec::new(),
            rng,
            now_ms: 0,
            repairs: 0,
            moves: 0,
            rejected: 0,
        };
        c.reindex(ROOT);
        c
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn epoch(&self) -> u32 {
        self.config.epoch
    }

    /// Commands produced so far; the caller sends them and then calls `clear_commands`
    /// (or uses `drain_commands`). The buffer is reused, so steady operation allocates nothing.
    pub fn commands(&self) -> &[Command] {
        &self.out
    }

    pub fn clear_commands(&mut self) {
        self.out.clear();
    }

    pub fn drain_commands(&mut self) -> std::vec::Drain<'_, Command> {
        self.out.drain(..)
    }

    /// Applies one event. A rejected event changes nothing (the reason is returned for logging).
    pub fn handle(&mut self, now_ms: u64, event: Event) -> Result<(), Rejected> {
        self.now_ms = self.now_ms.max(now_ms);
        let queued = (event != Event::Tick).then_some(self.standby_queue.len());
        let result = match event {
            Event::Join { peer, slots, at } => self.on_join(peer, slots, at),
            Event::Leave { peer } | Event::Lost { peer } => {
                let x = self.lookup(&peer)?;
                self.remove(x);
                Ok(())
            }
            Event::ParentLost { peer, parent } => self.on_parent_lost(peer, parent),
            Event::ChildLost { peer, child } => self.on_child_lost(peer, child),
            Event::Capacity { peer, slots } => self.on_capacity(peer, slots),
            Event::Tick => {
                self.on_tick();
                Ok(())
            }
        };
        if result.is_err() {
            self.rejected += 1;
        }
        // An overload past its grace (it had nowhere to go) moves as soon as an event frees a
        // slot, not on the next tick: the bound holds after every event.
        if self.treecast() && self.free.len() + self.free_new.len() > 0 && self.overload_overdue() {
            self.fix_overloads();
        }
        if let Some(queued) = queued {
            self.assign_fresh_standbys(queued);
        }
        self.flush_assigns();
        result
    }

    /// Viewers that lost their standby in this event (their backer took a child, left, or moved)
    /// get a new one at once, a few per event; the rest wait for the tick's retries. At once,
    /// their nodes are still in cache and their `assign` names the new standby: one message, not
    /// one without a standby now and another at the next tick (1M joins: 1.8 standbys dropped
    /// a join, each re-assigned a tick later, was half of the joins' time).
    fn assign_fresh_standbys(&mut self, from: usize) {
        if self.standby_queue.len() <= from {
            return;
        }
        let mut fresh = std::mem::take(&mut self.fresh_buf);
        fresh.extend(self.standby_queue.drain(from..));
        let mut budget = FRESH_STANDBYS_PER_EVENT;
        for &v in &fresh {
            if !self.is_live(v) || self.nodes[v as usize].flags & F_WANTS_STANDBY == 0 {
                continue; // gone, or placed meanwhile (as the tick skips it)
            }
            if budget > 0 {
                budget -= 1;
                if self.assign_standby(v) || !self.needs_standby(v) {
                    self.nodes[v as usize].flags &= !F_WANTS_STANDBY;
                    continue;
                }
            }
            self.standby_queue.push_back(v);
        }
        fresh.clear();
        self.fresh_buf = fresh;
    }

    /// 32 bits of the hash of an id: of its 12 bytes for a viewer id (the form nodes keep, so
    /// no text is rebuilt to hash a node's id), else of its text.
    fn hash_bytes(key: u64, bytes: &[u8]) -> u32 {
        let mut h = IdHasher(key);
        h.write(bytes);
        h.finish() as u32
    }

    /// The id hash of the viewer in slot `x` (see `hash_bytes`).
    fn node_hash(&self, x: u32) -> u32 {
        let n = &self.nodes[x as usize];
        if n.flags & F_OTHER_ID == 0 {
            return Self::hash_bytes(self.hash_key, &n.id);
        }
        self.other_ids.get(&x).map_or(0, |id| Self::hash_bytes(self.hash_key, id.as_bytes()))
    }

    /// The slot of a placed viewer.
    fn find(&self, peer: &PeerId) -> Option<u32> {
        self.find_parsed(peer, peer.viewer_bytes())
    }

    /// `find`, given `peer.viewer_bytes()` (a join reads them once for the search and the node).
    fn find_parsed(&self, peer: &PeerId, viewer_bytes: Option<[u8; 12]>) -> Option<u32> {
        let nodes = &self.nodes;
        match viewer_bytes {
            Some(bytes) => {
                let h = Self::hash_bytes(self.hash_key, &bytes);
                self.index.find(h, |x| {
                    let n = &nodes[x as usize];
                    n.flags & F_OTHER_ID == 0 && n.id == bytes
                })
            }
            None => {
                let h = Self::hash_bytes(self.hash_key, peer.as_bytes());
                self.index.find(h, |x| self.other_ids.get(&x) == Some(peer))
            }
        }
    }

    fn lookup(&self, peer: &PeerId) -> Result<u32, Rejected> {
        if *peer == self.config.broadcaster {
            return Err(Rejected::IsBroadcaster);
        }
        self.find(peer).ok_or(Rejected::UnknownPeer)
    }

    fn treecast(&self) -> bool {
        self.config.policy == Policy::Treecast
    }

    // ----- capacity rules -------------------------------------------------------------------

    fn clamp_slots(&self, slots: u8) -> u8 {
        slots.min(self.config.max_slots)
    }

    /// How many primary children `x` may feed where it sits now.
    fn cap(&self, x: u32) -> u16 {
        if x == ROOT {
            return self.config.broadcaster_fanout as u16;
        }
        let n = &self.nodes[x as usize];
        match self.config.policy {
            Policy::Seed => self.config.seed_fanout as u16,
            Policy::Treecast => {
                let reserve = self.config.broadcaster_reserve;
                if n.depth() == 1 && reserve > 0 {
                    n.slots().min(reserve) as u16
                } else {
                    n.slots() as u16
                }
            }
        }
    }

    /// How many standbys `x` may back now.
    fn backing_limit(&self, x: u32) -> u16 {
        if !self.treecast() {
            return 0;
        }
        if x == ROOT {
            return self.config.broadcaster_reserve as u16 * self.config.broadcaster_fanout as u16;
        }
        let spare = self.cap(x).saturating_sub(self.nodes[x as usize].children);
        spare * self.config.standby_share.max(1) as u16
    }

    /// `x` can take one more primary child without dropping any standby it backs: a free slot
    /// that no standby holds (with `standby_share` standbys per spare slot).
    fn truly_free(&self, x: u32) -> bool {
        let n = &self.nodes[x as usize];
        let cap = self.cap(x);
        if n.children >= cap {
            return false;
        }
        if x == ROOT || !self.treecast() {
            return true;
        }
        let after = (cap - n.children - 1) * self.config.standby_share.max(1) as u16;
        n.backed <= after
    }

    /// Standbys `x` would have to drop to take one more primary child.
    fn evictions(&self, x: u32) -> u16 {
        let n = &self.nodes[x as usize];
        if x == ROOT || !self.treecast() {
            return 0;
        }
        let after = self.cap(x).saturating_sub(n.children + 1) * self.config.standby_share.max(1) as u16;
        n.backed.saturating_sub(after)
    }

    /// Where a new or moved viewer goes: a truly free slot (using it drops no standby) at most
    /// `slack` levels below the shallowest free slot, else a slot at the shallowest free depth
    /// whose use drops the fewest standbys (among a few candidates). None when no slot is free.
    /// Slots of viewers on probation are taken only when no other is free.
    fn pick_slot(&mut self, slack: u32) -> Option<u32> {
        let treecast = self.treecast();
        let (free, roomy) = self.slot_pools();
        let fd = free.shallowest()?.0;
        if !treecast {
            let (_, list) = free.shallowest()?;
            return Some(list[list.len() - 1]);
        }
        if let Some((rd, list)) = roomy.shallowest() {
            if rd <= fd.saturating_add(slack) {
                return Some(list[list.len() - 1]);
            }
        }
        let mut cand = [NONE; 8];
        let (_, list) = free.shallowest()?;
        for (slot, &x) in cand.iter_mut().zip(list.iter().rev()) {
            *slot = x;
        }
        cand.into_iter().filter(|&x| x != NONE).min_by_key(|&x| self.evictions(x))
    }

    /// The free-slot pools placement draws from: those of viewers past probation, or those of
    /// viewers on probation when none of the others has a free slot within `probation_slack`
    /// levels of theirs.
    fn slot_pools(&mut self) -> (&mut DepthBuckets, &mut DepthBuckets) {
        let slack = self.config.probation_slack;
        let proven = self.free.shallowest().map(|(d, _)| d);
        let new = self.free_new.shallowest().map(|(d, _)| d);
        let use_proven = match (proven, new) {
            (Some(p), Some(n)) => p <= n.saturating_add(slack),
            (Some(_), None) => true,
            _ => false,
        };
        if use_proven {
            (&mut self.free, &mut self.roomy)
        } else {
            (&mut self.free_new, &mut self.roomy_new)
        }
    }

    /// The shallowest depth placement would use now.
    fn free_depth(&mut self) -> Option<u32> {
        self.slot_pools().0.shallowest().map(|(d, _)| d)
    }

    fn exclusive_room(&self, x: u32) -> bool {
        let spare = self.cap(x).saturating_sub(self.nodes[x as usize].children);
        self.nodes[x as usize].backed < spare
    }

    // ----- pools ----------------------------------------------------------------------------

    /// Puts `x` into exactly the pools it belongs to now, and last in each (placement and
    /// replacement take the most recently touched node first: a parent that just took a child
    /// keeps taking them, so other nodes keep the spare slots their standbys use).
    /// Its depth must be the one it was indexed at (nodes change depth only while detached).
    fn reindex(&mut self, x: u32) {
        let n = &self.nodes[x as usize];
        if n.flags & F_DETACHED != 0 {
            return;
        }
        if n.flags & F_SUSPECT != 0 {
            self.unindex_node(x);
            return;
        }
        let (depth, children, backed, flags) = (n.depth(), n.children, n.backed, n.flags);
        let cap = self.cap(x);
        let treecast = self.treecast();
        let share = self.config.standby_share.max(1) as u16;
        let free = children < cap;
        // Truly free: one more primary child drops none of its standbys.
        let roomy = treecast && free && (x == ROOT || backed <= (cap - children - 1) * share);
        let leaf = x != ROOT && children == 0;
        let phone = leaf && cap == 0;
        let spare = x != ROOT && treecast && backed < cap.saturating_sub(children) * share;
        let new = flags & F_PROBATION != 0;
        let pack = spare && self.packs_slot(backed);

        let nodes = &mut self.nodes;
        let was = (nodes[x as usize].pos.get(FREE_POS) != NOT_IN, nodes[x as usize].pos.get(ROOMY_POS) != NOT_IN);
        let (free_pool, roomy_pool) = if new { (&mut self.free_new, &mut self.roomy_new) } else { (&mut self.free, &mut self.roomy) };
        set_bucket(free_pool, nodes, x, depth, was.0, free, FREE_POS);
        set_bucket(roomy_pool, nodes, x, depth, was.1, roomy, ROOMY_POS);
        let in_leaf = nodes[x as usize].pos.get(LEAF_POS) != NOT_IN;
        let was_phone = flags & F_PHONE_POOL != 0;
        let idle = if new { &mut self.idle_new } else { &mut self.idle_relays };
        if in_leaf && leaf && was_phone == phone {
            let pool = if phone { &mut self.phones } else { idle };
            set_bucket(pool, nodes, x, depth, true, true, LEAF_POS);
        } else {
            if in_leaf {
                let pool = if was_phone { &mut self.phones } else { &mut *idle };
                set_bucket(pool, nodes, x, depth, true, false, LEAF_POS);
                nodes[x as usize].flags &= !F_PHONE_POOL;
            }
            if leaf {
                let pool = if phone { &mut self.phones } else { idle };
                set_bucket(pool, nodes, x, depth, false, true, LEAF_POS);
                if phone {
                    nodes[x as usize].flags |= F_PHONE_POOL;
                }
            }
        }
        let in_spare = nodes[x as usize].pos.get(SPARE_POS) != NOT_IN;
        let was_pack = flags & F_PACK_POOL != 0;
        if in_spare && spare && was_pack == pack {
            let pool = if pack { &mut self.packs } else { &mut self.spare };
            set_flat(pool, nodes, x, true, true);
        } else {
            if in_spare {
                let pool = if was_pack { &mut self.packs } else { &mut self.spare };
                set_flat(pool, nodes, x, true, false);
                nodes[x as usize].flags &= !F_PACK_POOL;
            }
            if spare {
                let pool = if pack { &mut self.packs } else { &mut self.spare };
                set_flat(pool, nodes, x, false, true);
                if pack {
                    nodes[x as usize].flags |= F_PACK_POOL;
                }
            }
        }
    }

    fn unindex_node(&mut self, x: u32) {
        let n = &self.nodes[x as usize];
        let (depth, free_pos, roomy_pos, leaf_pos, spare_pos, phone, pack, new) = (
            n.depth(),
            n.pos.get(FREE_POS),
            n.pos.get(ROOMY_POS),
            n.pos.get(LEAF_POS),
            n.pos.get(SPARE_POS),
            n.flags & F_PHONE_POOL != 0,
            n.flags & F_PACK_POOL != 0,
            n.flags & F_PROBATION != 0,
        );
        if free_pos != NOT_IN {
            let pool = if new { &mut self.free_new } else { &mut self.free };
            if let Some(m) = pool.remove(depth, free_pos) {
                self.nodes[m as usize].pos.set(FREE_POS, free_pos);
            }
        }
        if roomy_pos != NOT_IN {
            let pool = if new { &mut self.roomy_new } else { &mut self.roomy };
            if let Some(m) = pool.remove(depth, roomy_pos) {
                self.nodes[m as usize].pos.set(ROOMY_POS, roomy_pos);
            }
        }
        if leaf_pos != NOT_IN {
            let pool = match (phone, new) {
                (true, _) => &mut self.phones,
                (false, false) => &mut self.idle_relays,
                (false, true) => &mut self.idle_new,
            };
            if let Some(m) = pool.remove(depth, leaf_pos) {
                self.nodes[m as usize].pos.set(LEAF_POS, leaf_pos);
            }
        }
        if spare_pos != NOT_IN {
            let pool = if pack { &mut self.packs } else { &mut self.spare };
            if let Some(m) = pool.remove(spare_pos) {
                self.nodes[m as usize].pos.set(SPARE_POS, spare_pos);
            }
        }
        let n = &mut self.nodes[x as usize];
        n.pos = Positions::NONE;
        n.flags &= !(F_PHONE_POOL | F_PACK_POOL);
    }

    /// A backer of `backed` standbys has a half-used shared slot.
    fn packs_slot(&self, backed: u16) -> bool {
        let share = self.config.standby_share.max(1) as u16;
        share > 1 && !backed.is_multiple_of(share)
    }

    // ----- slab -----------------------------------------------------------------------------

    fn alloc(&mut self, id: PeerId, slots: u8) -> u32 {
        let viewer_bytes = id.viewer_bytes();
        self.alloc_parsed(id, viewer_bytes, slots)
    }

    /// `alloc`, given `id.viewer_bytes()`.
    fn alloc_parsed(&mut self, id: PeerId, viewer_bytes: Option<[u8; 12]>, slots: u8) -> u32 {
        let mut node = Node::vacant();
        node.set_slots_to(slots);
        node.flags = F_LIVE;
        let hash = match viewer_bytes {
            Some(bytes) => {
                node.id = bytes;
                Self::hash_bytes(self.hash_key, &bytes)
            }
            None => {
                node.flags |= F_OTHER_ID;
                Self::hash_bytes(self.hash_key, id.as_bytes())
            }
        };
        let x = if self.free_list != NONE {
            let x = self.free_list;
            self.free_list = self.nodes[x as usize].next_sibling;
            self.nodes[x as usize] = node;
            // The next join's slot: its link is read then.
            self.prefetch_ahead([self.free_list]);
            x
        } else {
            self.nodes.push(node);
            (self.nodes.len() - 1) as u32
        };
        if viewer_bytes.is_none() {
            self.other_ids.insert(x, id);
        }
        self.index.insert(hash, x);
        self.viewers += 1;
        x
    }

    fn dealloc(&mut self, x: u32) {
        let hash = self.node_hash(x);
        self.index.remove(hash, x);
        if self.nodes[x as usize].flags & F_OTHER_ID != 0 {
            self.other_ids.remove(&x);
        }
        self.nodes[x as usize] = Node::vacant();
        self.nodes[x as usize].next_sibling = self.free_list;
        self.free_list = x;
        self.viewers -= 1;
    }

    /// The id of a live slot, rebuilt from its node (a viewer id) or from `other_ids`.
    #[inline(always)] // tens of times an event, naming peers in commands
    fn id(&self, x: u32) -> PeerId {
        let n = &self.nodes[x as usize];
        if n.flags & F_OTHER_ID == 0 {
            debug_assert!(n.flags & F_LIVE != 0);
            return PeerId::from_viewer_bytes(&n.id);
        }
        self.other_id(x)
    }

    #[cold]
    fn other_id(&self, x: u32) -> PeerId {
        if x == ROOT {
            return self.config.broadcaster.clone();
        }
        self.other_ids.get(&x).expect("live node").clone()
    }

    /// The id for messages about a slot, live or not.
    fn name(&self, x: u32) -> Option<PeerId> {
        self.is_live(x).then(|| self.id(x))
    }

    fn is_live(&self, x: u32) -> bool {
        x != NONE && (x as usize) < self.nodes.len() && self.nodes[x as usize].flags & F_LIVE != 0
    }

    // ----- links ----------------------------------------------------------------------------

    fn link_child(&mut self, p: u32, c: u32) {
        self.nodes[c as usize].parent = p;
        self.nodes[c as usize].next_sibling = self.nodes[p as usize].first_child;
        self.nodes[p as usize].first_child = c;
        self.nodes[p as usize].children += 1;
    }

    fn unlink_child(&mut self, p: u32, c: u32) {
        let next = self.nodes[c as usize].next_sibling;
        if self.nodes[p as usize].first_child == c {
            self.nodes[p as usize].first_child = next;
        } else {
            let mut x = self.nodes[p as usize].first_child;
            while self.nodes[x as usize].next_sibling != c {
                x = self.nodes[x as usize].next_sibling;
            }
            self.nodes[x as usize].next_sibling = next;
        }
        self.nodes[c as usize].next_sibling = NONE;
        self.nodes[c as usize].parent = NONE;
        self.nodes[p as usize].children -= 1;
    }

    fn link_standby(&mut self, s: u32, v: u32) {
        self.nodes[v as usize].standby = s;
        self.nodes[v as usize].next_backed = self.nodes[s as usize].first_backed;
        self.nodes[s as usize].first_backed = v;
        self.nodes[s as usize].backed += 1;
        self.reindex(s);
    }

    fn unlink_standby(&mut self, v: u32) {
        let s = self.unlink_standby_unfiled(v);
        if s != NONE {
            self.reindex(s);
        }
    }

    /// `unlink_standby` but for re-filing the backer in its pools, which the caller does (once
    /// after dropping several standbys of one backer: re-filed as often, it would end the same,
    /// each re-filing only moves it last in the pools it belongs to). Returns the backer.
    fn unlink_standby_unfiled(&mut self, v: u32) -> u32 {
        let s = self.nodes[v as usize].standby;
        if s == NONE {
            return NONE;
        }
        let next = self.nodes[v as usize].next_backed;
        if self.nodes[s as usize].first_backed == v {
            self.nodes[s as usize].first_backed = next;
        } else {
            let mut x = self.nodes[s as usize].first_backed;
            while self.nodes[x as usize].next_backed != v {
                x = self.nodes[x as usize].next_backed;
            }
            self.nodes[x as usize].next_backed = next;
        }
        self.nodes[v as usize].next_backed = NONE;
        self.nodes[v as usize].standby = NONE;
        self.nodes[s as usize].backed -= 1;
        s
    }

    /// True when `a` is `x` or one of its ancestors; false also when `x` hangs in a detached subtree.
    fn reaches_root_avoiding(&self, mut x: u32, a: u32) -> bool {
        loop {
            if x == a {
                return false;
            }
            if x == ROOT {
                return true;
            }
            x = self.nodes[x as usize].parent;
            if x == NONE {
                return false;
            }
        }
    }

    /// Sets an attached node's depth and branch labels from its parent's.
    fn set_depth(&mut self, x: u32) {
        let p = &self.nodes[self.nodes[x as usize].parent as usize];
        let (d, mut branch) = (p.depth() + 1, p.branch);
        for (k, &bd) in BRANCH_DEPTHS.iter().enumerate() {
            if d == bd {
                branch[k] = x as u8; // any value; slot numbers spread well enough
            }
        }
        let n = &mut self.nodes[x as usize];
        n.set_depth_to(d);
        n.branch = branch;
    }

    /// The standby rule: `s` is attached and outside the subtree of `v`'s parent. Different
    /// branch labels prove it at once; otherwise only the part of `s`'s ancestor chain deeper
    /// than the parent can contain it.
    fn standby_valid(&self, v: u32, s: u32) -> bool {
        self.standby_rule(v, s, true)
    }

    /// `standby_valid`; without `labels` it always walks (the invariant checks' reference).
    fn standby_rule(&self, v: u32, s: u32, labels: bool) -> bool {
        let p = self.nodes[v as usize].parent;
        if s == v || p == NONE || self.nodes[s as usize].flags & F_DETACHED != 0 {
            return false;
        }
        // At most one edge between two peers: peers (and the browser layer) name an edge by
        // the peer at its other end, so two standbys backing each other would be ambiguous.
        if self.nodes[s as usize].standby == v {
            return false;
        }
        // The parent sits one level above `v`, in the branches `v` is in: no need to read it
        // (a random node: one cache miss a check at 1M viewers).
        let pd = self.nodes[v as usize].depth() - 1;
        if let Some(k) = BRANCH_DEPTHS.iter().rposition(|&d| d <= pd).filter(|_| labels) {
            if self.nodes[s as usize].branch[k] != self.nodes[v as usize].branch[k] {
                return true; // another branch: outside the parent's subtree
            }
        }
        let pd = if labels { pd } else { self.nodes[p as usize].depth() }; // the reference reads it
        self.outside_by_walk(s, p, pd)
    }

    /// `l` is outside the subtree of `x`, at depth `xd`: different branch labels prove it at
    /// once, else a walk up `l`'s ancestors.
    fn outside_subtree(&self, l: u32, x: u32, xd: u32) -> bool {
        if let Some(k) = BRANCH_DEPTHS.iter().rposition(|&d| d <= xd) {
            if self.nodes[l as usize].branch[k] != self.nodes[x as usize].branch[k] {
                return true;
            }
        }
        self.outside_by_walk(l, x, xd)
    }

    /// `s` is outside the subtree of `p`, at depth `pd` (false also when `s` hangs in a subtree
    /// being moved), by walking `s`'s ancestors down to that depth.
    fn outside_by_walk(&self, s: u32, p: u32, pd: u32) -> bool {
        let mut a = s;
        while self.nodes[a as usize].depth() > pd {
            a = self.nodes[a as usize].parent;
            if a == NONE {
                return false; // hangs in a subtree being moved
            }
        }
        a != p
    }

    fn needs_standby(&self, v: u32) -> bool {
        self.treecast()
            && self.nodes[v as usize].depth() >= 2
            && self.nodes[v as usize].parent != NONE
            && self.nodes[v as usize].standby == NONE
    }

    // ----- output ---------------------------------------------------------------------------

    fn mark_dirty(&mut self, x: u32) {
        if x != ROOT && self.nodes[x as usize].flags & F_DIRTY == 0 {
            self.nodes[x as usize].flags |= F_DIRTY;
            self.dirty.push(x);
            // Its `assign` names its parent and standby: start loading them now, not at the end.
            let n = &self.nodes[x as usize];
            self.prefetch_ahead([n.parent, n.standby]);
        }
    }

    /// Loads nodes that the caller is about to use, all at once: at 1M viewers each is a cache
    /// miss, and these loads overlap where the caller's own would wait for one another. A
    /// prefetch where there is one (see `prefetch`), else a read. Changes nothing.
    #[inline]
    fn read_ahead(&self, xs: impl IntoIterator<Item = u32>) {
        let mut seen = 0;
        for y in xs {
            if let Some(m) = self.nodes.get(y as usize) {
                if !prefetch::line(m) {
                    seen |= m.flags;
                }
            }
        }
        std::hint::black_box(seen);
    }

    /// `read_ahead` where a prefetch exists, else nothing: for nodes read much later in the
    /// event, where a read now would only wait sooner.
    #[inline]
    fn prefetch_ahead(&self, xs: impl IntoIterator<Item = u32>) {
        if prefetch::AVAILABLE {
            for y in xs {
                if let Some(m) = self.nodes.get(y as usize) {
                    prefetch::line(m);
                }
            }
        }
    }

    fn flush_assigns(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        // The parents and standbys named below, read ahead (prefetched already by `mark_dirty`
        // where it can: all of them again here made 1M churn 6% slower).
        if !prefetch::AVAILABLE {
            for &x in &dirty {
                if let Some(n) = self.nodes.get(x as usize) {
                    self.read_ahead([n.parent, n.standby]);
                }
            }
        }
        for &x in &dirty {
            if !self.is_live(x) || self.nodes[x as usize].flags & F_DIRTY == 0 {
                continue;
            }
            self.nodes[x as usize].flags &= !F_DIRTY;
            let n = &self.nodes[x as usize];
            if n.parent == NONE {
                continue;
            }
            let cmd = Command::Assign {
                child: self.id(x),
                parent: self.id(n.parent),
                standby: (n.standby != NONE).then(|| self.id(n.standby)),
                depth: n.depth(),
            };
            self.out.push(cmd);
        }
        dirty.clear();
        self.dirty = dirty;
    }

    fn connect(&mut self, p: u32, c: u32, role: Role) {
        let cmd = Command::Connect { parent: self.id(p), child: self.id(c), role };
        self.out.push(cmd);
    }

    /// Names `x`'s parent to it again where `x` reports it does not sit under it. A viewer
    /// re-joins so when its parent never called: that parent may still wait on a call the child
    /// had closed before it connected (seen in the relay test: 15 s), and a parent named again
    /// calls anew once its old call is `switch_timeout` old. Viewers that confirm where they sit
    /// (after our reload) cause no edge command.
    fn renew_parent_edge(&mut self, x: u32, at: Option<&Position>) {
        let p = self.nodes[x as usize].parent;
        if p == NONE || self.nodes[x as usize].flags & F_DETACHED != 0 {
            return;
        }
        if at.and_then(|a| a.parent.as_ref()).is_some_and(|a| *a == self.id(p)) {
            return;
        }
        self.connect(p, x, Role::Primary);
    }

    fn disconnect(&mut self, p: u32, c: u32) {
        let cmd = Command::Disconnect { parent: self.id(p), child: self.id(c) };
        self.out.push(cmd);
    }

    // ----- moving subtrees ------------------------------------------------------------------

    /// Takes `c` (with its subtree) out of the tree and out of every pool, so no search can pick
    /// a node inside it. `tell_parent`: the old parent gets a `drop` (make-before-break moves).
    fn detach(&mut self, c: u32, tell_parent: bool) -> u32 {
        let p = self.nodes[c as usize].parent;
        if p != NONE {
            if tell_parent {
                self.disconnect(p, c);
            }
            self.unlink_child(p, c);
            self.reindex(p);
            self.check_backing_limit(p);
        }
        let mut stack = std::mem::take(&mut self.scratch);
        stack.push(c);
        while let Some(x) = stack.pop() {
            self.unindex_node(x);
            self.nodes[x as usize].flags |= F_DETACHED;
            let mut k = self.nodes[x as usize].first_child;
            while k != NONE {
                stack.push(k);
                k = self.nodes[k as usize].next_sibling;
            }
        }
        self.scratch = stack;
        p
    }

    /// Hangs the detached subtree `c` under `p`: fixes depths and pools, opens the edge (or
    /// activates the standby edge if `p` was `c`'s standby) and re-checks affected standbys.
    fn attach(&mut self, c: u32, p: u32) {
        // A standby `p` may drop for its new child (`check_backing_limit` below).
        self.prefetch_ahead([self.nodes[p as usize].first_backed]);
        if self.nodes[c as usize].standby == p {
            self.unlink_standby(c); // the parked standby edge becomes the primary edge
        } else {
            self.connect(p, c, Role::Primary);
        }
        self.link_child(p, c);
        self.reindex(p);
        self.mark_dirty(c);
        // Depths and pools of the whole subtree; collect nodes whose standby may now be invalid:
        // `c` itself and whoever a moved node backs. Inside the subtree nothing else can break:
        // a node below `c` keeps its parent and that parent's subtree, so its standby stays
        // outside it (one held in a detached subtree is re-checked when that one is attached).
        let mut stack = std::mem::take(&mut self.scratch);
        let mut check = std::mem::take(&mut self.scratch2);
        stack.push(c);
        check.push(c);
        while let Some(x) = stack.pop() {
            self.set_depth(x);
            self.nodes[x as usize].flags &= !F_DETACHED;
            self.reindex(x);
            if self.nodes[x as usize].first_backed != NONE {
                check.push(self.nodes[x as usize].first_backed); // read below
            }
            let mut k = self.nodes[x as usize].first_child;
            while k != NONE {
                stack.push(k);
                k = self.nodes[k as usize].next_sibling;
            }
        }
        self.scratch = stack;
        self.read_backed_lists(&mut check);
        for &v in &check {
            self.recheck_standby(v);
        }
        check.clear();
        self.scratch2 = check;
        self.check_backing_limit(p);
        if self.nodes[p as usize].children > self.cap(p) {
            self.mark_overloaded(p);
        }
        // `c` may now sit where it may feed fewer (a child of the broadcaster feeds at most its
        // reserve): it drops the standbys it can no longer back, its excess children move like
        // any overload.
        self.check_backing_limit(c);
        if self.nodes[c as usize].children > self.cap(c) {
            self.mark_overloaded(c);
        }
    }

    /// `lists` is `c` then the first node of each backed list met in the walk; it becomes `c`
    /// then every node of those lists, in their order. The lists are read a step of each at a
    /// time: at 1M viewers every step is a cache miss, and steps of different lists need not
    /// wait for each other (read one list after another, they were a tenth of the time).
    fn read_backed_lists(&mut self, lists: &mut Vec<u32>) {
        if lists.len() == 2 {
            let mut v = self.nodes[lists[1] as usize].next_backed;
            while v != NONE {
                lists.push(v);
                v = self.nodes[v as usize].next_backed;
            }
            return;
        }
        // (list, node), a step of every list per round
        let mut walk = std::mem::take(&mut self.backed_walk);
        walk.extend(lists[1..].iter().enumerate().map(|(i, &v)| (i as u32, v)));
        let mut from = 0;
        while from < walk.len() {
            let to = walk.len();
            for j in from..to {
                let (i, v) = walk[j];
                let next = self.nodes[v as usize].next_backed;
                if next != NONE {
                    walk.push((i, next));
                }
            }
            from = to;
        }
        // Each round holds its steps in list order, so a stable counting sort by list puts every
        // list's steps in order (a comparison sort was 4% of the churn's instructions at 100k).
        let mut starts = std::mem::take(&mut self.backed_starts);
        starts.resize(lists.len() - 1, 0);
        for &(i, _) in &walk {
            starts[i as usize] += 1;
        }
        let mut at = 1;
        for start in starts.iter_mut() {
            at += std::mem::replace(start, at);
        }
        lists.resize(1 + walk.len(), NONE);
        for &(i, v) in &walk {
            lists[starts[i as usize] as usize] = v;
            starts[i as usize] += 1;
        }
        starts.clear();
        self.backed_starts = starts;
        walk.clear();
        self.backed_walk = walk;
    }

    fn recheck_standby(&mut self, v: u32) {
        let s = self.nodes[v as usize].standby;
        let depth_ok = self.nodes[v as usize].depth() >= 2;
        if s != NONE && (!depth_ok || !self.standby_valid(v, s)) {
            self.disconnect(s, v);
            self.unlink_standby(v);
            self.mark_dirty(v);
        }
        self.queue_standby(v);
    }

    /// Drops standbys beyond what `s` can back now (its spare slots shrank).
    fn check_backing_limit(&mut self, s: u32) {
        let limit = self.backing_limit(s);
        if self.nodes[s as usize].backed <= limit {
            return;
        }
        while self.nodes[s as usize].backed > limit {
            let v = self.nodes[s as usize].first_backed;
            self.disconnect(s, v);
            self.unlink_standby_unfiled(v);
            self.mark_dirty(v);
            self.queue_standby(v);
        }
        self.reindex(s);
    }

    fn queue_standby(&mut self, v: u32) {
        if self.needs_standby(v) && self.nodes[v as usize].flags & F_WANTS_STANDBY == 0 {
            self.nodes[v as usize].flags |= F_WANTS_STANDBY;
            self.standby_queue.push_back(v);
        }
    }

    fn mark_overloaded(&mut self, x: u32) {
        if self.nodes[x as usize].flags & F_OVERLOADED == 0 {
            self.nodes[x as usize].flags |= F_OVERLOADED;
            self.overloaded.push((x, self.now_ms));
        }
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: deterministic, seeded from the config.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A random index below `len`, from the generator's high bits: its low bits are weak (a
    /// two-item pool drew the same item eight times running).
    fn random_index(&mut self, len: usize) -> usize {
        (((self.next_random() >> 32) * len as u64) >> 32) as usize
    }

    // ----- standby choice -------------------------------------------------------------------

    /// Picks and connects a standby parent for `v`; false when none fits now.
    fn assign_standby(&mut self, v: u32) -> bool {
        if !self.needs_standby(v) {
            return true;
        }
        let mut chosen = self.choose_backer(v, NONE);
        if chosen == NONE {
            chosen = self.trade_backer(v);
        }
        if chosen == NONE {
            return false;
        }
        self.link_standby(chosen, v);
        self.connect(chosen, v, Role::Standby);
        self.mark_dirty(v);
        true
    }

    /// A backer for `v` other than `exclude`, or NONE.
    fn choose_backer(&mut self, v: u32, exclude: u32) -> u32 {
        // The children of the broadcaster's children (depth 2) are backed by the broadcaster's
        // reserve.
        if self.nodes[v as usize].depth() == 2
            && self.nodes[ROOT as usize].backed < self.backing_limit(ROOT)
        {
            return ROOT;
        }
        self.pick_backer(v, exclude)
    }

    /// Two peers never back each other, so a viewer whose only possible backers are viewers it
    /// backs itself would wait for good (seen in a real 8-viewer tree). Hands one of them, `w`,
    /// another backer and returns `w` to back `v` instead. NONE when no trade works.
    fn trade_backer(&mut self, v: u32) -> u32 {
        let mut w = self.nodes[v as usize].first_backed;
        for _ in 0..4 {
            if w == NONE {
                break;
            }
            let next = self.nodes[w as usize].next_backed;
            if self.nodes[w as usize].backed < self.backing_limit(w) {
                self.unlink_standby(w);
                if self.standby_valid(v, w) {
                    let other = self.choose_backer(w, v);
                    if other != NONE {
                        self.disconnect(v, w);
                        self.link_standby(other, w);
                        self.connect(other, w, Role::Standby);
                        self.mark_dirty(w);
                        return w;
                    }
                }
                self.link_standby(v, w); // no trade: as it was
            }
            w = next;
        }
        NONE
    }

    /// A few random candidates: a half-used shared slot first (it takes the standby without
    /// using up a slot), then backers below the shallowest free depth (placement fills that
    /// depth first, so a standby held there would soon be dropped to make room for a primary
    /// child), then a spare slot of its own over a shared one. NONE when none fits (`exclude`
    /// never fits).
    fn pick_backer(&mut self, v: u32, exclude: u32) -> u32 {
        let frontier = self.free_depth().unwrap_or(0);
        let mut best = NONE;
        let mut best_score = 0;
        for (tries, packs) in [(4, true), (8, false)] {
            for _ in 0..tries {
                let len = if packs { self.packs.items.len() } else { self.spare.items.len() };
                if len == 0 {
                    break;
                }
                let i = self.random_index(len);
                let s = if packs { self.packs.items[i] } else { self.spare.items[i] };
                let score = 1
                    + 4 * packs as u8
                    + 2 * (self.nodes[s as usize].depth() > frontier) as u8
                    + self.exclusive_room(s) as u8;
                if score > best_score && s != exclude && self.standby_valid(v, s) {
                    best = s;
                    best_score = score;
                    // Good enough: a half-used slot below the frontier, or a deep slot of its own.
                    if score >= 7 || (!packs && score >= 4) {
                        return best;
                    }
                }
            }
            if best_score >= 5 {
                return best;
            }
        }
        best
    }

    fn process_standby_queue(&mut self, budget: u32) {
        let mut retry = Vec::new();
        let mut done = 0;
        let mut failures = 0;
        // Prefetched 8 ahead of the one handled (32 at once: 1M joins and churn 10% slower, as
        // in `end_probations`); elsewhere than x86_64 the first 32 are read at once.
        if !prefetch::AVAILABLE {
            self.read_ahead(self.standby_queue.iter().take(budget.min(32) as usize).copied());
        }
        self.prefetch_ahead(self.standby_queue.iter().take(8).copied());
        // With capacity short most retries fail: stop early, the rest wait for later ticks.
        while done < budget && failures < 16 {
            let Some(v) = self.standby_queue.pop_front() else { break };
            if let Some(&ahead) = self.standby_queue.get(7) {
                self.prefetch_ahead([ahead]);
            }
            if !self.is_live(v) || self.nodes[v as usize].flags & F_WANTS_STANDBY == 0 {
                continue;
            }
            done += 1;
            if self.assign_standby(v) || !self.needs_standby(v) {
                self.nodes[v as usize].flags &= !F_WANTS_STANDBY;
            } else {
                failures += 1;
                retry.push(v);
            }
        }
        self.standby_queue.extend(retry);
    }

    // ----- events ---------------------------------------------------------------------------

    fn on_join(&mut self, peer: PeerId, slots: u8, at: Option<Position>) -> Result<(), Rejected> {
        if peer == self.config.broadcaster {
            return Err(Rejected::IsBroadcaster);
        }
        if slots > MAX_SLOTS {
            return Err(Rejected::SlotsOutOfRange);
        }
        let slots = self.clamp_slots(slots);
        let viewer_bytes = peer.viewer_bytes();
        if let Some(x) = self.find_parsed(&peer, viewer_bytes) {
            self.heard_from(x);
            // Already placed: a resync (lost messages, or a report after our restart).
            self.set_slots(x, slots);
            if let Some(at) = &at {
                self.adopt_report(x, at);
            }
            self.mark_dirty(x);
            self.renew_parent_edge(x, at.as_ref());
            return Ok(());
        }
        if self.viewers >= viewer_limit(&self.config) {
            self.out.push(Command::Wait { peer, retry_ms: self.config.retry_ms });
            return Ok(());
        }
        // A report of where it already sits (rebuild after our restart lost the state).
        if let Some(Position { parent: Some(rp), .. }) = &at {
            match self.find(rp).or((*rp == self.config.broadcaster).then_some(ROOT)) {
                None => {
                    // Its parent has not reported yet: ask it to retry shortly.
                    self.out.push(Command::Wait { peer, retry_ms: 250 });
                    return Ok(());
                }
                Some(p) if self.nodes[p as usize].parent != NONE || p == ROOT => {
                    if self.nodes[p as usize].children < self.cap(p) {
                        let x = self.alloc_parsed(peer, viewer_bytes, slots);
                        self.link_child(p, x);
                        self.reindex(p);
                        // Its new child may take a spare slot that backed a standby.
                        self.check_backing_limit(p);
                        self.set_depth(x);
                        self.reindex(x);
                        if p == ROOT {
                            self.connect(ROOT, x, Role::Primary);
                        }
                        self.adopt_reported_standby(x, at.as_ref().and_then(|a| a.standby.as_ref()));
                        self.mark_dirty(x);
                        self.queue_standby(x);
                        return Ok(());
                    }
                }
                Some(_) => {}
            }
            // It cannot stay where it sat: its old parent lets go of it.
            if *rp != self.config.broadcaster {
                self.out.push(Command::Disconnect { parent: rp.clone(), child: peer.clone() });
            }
        }
        self.place_new(peer, viewer_bytes, slots);
        Ok(())
    }

    fn adopt_reported_standby(&mut self, x: u32, reported: Option<&PeerId>) {
        let Some(s) = reported.and_then(|s| self.find(s)) else { return };
        if self.treecast()
            && self.nodes[x as usize].depth() >= 2
            && self.nodes[x as usize].standby == NONE
            && self.nodes[s as usize].backed < self.backing_limit(s)
            && self.standby_valid(x, s)
        {
            self.link_standby(s, x);
        }
    }

    /// A known viewer reports its position: follow it when it is valid (the viewer is fresher than
    /// a restored snapshot), otherwise the `assign` we send makes the viewer follow us.
    fn adopt_report(&mut self, x: u32, at: &Position) {
        let Some(rp) = &at.parent else { return };
        let p = if *rp == self.config.broadcaster { Some(ROOT) } else { self.find(rp) };
        let Some(p) = p else { return };
        let current = self.nodes[x as usize].parent;
        if p != current
            && p != x
            && self.reaches_root_avoiding(p, x)
            && self.nodes[p as usize].children < self.cap(p)
        {
            self.detach(x, true);
            let before = self.out.len();
            self.attach(x, p);
            if p != ROOT {
                // The viewer's edge to `p` exists already: no `feed`.
                self.forget_edge_commands(before, p, x);
            }
        }
        if self.nodes[x as usize].standby == NONE {
            self.adopt_reported_standby(x, at.standby.as_ref());
        }
    }

    /// Removes the `drop`/`feed` commands for edge p->c pushed since `start`.
    fn forget_edge_commands(&mut self, start: usize, p: u32, c: u32) {
        let (pid, cid) = (self.id(p), self.id(c));
        let mut i = start;
        while i < self.out.len() {
            let hit = match &self.out[i] {
                Command::Disconnect { parent, child } => *parent == pid && *child == cid,
                Command::Connect { parent, child, role: Role::Primary } => *parent == pid && *child == cid,
                _ => false,
            };
            if hit {
                self.out.remove(i);
            } else {
                i += 1;
            }
        }
    }

    /// Places a new viewer: take a phone's place if we can relay and a phone sits shallower than
    /// the shallowest free slot (the phone moves under us), else the shallowest free slot.
    /// A newcomer is on probation: it takes the place of a phone on probation only (a placed
    /// viewer is not moved under a relay nobody has seen feed yet; `take_phone_place` does it
    /// when the probation ends).
    fn place_new(&mut self, peer: PeerId, viewer_bytes: Option<[u8; 12]>, slots: u8) {
        let free_depth = self.free_depth();
        let probation = self.treecast() && self.config.probation_ms > 0;
        if self.treecast() && slots > 0 {
            if let Some((pd, phones)) = self.phones.shallowest() {
                let z = phones[phones.len() - 1];
                let movable = !probation || self.nodes[z as usize].flags & F_PROBATION != 0;
                if movable && free_depth.is_none_or(|fd| pd < fd + 1) {
                    let p = self.nodes[z as usize].parent;
                    let x = self.alloc_parsed(peer, viewer_bytes, slots);
                    if probation {
                        self.begin_probation(x);
                    }
                    self.detach(z, true);
                    self.attach(x, p);
                    self.attach(z, x);
                    self.moves += 1;
                    self.assign_standby(x);
                    self.assign_standby(z);
                    self.queue_standby(x);
                    self.queue_standby(z);
                    return;
                }
            }
        }
        let Some(p) = self.pick_slot(self.config.stable_slack) else {
            self.out.push(Command::Wait { peer, retry_ms: self.config.retry_ms });
            return;
        };
        let x = self.alloc_parsed(peer, viewer_bytes, slots);
        if probation {
            self.begin_probation(x);
        }
        self.attach(x, p);
        self.assign_standby(x);
        self.queue_standby(x);
    }

    fn begin_probation(&mut self, x: u32) {
        self.begin_probation_for(x, self.config.probation_ms);
    }

    /// Puts `x` on probation for `ms` (entries must come in order of their deadlines).
    fn begin_probation_for(&mut self, x: u32, ms: u64) {
        self.nodes[x as usize].flags |= F_PROBATION;
        let hash = self.node_hash(x);
        // Whole seconds, rounded up: 12 bytes an entry (memory per viewer is a target).
        let until_s = (self.now_ms + ms).div_ceil(1000).min(u32::MAX as u64) as u32;
        self.probation.push_back((x, hash, until_s));
    }

    /// The entry of a queue of (slot, id hash, deadline) still names the viewer in that slot.
    fn same_viewer(&self, x: u32, hash: u32) -> bool {
        self.is_live(x) && self.node_hash(x) == hash
    }

    /// Probations that ran out: those viewers' slots join the others'.
    fn end_probations(&mut self) {
        let now_ms = self.now_ms;
        let due = |e: &(u32, u32, u32)| e.2 as u64 * 1000 <= now_ms;
        if !prefetch::AVAILABLE {
            self.read_ahead(self.probation.iter().take_while(|e| due(e)).map(|e| e.0));
        }
        // Prefetched a few entries ahead, not all at once (a tick's hundred at once crowd one
        // another out: 1M joins 5% slower): the node 8 entries ahead, and the parent and first
        // backed node (`take_phone_place` moves it and re-checks those it backs) 4 ahead.
        self.prefetch_ahead(self.probation.iter().take(8).take_while(|e| due(e)).map(|e| e.0));
        while let Some(&(x, hash, until_s)) = self.probation.front() {
            if until_s as u64 * 1000 > self.now_ms {
                break;
            }
            self.probation.pop_front();
            if prefetch::AVAILABLE {
                if let Some(&(y, ..)) = self.probation.get(7).filter(|e| due(e)) {
                    self.prefetch_ahead([y]);
                }
                if let Some(&(y, ..)) = self.probation.get(3).filter(|e| due(e)) {
                    let n = &self.nodes[y as usize];
                    self.prefetch_ahead([n.first_backed, n.parent]);
                }
            }
            if self.same_viewer(x, hash) && self.nodes[x as usize].flags & F_PROBATION != 0 {
                self.unindex_node(x);
                self.nodes[x as usize].flags &= !F_PROBATION;
                self.reindex(x);
                self.take_phone_place(x);
            }
        }
    }

    /// A relay just past probation that is still a leaf takes the place of a phone sitting
    /// shallower than itself and no deeper than the free slots (the phone moves under it), as
    /// `place_new` does for a newcomer: so relays still end up nearer the broadcaster.
    fn take_phone_place(&mut self, x: u32) {
        let n = &self.nodes[x as usize];
        if n.children != 0 || n.slots() == 0 || n.flags & F_SUSPECT != 0 {
            return;
        }
        let depth = n.depth();
        let free_depth = self.free_depth();
        let Some((pd, phones)) = self.phones.shallowest() else { return };
        // As `place_new`: only a phone no deeper than the free slots (simulated: swapping with
        // any shallower phone made 13% more crash stalls).
        if pd >= depth || free_depth.is_some_and(|fd| pd > fd) {
            return;
        }
        let z = phones[phones.len() - 1];
        let p = self.nodes[z as usize].parent;
        self.detach(x, true);
        self.detach(z, true);
        self.attach(x, p);
        self.attach(z, x);
        self.moves += 2;
    }

    fn set_slots(&mut self, x: u32, slots: u8) {
        if self.nodes[x as usize].slots() == slots {
            return;
        }
        self.nodes[x as usize].set_slots_to(slots);
        self.reindex(x);
        self.check_backing_limit(x);
        if self.nodes[x as usize].children > self.cap(x) {
            self.mark_overloaded(x);
            self.fix_overloads();
        }
    }

    fn on_capacity(&mut self, peer: PeerId, slots: u8) -> Result<(), Rejected> {
        let x = self.lookup(&peer)?;
        if slots > MAX_SLOTS {
            return Err(Rejected::SlotsOutOfRange);
        }
        self.heard_from(x);
        let slots = self.clamp_slots(slots);
        self.set_slots(x, slots);
        Ok(())
    }

    fn on_parent_lost(&mut self, peer: PeerId, parent: PeerId) -> Result<(), Rejected> {
        let c = self.lookup(&peer)?;
        let p = if parent == self.config.broadcaster {
            ROOT
        } else {
            self.find(&parent).ok_or(Rejected::NotRelated)?
        };
        if self.nodes[c as usize].standby == p {
            // Its standby edge died: find another.
            self.unlink_standby(c);
            self.mark_dirty(c);
            self.queue_standby(c);
            return Ok(());
        }
        if self.nodes[c as usize].parent != p {
            return Err(Rejected::NotRelated);
        }
        self.heard_from(c);
        // Until its own parent confirms it (or it is heard from), the silent parent takes no one
        // new: not `c` back, not a joiner, not a standby.
        self.suspect(p);
        // It switched to its standby on its own; mirror that, or re-place it if it had none.
        let near = self.nodes[p as usize].parent;
        self.detach(c, false);
        self.rehome(c, true, if near == NONE { ROOT } else { near });
        Ok(())
    }

    fn suspect(&mut self, x: u32) {
        if x == ROOT || !self.treecast() || self.nodes[x as usize].flags & F_SUSPECT != 0 {
            return;
        }
        self.nodes[x as usize].flags |= F_SUSPECT;
        self.unindex_node(x);
        let id = self.id(x);
        self.suspects.push_back((x, id, self.now_ms));
    }

    /// `x` sent us something: it is not lost, whatever a child said.
    fn heard_from(&mut self, x: u32) {
        if self.nodes[x as usize].flags & F_SUSPECT != 0 {
            self.nodes[x as usize].flags &= !F_SUSPECT;
            self.reindex(x);
        }
    }

    /// Suspicions older than `suspect_ms` that nobody confirmed are dropped.
    fn expire_suspects(&mut self) {
        while let Some(&(_, _, since)) = self.suspects.front() {
            if since + self.config.suspect_ms > self.now_ms {
                break;
            }
            let (x, id, _) = self.suspects.pop_front().expect("non-empty");
            // The slot may hold another viewer by now, or the same one cleared and suspected anew.
            if self.is_live(x) && self.id(x) == id && !self.suspects.iter().any(|e| e.0 == x) {
                self.heard_from(x);
            }
        }
    }

    fn on_child_lost(&mut self, peer: PeerId, child: PeerId) -> Result<(), Rejected> {
        let p = if peer == self.config.broadcaster { ROOT } else { self.lookup(&peer)? };
        let c = self.find(&child).ok_or(Rejected::NotRelated)?;
        if self.nodes[c as usize].parent == p || self.nodes[c as usize].standby == p {
            self.heard_from(p);
        }
        if self.nodes[c as usize].parent == p {
            self.remove(c);
            return Ok(());
        }
        if self.nodes[c as usize].standby == p {
            self.unlink_standby(c);
            self.mark_dirty(c);
            self.queue_standby(c);
            return Ok(());
        }
        Err(Rejected::NotRelated)
    }

    /// A detached subtree root without a parent: its standby if it can take it, else the
    /// shallowest free slot. With no free slot outside its own subtree it stays in the tree over
    /// capacity: under its standby (which it already plays from, or switches to on `leaving`),
    /// else under `near`'s closest ancestor that is not suspect (`near` is where its stream came
    /// from: the silent parent's parent, or the departed relay's parent). That is the documented
    /// overload transient, moved by `fix_overloads` as soon as a slot frees. Nobody is ever told
    /// to wait here: evicting a subtree root re-places its whole subtree, which near the top of
    /// the tree is the whole audience.
    ///
    /// `on_standby`: `c` already plays from its standby (it said so): it stays there even if that
    /// takes the backer over capacity, rather than being sent to a free slot, which might be
    /// under its silent parent.
    fn rehome(&mut self, c: u32, on_standby: bool, near: u32) {
        let s = self.nodes[c as usize].standby;
        // `c`'s subtree is detached, so its standby is attached (reaches the root, not through
        // `c`) exactly when it is not marked detached: no walk up the tree.
        let standby_ok = s != NONE && self.nodes[s as usize].flags & F_DETACHED == 0;
        debug_assert_eq!(standby_ok, s != NONE && self.reaches_root_avoiding(s, c));
        if standby_ok && (on_standby || self.nodes[s as usize].children < self.cap(s)) {
            self.attach(c, s);
            self.mark_reposition(c);
            return;
        }
        if let Some(p) = self.pick_slot(self.config.stable_slack) {
            self.attach(c, p);
            return;
        }
        let p = if standby_ok { s } else { self.placeable_ancestor(near) };
        self.attach(c, p);
        self.mark_reposition(c);
    }

    /// `x` or its closest ancestor that is not suspect (the broadcaster never is).
    fn placeable_ancestor(&self, mut x: u32) -> u32 {
        while x != ROOT && self.nodes[x as usize].flags & F_SUSPECT != 0 {
            x = self.nodes[x as usize].parent;
        }
        x
    }

    fn mark_reposition(&mut self, c: u32) {
        if self.treecast() && self.nodes[c as usize].flags & F_REPOSITION == 0 {
            self.nodes[c as usize].flags |= F_REPOSITION;
            self.reposition_queue.push_back(c);
        }
    }

    /// The nodes `x` backed lose their standby (x is going away).
    fn release_backed(&mut self, x: u32) {
        if self.nodes[x as usize].first_backed == NONE {
            return;
        }
        while self.nodes[x as usize].first_backed != NONE {
            let v = self.nodes[x as usize].first_backed;
            self.unlink_standby_unfiled(v);
            self.mark_dirty(v);
            self.queue_standby(v);
        }
        self.reindex(x);
    }

    /// A viewer leaves or is lost. Its children already switched to their standbys (treecast):
    /// the deepest idle relay takes its place and adopts them (make-before-break moves), so the
    /// tree keeps its shape; children it cannot adopt keep their standby as parent or are re-homed.
    fn remove(&mut self, x: u32) {
        let p = self.nodes[x as usize].parent;
        let s = self.nodes[x as usize].standby;
        let n = &self.nodes[x as usize];
        self.read_ahead([p, s, n.first_child, n.first_backed]);
        if prefetch::AVAILABLE && n.children > 0 && self.treecast() {
            // The first replacement candidates `find_replacement` reads.
            let mut first = [NONE; 4];
            if let Some((_, list)) = self.idle_relays.deepest() {
                first.iter_mut().zip(list.iter().rev()).for_each(|(f, &l)| *f = l);
            }
            self.prefetch_ahead(first);
        }
        if s != NONE {
            self.disconnect(s, x);
            self.unlink_standby(x);
        }
        self.release_backed(x);
        let depth = self.nodes[x as usize].depth();
        let branch = self.nodes[x as usize].branch;
        let has_children = self.nodes[x as usize].children > 0;
        // Pick the replacement while every leaf is still attached (it may sit below `x`).
        let replacement = if has_children {
            self.find_replacement(x, depth, self.nodes[x as usize].children)
        } else {
            None
        };
        if let Some(l) = replacement {
            let from_x = self.nodes[l as usize].parent == x;
            self.detach(l, !from_x);
        }
        // Unlink the children without walking their subtrees: the adopted ones keep their depth
        // and pools (the replacement sits exactly where `x` sat), the others are detached below.
        let mut orphans = std::mem::take(&mut self.orphan_buf);
        self.unindex_node(x);
        while self.nodes[x as usize].first_child != NONE {
            let k = self.nodes[x as usize].first_child;
            self.unlink_child(x, k);
            orphans.push(k);
        }
        self.detach(x, true);
        self.dealloc(x);
        if has_children {
            self.repairs += 1;
        }
        let mut adopt = 0;
        if let Some(l) = replacement {
            self.attach(l, p);
            // The adopted subtrees keep their labels: `l` takes `x`'s (it differs only at a
            // label depth, where it was `x`'s own).
            self.nodes[l as usize].branch = branch;
            self.moves += 1;
            adopt = (self.cap(l) as usize).min(orphans.len());
        }
        let rest: Vec<u32> = orphans.drain(adopt..).collect();
        for &c in &rest {
            self.detach(c, false);
        }
        if let Some(l) = replacement {
            for &c in orphans.iter() {
                self.adopt_in_place(c, l);
                self.moves += 1;
            }
            self.queue_standby(l);
        }
        orphans.clear();
        self.orphan_buf = orphans;
        for c in rest {
            self.rehome(c, false, p);
        }
    }

    /// Hangs the unlinked child `c` of a removed node under its replacement `l`, which sits where
    /// the removed node sat: depths are unchanged, so its subtree is not walked. `c`'s standby
    /// was outside the removed node's subtree, and `l`'s subtree is that one's part `l` adopts
    /// plus `l` itself, so it stays valid unless it is `l` (then it becomes the primary edge);
    /// a standby inside a subtree still detached is re-checked when that one is attached.
    /// `l`'s own backed list was re-checked by `attach`.
    fn adopt_in_place(&mut self, c: u32, l: u32) {
        if self.nodes[c as usize].standby == l {
            self.unlink_standby(c);
        } else {
            self.connect(l, c, Role::Primary);
        }
        self.link_child(l, c);
        self.reindex(l);
        self.mark_dirty(c);
        self.queue_standby(c);
        self.check_backing_limit(l);
        if self.nodes[l as usize].children > self.cap(l) {
            self.mark_overloaded(l);
        }
    }

    /// The leaf that takes `x`'s place: a childless child of `x` that can feed its siblings,
    /// else the deepest idle relay that can (bounded search); seed: the deepest leaf.
    fn find_replacement(&mut self, x: u32, depth: u32, need: u16) -> Option<u32> {
        if !self.treecast() {
            let (_, list) = self.idle_relays.deepest()?;
            return Some(list[list.len() - 1]);
        }
        let mut best = None;
        let mut best_cap = 0;
        // A viewer on probation adopts children only when no other can (as in a flash crowd,
        // where everyone is new): adopting them is feeding them.
        let (mut unproven, mut unproven_cap) = (None, 0);
        // A childless child of `x` that can feed its siblings comes after any idle relay outside
        // `x`'s subtree: it is failing over itself right now, and siblings moved under it would
        // freeze with it. One deeper in the subtree comes last: fed through a failing-over
        // child, it would for a moment feed the very viewers it is fed by.
        let mut sibling = None;
        let mut inside = None;
        let mut k = self.nodes[x as usize].first_child;
        while k != NONE {
            if self.nodes[k as usize].children == 0 {
                let cap = self.cap_at(k, depth);
                if cap + 1 >= need {
                    if self.nodes[k as usize].flags & F_PROBATION == 0 {
                        sibling = sibling.or(Some(k));
                    } else if unproven.is_none() {
                        (unproven, unproven_cap) = (Some(k), need);
                    }
                }
            }
            k = self.nodes[k as usize].next_sibling;
        }
        let mut tried = 0;
        'outer: for (_, list) in self.idle_relays.iter_deepest_first() {
            for &l in list.iter().rev() {
                if self.nodes[l as usize].parent == x {
                    continue; // a sibling, counted above
                }
                tried += 1;
                let cap = self.cap_at(l, depth);
                if !self.outside_subtree(l, x, depth) {
                    if cap >= need {
                        inside = inside.or(Some(l));
                    }
                    if tried >= 32 {
                        break 'outer;
                    }
                    continue;
                }
                if cap >= need {
                    best = Some(l);
                    best_cap = cap;
                    break 'outer;
                }
                if cap > best_cap {
                    best = Some(l);
                    best_cap = cap;
                }
                if tried >= 32 {
                    break 'outer;
                }
            }
        }
        if best_cap >= need || sibling.is_some() || inside.is_some() {
            return if best_cap >= need { best } else { sibling.or(inside) };
        }
        if best.is_some() || unproven_cap >= need {
            return best.or(unproven);
        }
        let mut tried = 0;
        'outer: for (_, list) in self.idle_new.iter_deepest_first() {
            for &l in list.iter().rev() {
                tried += 1;
                let cap = self.cap_at(l, depth);
                if cap > unproven_cap {
                    unproven = Some(l);
                    unproven_cap = cap;
                }
                if cap >= need || tried >= 32 {
                    break 'outer;
                }
            }
        }
        best.or(unproven)
    }

    fn cap_at(&self, x: u32, depth: u32) -> u16 {
        let n = &self.nodes[x as usize];
        match self.config.policy {
            Policy::Seed => self.config.seed_fanout as u16,
            Policy::Treecast if depth == 1 && self.config.broadcaster_reserve > 0 => {
                n.slots().min(self.config.broadcaster_reserve) as u16
            }
            Policy::Treecast => n.slots() as u16,
        }
    }

    // ----- ticks ----------------------------------------------------------------------------

    fn on_tick(&mut self) {
        if !self.treecast() {
            return;
        }
        self.expire_suspects();
        self.end_probations();
        self.fix_overloads();
        self.process_standby_queue(self.config.standbys_per_tick);
        let mut budget = self.config.moves_per_tick;
        budget -= self.reposition(budget);
        self.settle(budget);
    }

    fn overload_overdue(&self) -> bool {
        let grace = self.config.overload_grace_ms;
        self.overloaded.iter().any(|&(_, since)| self.now_ms.saturating_sub(since) > grace)
    }

    /// Moves excess children of overloaded nodes to free slots outside their own subtrees.
    fn fix_overloads(&mut self) {
        let list = std::mem::take(&mut self.overloaded);
        let mut keep = Vec::new();
        for (x, since) in list {
            if !self.is_live(x) || self.nodes[x as usize].flags & F_OVERLOADED == 0 {
                continue;
            }
            while self.nodes[x as usize].children > self.cap(x) {
                let c = self.nodes[x as usize].first_child;
                let before = self.out.len();
                self.detach(c, true);
                let target = self.pick_slot(self.config.stable_slack);
                match target {
                    Some(t) if t != x => {
                        self.attach(c, t);
                        self.moves += 1;
                    }
                    _ => {
                        // Nowhere else: stays (over capacity until room appears).
                        self.attach(c, x);
                        self.forget_edge_commands(before, x, c);
                        break;
                    }
                }
            }
            if self.nodes[x as usize].children > self.cap(x) {
                keep.push((x, since));
            } else {
                self.nodes[x as usize].flags &= !F_OVERLOADED;
            }
        }
        keep.extend(std::mem::take(&mut self.overloaded));
        // A node may have been re-marked while we worked; keep one entry each.
        keep.sort_unstable();
        keep.dedup_by_key(|e| e.0);
        self.overloaded = keep;
    }

    /// Failed-over subtrees move up to a shallower free slot when one exists.
    fn reposition(&mut self, budget: u32) -> u32 {
        let mut used = 0;
        let mut rounds = self.reposition_queue.len();
        self.read_ahead(self.reposition_queue.iter().take(2 * budget as usize).copied());
        while used < budget && rounds > 0 {
            rounds -= 1;
            let Some(c) = self.reposition_queue.pop_front() else { break };
            if !self.is_live(c) || self.nodes[c as usize].flags & F_REPOSITION == 0 {
                continue;
            }
            self.nodes[c as usize].flags &= !F_REPOSITION;
            let (depth, parent) = (self.nodes[c as usize].depth(), self.nodes[c as usize].parent);
            let Some((fd, list)) = self.slot_pools().0.shallowest() else { continue };
            if fd + 1 >= depth {
                continue;
            }
            // A free slot is attached and shallower than `c`, so never in its subtree.
            let target = list.iter().rev().take(8).copied().find(|&t| t != parent);
            debug_assert!(target.is_none_or(|t| self.reaches_root_avoiding(t, c)));
            if let Some(t) = target {
                self.detach(c, true);
                self.attach(c, t);
                self.moves += 1;
                used += 1;
            }
        }
        used
    }

    /// Moves the deepest leaves into the shallowest free slots until no leaf sits deeper than a
    /// free slot could hold it: that keeps depth <= log_k(n) + 2 for uniform capacity k.
    fn settle(&mut self, budget: u32) {
        for _ in 0..budget {
            let Some(fd) = self.free_depth() else { return };
            let Some(t) = self.pick_slot(0) else { return };
            let proven = self.idle_relays.deepest().map(|(d, l)| (d, l[l.len() - 1]));
            let new = self.idle_new.deepest().map(|(d, l)| (d, l[l.len() - 1]));
            // At equal depth the newcomer: it was indexed last (as in one shared pool).
            let relay = match (proven, new) {
                (Some(a), Some(b)) => Some(if a.0 > b.0 { a } else { b }),
                (a, b) => a.or(b),
            };
            let phone = self.phones.deepest().map(|(d, l)| (d, l[l.len() - 1]));
            let leaf = match (relay, phone) {
                (Some(a), Some(b)) => Some(if a.0 >= b.0 { a } else { b }),
                (a, b) => a.or(b),
            };
            let Some((ld, x)) = leaf else { return };
            if ld <= fd + 1 || x == t {
                return;
            }
            self.detach(x, true);
            self.attach(x, t);
            self.moves += 1;
        }
    }

    /// True when no depth-restoring move is pending (the tree has settled).
    pub fn is_settled(&mut self) -> bool {
        if !self.treecast() {
            return true;
        }
        let fd = self.free_depth();
        let ld = [
            self.idle_relays.deepest().map(|(d, _)| d),
            self.idle_new.deepest().map(|(d, _)| d),
            self.phones.deepest().map(|(d, _)| d),
        ]
            .into_iter()
            .flatten()
            .max();
        let leaves_ok = match (fd, ld) {
            (Some(fd), Some(ld)) => ld <= fd + 1,
            _ => true,
        };
        // A suspect's free slots are out of sight until its suspicion is resolved.
        // So are the slots of viewers on probation while others have room.
        leaves_ok && self.reposition_queue.is_empty() && self.suspects.is_empty() && self.probation.is_empty()
    }

    // ----- read-only ------------------------------------------------------------------------

    pub fn stats(&self) -> Stats {
        let mut s = Stats {
            viewers: self.viewers,
            repairs: self.repairs,
            moves: self.moves,
            rejected: self.rejected,
            ..Stats::default()
        };
        let mut depth_sum = 0u64;
        for (i, n) in self.nodes.iter().enumerate().skip(1) {
            if n.flags & F_LIVE == 0 || n.parent == NONE {
                continue;
            }
            depth_sum += n.depth() as u64;
            s.max_depth = s.max_depth.max(n.depth());
            if self.treecast() && n.depth() >= 2 {
                s.needing_standby += 1;
                if n.standby != NONE {
                    s.with_standby += 1;
                }
            }
            if n.children > self.cap(i as u32) {
                s.overloaded += 1;
            }
        }
        s.mean_depth = if self.viewers > 0 { depth_sum as f64 / self.viewers as f64 } else { 0.0 };
        s.standby_coverage = if s.needing_standby > 0 {
            s.with_standby as f64 / s.needing_standby as f64
        } else {
            1.0
        };
        s
    }

    /// Every viewer with its position (O(n); for dashboards and tests).
    pub fn view(&self) -> Vec<NodeView> {
        let mut sizes = vec![1u32; self.nodes.len()];
        // Children are deeper than parents: accumulate from the deepest up.
        let mut order: Vec<u32> = (1..self.nodes.len() as u32).filter(|&x| self.is_live(x)).collect();
        order.sort_unstable_by_key(|&x| std::cmp::Reverse(self.nodes[x as usize].depth()));
        for &x in &order {
            let p = self.nodes[x as usize].parent;
            if p != NONE {
                sizes[p as usize] += sizes[x as usize];
            }
        }
        order.reverse();
        order
            .into_iter()
            .filter(|&x| self.nodes[x as usize].parent != NONE)
            .map(|x| {
                let n = &self.nodes[x as usize];
                let mut children = Vec::new();
                let mut k = n.first_child;
                while k != NONE {
                    children.push(self.id(k));
                    k = self.nodes[k as usize].next_sibling;
                }
                NodeView {
                    id: self.id(x),
                    parent: self.id(n.parent),
                    standby: (n.standby != NONE).then(|| self.id(n.standby)),
                    children,
                    depth: n.depth(),
                    slots: n.slots(),
                    subtree_size: sizes[x as usize],
                }
            })
            .collect()
    }

    /// Where a viewer sits (O(1), for the event log and the health board); `None` for the
    /// broadcaster and unknown peers.
    pub fn placement(&self, peer: &PeerId) -> Option<Placement> {
        let x = self.find(peer)?;
        let n = &self.nodes[x as usize];
        if x == ROOT || n.parent == NONE {
            return None;
        }
        Some(Placement {
            parent: self.id(n.parent),
            standby: (n.standby != NONE).then(|| self.id(n.standby)),
            depth: n.depth(),
            children: n.children,
        })
    }

    /// The primary children of a viewer or of the broadcaster (O(children)).
    pub fn children_of(&self, peer: &PeerId) -> Vec<PeerId> {
        let x = if *peer == self.config.broadcaster { ROOT } else { self.find(peer).unwrap_or(NONE) };
        let mut out = Vec::new();
        if x == NONE {
            return out;
        }
        let mut k = self.nodes[x as usize].first_child;
        while k != NONE {
            out.push(self.id(k));
            k = self.nodes[k as usize].next_sibling;
        }
        out
    }

    /// Viewers below `peer` (O(size of that subtree)).
    pub fn subtree_size(&self, peer: &PeerId) -> u32 {
        let Some(x) = self.find(peer) else { return 0 };
        let mut count = 0;
        let mut stack = vec![self.nodes[x as usize].first_child];
        while let Some(mut k) = stack.pop() {
            while k != NONE {
                count += 1;
                stack.push(self.nodes[k as usize].first_child);
                k = self.nodes[k as usize].next_sibling;
            }
        }
        count
    }

    /// Whether `peer` is a placed viewer or the broadcaster.
    pub fn is_live_peer(&self, peer: &PeerId) -> bool {
        *peer == self.config.broadcaster || self.find(peer).is_some()
    }

    pub fn viewer_count(&self) -> u32 {
        self.viewers
    }
}

#[cfg(test)]
mod tests;

/// Makes `x` a member (last) or not of one depth pool, given whether it is one now, keeping
/// every member's stored position (`k` of `Positions`) right.
#[inline(always)] // `k` and `is`/`want` are mostly constants at the call: most of it folds away
fn set_bucket(pool: &mut DepthBuckets, nodes: &mut [Node], x: u32, depth: u32, is: bool, want: bool, k: usize) {
    match (is, want) {
        (false, true) => {
            let at = pool.insert(depth, x);
            nodes[x as usize].pos.set(k, at);
        }
        (true, false) => {
            let at = nodes[x as usize].pos.get(k);
            nodes[x as usize].pos.set(k, NOT_IN);
            if let Some(m) = pool.remove(depth, at) {
                nodes[m as usize].pos.set(k, at);
            }
        }
        (true, true) => {
            let at = nodes[x as usize].pos.get(k);
            if let Some(m) = pool.bump(depth, at) {
                nodes[m as usize].pos.set(k, at);
                nodes[x as usize].pos.set(k, pool.last_pos(depth));
            }
        }
        (false, false) => {}
    }
}

#[inline(always)]
fn set_flat(pool: &mut FlatPool, nodes: &mut [Node], x: u32, is: bool, want: bool) {
    match (is, want) {
        (false, true) => {
            let at = pool.insert(x);
            nodes[x as usize].pos.set(SPARE_POS, at);
        }
        (true, false) => {
            let at = nodes[x as usize].pos.get(SPARE_POS);
            nodes[x as usize].pos.set(SPARE_POS, NOT_IN);
            if let Some(m) = pool.remove(at) {
                nodes[m as usize].pos.set(SPARE_POS, at);
            }
        }
        (true, true) => {
            let at = nodes[x as usize].pos.get(SPARE_POS);
            if let Some(m) = pool.bump(at) {
                nodes[m as usize].pos.set(SPARE_POS, at);
                nodes[x as usize].pos.set(SPARE_POS, (pool.items.len() - 1) as u32);
            }
        }
        (false, false) => {}
    }
}
