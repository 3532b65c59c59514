//! The streamer's dashboard as the broadcaster node feeds it (pure Rust, no I/O):
//!
//! - the event log, derived from what the coordinator is told and what it answers: `before` notes
//!   what an event is about while the tree still shows it, `after` reads the outcome and the
//!   `assign` commands (a changed parent is a move);
//! - the viewers' health reports that reach the broadcaster through its children's edges;
//! - the frame the dashboard page draws, built only when the page asks for it (one JSON text).

use std::collections::HashMap;

use serde::Serialize;

use crate::core::coordinator::{Command, Coordinator, Event};
use crate::core::health::{Figures, HealthBoard, Level, Record, Refused};
use crate::core::ids::PeerId;
use crate::core::relay_log::{Entry, Kind, RelayLog, Via, STALL_WINDOW_MS};

/// What an event is about, noted before the coordinator applies it.
#[derive(Debug)]
pub enum Pending {
    Nothing,
    Join { peer: PeerId, rejoin: bool },
    Departure { peer: PeerId, kind: Kind, via: Option<Via>, depth: u32, below: u32, children: Vec<PeerId> },
    /// `peer` lost its primary parent `lost` and switched to its standby `standby`.
    Activation { peer: PeerId, lost: PeerId, standby: PeerId },
}

#[derive(Debug)]
struct Position {
    parent: PeerId,
}

pub struct Dashboard {
    me: PeerId,
    board: HealthBoard,
    log: RelayLog,
    /// Each viewer's parent as last assigned (to tell moves apart); bounded by the tree.
    positions: HashMap<PeerId, Position>,
    /// Departures that cost viewers their upstream since this page started (the log's repairs,
    /// counted as the log marks them: the coordinator's own count misses a relay whose children
    /// had already switched to their standbys when its loss was confirmed).
    repairs: u64,
}

/// The frame the dashboard page draws.
#[derive(Debug, Serialize)]
pub struct Frame<'a> {
    pub at_ms: u64,
    pub broadcaster: &'a PeerId,
    pub epoch: u32,
    pub summary: Summary,
    /// One row per depth, from depth 1.
    pub levels: Vec<LevelRow>,
    /// Every viewer, parents before children; absent above the page's `max_nodes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Vec<NodeRow>>,
    /// Log entries from the page's cursor on.
    pub events: Vec<&'a Entry>,
    pub next_seq: u64,
    /// The oldest entry still held (older ones were dropped from the bounded log).
    pub first_seq: u64,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub viewers: u32,
    pub max_depth: u32,
    pub mean_depth: f64,
    pub with_standby: u32,
    pub needing_standby: u32,
    pub standby_coverage: f64,
    /// Relay departures that cost viewers their upstream in the last 60 s.
    pub repairs_last_minute: u32,
    /// The same since the page started.
    pub repairs: u64,
    pub moves: u64,
    /// Viewers by health class, from the reports summed up the tree; `unknown`: not reporting.
    pub ok: u64,
    pub warn: u64,
    pub bad: u64,
    pub unknown: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct LevelRow {
    pub depth: u32,
    pub viewers: u32,
    /// Viewers of this level feeding at least one child.
    pub relays: u32,
    pub with_standby: u32,
    /// Health reported for this level (see `core::health::Level`).
    pub ok: u32,
    pub warn: u32,
    pub bad: u32,
    pub fps_sum: u32,
}

/// `[id, parent, standby, depth, slots, children, subtree, health]`: `parent` and `standby` are
/// indices into `nodes` (-1: the broadcaster; `standby` null: none); `subtree` counts the viewer.
#[derive(Debug, Serialize)]
pub struct NodeRow(PeerId, i64, Option<i64>, u32, u8, u32, u32, Option<NodeHealth>);

/// `[fps, gap_ms, stalls, used, age_ms, recent_peak_ms]`: the latest report and how old it is,
/// and the longest gap this viewer reported in the last `health::PEAK_MS`.
#[derive(Debug, Serialize)]
pub struct NodeHealth(u8, u32, u16, u8, u64, u32);

const REPAIR_WINDOW_MS: u64 = 60_000;

impl Dashboard {
    pub fn new(me: PeerId) -> Dashboard {
        Dashboard { me, board: HealthBoard::new(), log: RelayLog::new(), positions: HashMap::new(), repairs: 0 }
    }

    /// The broadcaster's page reloaded: the tree came back from storage (or not, `error`).
    pub fn restored(&mut self, now_ms: u64, coordinator: &Coordinator, error: Option<&str>) {
        for n in coordinator.view() {
            self.positions.insert(n.id, Position { parent: n.parent });
        }
        let mut e = Entry::new(Kind::Reload, None);
        e.below = Some(coordinator.viewer_count());
        e.note = error.map(crate::node::wire::truncate);
        self.log.push(now_ms, e);
    }

    /// Notes what `event` is about while the tree still shows it.
    pub fn before(&self, coordinator: &Coordinator, event: &Event) -> Pending {
        let departure = |peer: &PeerId, kind, via| match coordinator.placement(peer) {
            Some(p) => Pending::Departure {
                peer: peer.clone(),
                kind,
                via,
                depth: p.depth,
                below: coordinator.subtree_size(peer),
                children: coordinator.children_of(peer),
            },
            None => Pending::Nothing,
        };
        match event {
            Event::Join { peer, at, .. } if !coordinator.is_live_peer(peer) => Pending::Join { peer: peer.clone(), rejoin: at.is_some() },
            Event::Leave { peer } => departure(peer, Kind::Leave, None),
            Event::Lost { peer } => departure(peer, Kind::Loss, Some(Via::Server)),
            Event::ChildLost { peer, child } if coordinator.placement(child).is_some_and(|p| p.parent == *peer) => {
                departure(child, Kind::Loss, Some(Via::Parent))
            }
            Event::ParentLost { peer, parent } => match coordinator.placement(peer) {
                Some(p) if p.parent == *parent => match p.standby {
                    Some(standby) => Pending::Activation { peer: peer.clone(), lost: parent.clone(), standby: standby.clone() },
                    // No standby: the coordinator re-places it, which the log shows as a move.
                    None => Pending::Nothing,
                },
                _ => Pending::Nothing,
            },
            _ => Pending::Nothing,
        }
    }

    /// Logs what the event did: `commands` are the ones the coordinator produced for it.
    pub fn after(&mut self, now_ms: u64, pending: Pending, applied: bool, commands: &[Command], coordinator: &Coordinator) {
        let mut cause = None;
        match pending {
            _ if !applied => {}
            Pending::Join { peer, rejoin: false } => {
                if let Some(p) = coordinator.placement(&peer) {
                    let mut e = Entry::new(Kind::Join, Some(peer.clone()));
                    e.to = Some(p.parent.clone());
                    e.depth = Some(p.depth);
                    self.log.push(now_ms, e);
                }
            }
            Pending::Departure { peer, kind, via, depth, below, mut children } if !coordinator.is_live_peer(&peer) => {
                self.positions.remove(&peer);
                self.board.forget(&peer);
                let mut e = Entry::new(kind, Some(peer.clone()));
                e.depth = Some(depth);
                e.below = Some(below);
                e.via = via;
                let seq = self.log.push(now_ms, e);
                // Its viewers: its children now, and those that already switched away from it.
                let since = now_ms.saturating_sub(STALL_WINDOW_MS);
                let switched = |e: &&Entry| matches!(e.kind, Kind::Standby | Kind::Move) && e.from.as_ref() == Some(&peer);
                for e in self.log.recent(since).filter(switched) {
                    if let Some(p) = e.peer.as_ref().filter(|p| !children.contains(p)) {
                        children.push(p.clone());
                    }
                }
                let board = &self.board;
                self.log.watch(seq, now_ms, &children, |p| recent_gap(board, p, now_ms));
                if !children.is_empty() {
                    self.repairs += 1;
                }
                cause = Some(seq);
            }
            Pending::Activation { peer, lost, standby } => {
                let mut e = Entry::new(Kind::Standby, Some(peer.clone()));
                e.from = Some(lost);
                e.to = Some(standby.clone());
                e.depth = coordinator.placement(&peer).map(|p| p.depth);
                e.below = Some(coordinator.subtree_size(&peer));
                let seq = self.log.push(now_ms, e);
                let board = &self.board;
                self.log.watch(seq, now_ms, std::slice::from_ref(&peer), |p| recent_gap(board, p, now_ms));
                // It plays from its standby now; if the coordinator places it elsewhere, that is a move.
                self.positions.insert(peer, Position { parent: standby });
                cause = Some(seq);
            }
            _ => {}
        }
        for c in commands {
            match c {
                Command::Assign { child, parent, depth, .. } => {
                    let before = self.positions.insert(child.clone(), Position { parent: parent.clone() });
                    let Some(before) = before.filter(|b| b.parent != *parent) else { continue };
                    let mut e = Entry::new(Kind::Move, Some(child.clone()));
                    e.from = Some(before.parent);
                    e.to = Some(parent.clone());
                    e.depth = Some(*depth);
                    e.below = Some(coordinator.subtree_size(child));
                    e.cause = cause;
                    self.log.push(now_ms, e);
                }
                Command::Wait { peer, .. } => {
                    self.positions.remove(peer);
                }
                _ => {}
            }
        }
    }

    /// A `health` report on the edge from `child`: kept if `child` is one of the broadcaster's
    /// own children, with the records of viewers the tree places below it.
    pub fn on_health(
        &mut self,
        now_ms: u64,
        child: &PeerId,
        me: Figures,
        lv: Vec<Level>,
        r: Vec<Record>,
        coordinator: &Coordinator,
    ) -> Result<(), Refused> {
        if coordinator.placement(child).is_none_or(|p| p.parent != self.me) {
            return Err(Refused::NotAChild);
        }
        let taken = self.board.from_child(now_ms, child, me, lv, r, |id| is_at_or_below(coordinator, id, child))?;
        for rec in &taken {
            self.log.on_report(now_ms, &rec.id, rec.figures.gap_ms);
        }
        Ok(())
    }

    pub fn log(&self) -> &RelayLog {
        &self.log
    }

    pub fn board(&self) -> &HealthBoard {
        &self.board
    }

    /// The frame for the dashboard page (O(viewers)): log entries from `since`, every node when
    /// there are at most `max_nodes`, levels always.
    pub fn frame_json(&mut self, now_ms: u64, coordinator: &Coordinator, epoch: u32, since: u64, max_nodes: u32) -> String {
        // Forget viewers that left in ways the log did not see (bounded by the tree).
        if self.board.len() > coordinator.viewer_count() as usize {
            self.board.retain(|p| coordinator.is_live_peer(p));
        }
        if self.positions.len() > coordinator.viewer_count() as usize {
            self.positions.retain(|p, _| coordinator.is_live_peer(p));
        }
        let stats = coordinator.stats();
        let view = coordinator.view();
        let reported = self.board.levels(now_ms);
        let mut levels: Vec<LevelRow> = Vec::new();
        for n in &view {
            let d = n.depth.max(1) as usize;
            if levels.len() < d {
                levels.resize_with(d, LevelRow::default);
            }
            let row = &mut levels[d - 1];
            row.viewers += 1;
            row.relays += (!n.children.is_empty()) as u32;
            row.with_standby += n.standby.is_some() as u32;
        }
        let mut total = Level::default();
        for (i, row) in levels.iter_mut().enumerate() {
            row.depth = i as u32 + 1;
            if let Some(l) = reported.get(i) {
                (row.ok, row.warn, row.bad, row.fps_sum) = (l.ok, l.warn, l.bad, l.fps_sum);
                total.add_level(l);
            }
        }
        let nodes = (view.len() <= max_nodes as usize).then(|| {
            let index: HashMap<&PeerId, i64> = view.iter().enumerate().map(|(i, n)| (&n.id, i as i64)).collect();
            let at = |p: &PeerId| if *p == self.me { Some(-1) } else { index.get(p).copied() };
            view.iter()
                .map(|n| {
                    let health = self.board.seen(&n.id).map(|s| {
                        let f = s.figures;
                        NodeHealth(f.fps, f.gap_ms, f.stalls, f.used, now_ms.saturating_sub(s.at_ms), s.recent_peak(now_ms))
                    });
                    let parent = at(&n.parent).unwrap_or(-1);
                    let standby = n.standby.as_ref().and_then(at);
                    NodeRow(n.id.clone(), parent, standby, n.depth, n.slots, n.children.len() as u32, n.subtree_size, health)
                })
                .collect()
        });
        let since_ms = now_ms.saturating_sub(REPAIR_WINDOW_MS);
        let repairs_last_minute =
            self.log.recent(since_ms).filter(|e| matches!(e.kind, Kind::Leave | Kind::Loss) && e.is_repair()).count() as u32;
        let known = total.viewers();
        let summary = Summary {
            viewers: stats.viewers,
            max_depth: stats.max_depth,
            mean_depth: stats.mean_depth,
            with_standby: stats.with_standby,
            needing_standby: stats.needing_standby,
            standby_coverage: stats.standby_coverage,
            repairs_last_minute,
            repairs: self.repairs,
            moves: stats.moves,
            ok: total.ok as u64,
            warn: total.warn as u64,
            bad: total.bad as u64,
            unknown: (stats.viewers as u64).saturating_sub(known),
        };
        let frame = Frame {
            at_ms: now_ms,
            broadcaster: &self.me,
            epoch,
            summary,
            levels,
            nodes,
            events: self.log.since(since).collect(),
            next_seq: self.log.next_seq(),
            first_seq: self.log.first_seq(),
        };
        serde_json::to_string(&frame).unwrap_or_else(|_| "null".into())
    }
}

/// The longest gap `peer` reported within the attribution window before `now_ms`, if it reported.
fn recent_gap(board: &HealthBoard, peer: &PeerId, now_ms: u64) -> Option<u32> {
    let s = board.seen(peer)?;
    (now_ms.saturating_sub(s.at_ms) <= STALL_WINDOW_MS).then(|| s.recent_peak(now_ms).max(s.figures.gap_ms))
}

/// Whether viewer `id` is `top` or hangs below it in the coordinator's tree.
fn is_at_or_below(coordinator: &Coordinator, id: &PeerId, top: &PeerId) -> bool {
    let mut id = id.clone();
    // The tree has no cycles; the bound only keeps a bug from hanging the page.
    for _ in 0..=coordinator.viewer_count() {
        if id == *top {
            return true;
        }
        match coordinator.placement(&id) {
            Some(p) => id = p.parent,
            None => return false,
        }
    }
    false
}
