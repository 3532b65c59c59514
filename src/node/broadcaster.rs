//! The streamer's page: the coordinator of the tree plus the root relay that feeds the
//! broadcaster's own children. Commands the coordinator addresses to the broadcaster are carried
//! out here; every other one becomes a message through the PeerServer.

use serde::Serialize;

use super::dashboard::Dashboard;
use super::guard::{Guard, GuardStats, Limits, Verdict};
use super::wire::{self, DriverCommand, DriverEvent};
use crate::core::coordinator::{Command, Config, Coordinator, Event, NodeView, Policy, Rejected, Snapshot, Stats};

/// How soon a viewer the coordinator does not know should join again.
pub const REJOIN_AFTER_MS: u32 = 200;
/// The coordinator's clock: with `MOVES_PER_TICK`, at most 8 depth-restoring moves a second.
pub const COORDINATOR_TICK_MS: u64 = 250;
pub const MOVES_PER_TICK: u32 = 2;
use crate::core::ids::PeerId;
use crate::core::outbox;
use crate::core::protocol::Message;
use crate::core::viewer::{Side, Viewer, ViewerCommand, ViewerConfig, ViewerEvent};

pub struct BroadcasterNode {
    me: PeerId,
    coordinator: Coordinator,
    /// The root's side of its own edges (heartbeats, activate/park, child loss), run by the same
    /// machine every relay runs; it never joins and never has an upstream.
    root: Viewer,
    /// Rate limits in front of the coordinator and the root relay (see `guard`).
    guard: Guard,
    /// The streamer's dashboard: event log and viewers' health (see `node::dashboard`).
    dashboard: Dashboard,
    next_coordinator_tick_ms: u64,
    out: Vec<DriverCommand>,
}

/// Broadcaster settings the streamer chooses.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BroadcastConfig {
    #[serde(default = "one")]
    pub fanout: u8,
    #[serde(default)]
    pub policy: Option<Policy>,
    /// The page's randomness: keys the hash tables that hostile senders choose the keys of.
    #[serde(default)]
    pub seed: Option<u64>,
}

fn one() -> u8 {
    1
}

/// The tree for dashboards and tests.
#[derive(Debug, Serialize)]
pub struct TreeView {
    pub broadcaster: PeerId,
    pub epoch: u32,
    pub nodes: Vec<NodeView>,
    /// No depth-restoring move is left to make (nor waits on a suspect or a probation).
    pub settled: bool,
}

impl BroadcasterNode {
    /// A new session. `epoch` must differ from any earlier session's (the page draws it at random).
    pub fn new(me: PeerId, config: &BroadcastConfig, epoch: u32) -> BroadcasterNode {
        let coordinator = Coordinator::new(Self::coordinator_config(&me, config, epoch));
        Self::with(me, coordinator, config, epoch)
    }

    /// After a reload: the tree from the saved snapshot, only the broadcaster's own edges rebuilt.
    /// A snapshot that fails validation is reported and replaced by an empty tree, which the
    /// viewers' `join {at}` reports then rebuild.
    pub fn restore(me: PeerId, config: &BroadcastConfig, epoch: u32, snapshot: &str, now_ms: u64) -> (BroadcasterNode, Option<String>) {
        let cfg = Self::coordinator_config(&me, config, epoch);
        let (mut node, error) = match Snapshot::from_json(snapshot).and_then(|s| Coordinator::restore(&s, now_ms, cfg)) {
            Ok(c) => (Self::with(me, c, config, epoch), None),
            Err(e) => (Self::new(me, config, epoch), Some(e.to_string())),
        };
        node.dashboard.restored(now_ms, &node.coordinator, error.as_deref());
        (node, error)
    }

    fn coordinator_config(me: &PeerId, config: &BroadcastConfig, epoch: u32) -> Config {
        let mut c = Config::new(config.policy.unwrap_or(Policy::Treecast), me.clone(), epoch);
        c.broadcaster_fanout = config.fanout.clamp(1, 8);
        c.moves_per_tick = MOVES_PER_TICK;
        if let Some(seed) = config.seed {
            c.seed = seed;
        }
        c
    }

    fn with(me: PeerId, coordinator: Coordinator, config: &BroadcastConfig, epoch: u32) -> BroadcasterNode {
        let root = Viewer::new_root(ViewerConfig::default(), me.clone());
        let seed = config.seed.unwrap_or(0) ^ ((epoch as u64) << 32 | epoch as u64);
        let guard = Guard::new(Limits::default(), seed);
        let dashboard = Dashboard::new(me.clone());
        BroadcasterNode { me, coordinator, root, guard, dashboard, next_coordinator_tick_ms: 0, out: Vec::new() }
    }

    /// Replaces the guard's limits (tests and benchmarks; the page runs the defaults).
    pub fn set_limits(&mut self, limits: Limits) {
        let seed = self.coordinator.config().seed;
        self.guard = Guard::new(limits, seed);
    }

    pub fn handle(&mut self, now_ms: u64, event: DriverEvent) -> Vec<DriverCommand> {
        self.guard.clock(now_ms);
        if let Err(why) = self.dispatch(now_ms, event) {
            let (log, summary) = self.guard.warning(now_ms);
            if let Some(summary) = summary {
                self.out.push(wire::warn(summary));
            }
            if log {
                self.out.push(wire::warn(why));
            }
        }
        self.pump(now_ms);
        std::mem::take(&mut self.out)
    }

    /// One message from `src` through the PeerServer: budget first (before any parsing), then
    /// strict decoding, then the budgets of what it would do to the tree.
    fn signal(&mut self, now_ms: u64, src: PeerId, text: &str) -> Result<(), String> {
        if !self.guard.admit_message(&src, now_ms) {
            return Err(format!("from {src}: over its message budget, dropped"));
        }
        let message = Message::decode(text).map_err(|e| {
            self.guard.note_invalid();
            format!("from {src}: {e}")
        })?;
        let mut event = Event::from_message(src.clone(), message).map_err(|e| {
            self.guard.note_invalid();
            format!("from {src}: {e}")
        })?;
        let known = self.coordinator.is_live_peer(&src);
        match &mut event {
            Event::Join { at, .. } => {
                if at.is_some() && !self.guard.trusts_positions(now_ms) {
                    // Only a restarted broadcaster needs viewers' word for where they sit.
                    *at = None;
                    self.guard.note_position_ignored();
                }
                if known {
                    if !self.guard.admit_churn(&src, now_ms) {
                        return Err(format!("from {src}: re-join over its churn budget, dropped"));
                    }
                } else if let Verdict::Wait { retry_ms } = self.guard.admit_new_join(now_ms) {
                    let wait = Message::Wait { epoch: self.coordinator.epoch(), retry_ms };
                    self.out.push(DriverCommand::Signal { to: src.clone(), text: wait.encode() });
                    return Err(format!("from {src}: new joins over the admission rate, told to wait {retry_ms} ms"));
                }
            }
            Event::ParentLost { .. } | Event::ChildLost { .. } | Event::Capacity { .. } if !self.guard.admit_churn(&src, now_ms) => {
                return Err(format!("from {src}: report over its churn budget, dropped"));
            }
            _ => {}
        }
        match self.coordinate(now_ms, event) {
            // A viewer we dropped (e.g. reported lost while it was only slow) still
            // talks to us: have it join again, with where it sits, instead of drifting.
            Err(Rejected::UnknownPeer) => {
                let wait = Message::Wait { epoch: self.coordinator.epoch(), retry_ms: REJOIN_AFTER_MS };
                self.out.push(DriverCommand::Signal { to: src.clone(), text: wait.encode() });
                Err(format!("from {src}: unknown peer, told to join again"))
            }
            other => other.map_err(|e| format!("from {src}: {e}")),
        }
    }

    fn dispatch(&mut self, now_ms: u64, event: DriverEvent) -> Result<(), String> {
        match event {
            // The broadcaster's own picture is its source: it has no health to report.
            DriverEvent::SignallingOpen | DriverEvent::Slots { .. } | DriverEvent::Media { .. } | DriverEvent::Health { .. } => Ok(()),
            DriverEvent::Signal { from, text } => {
                let src = wire::peer(&from).inspect_err(|_| self.guard.note_invalid())?;
                self.signal(now_ms, src, &text)
            }
            // The PeerServer no longer knows this viewer: its page is gone.
            DriverEvent::Expired { peer } => {
                let peer = wire::peer(&peer)?;
                if !self.coordinator.is_live_peer(&peer) {
                    return Ok(());
                }
                self.coordinate(now_ms, Event::Lost { peer }).map_err(|e| e.to_string())
            }
            DriverEvent::EdgeOpen { peer, side } => self.relay(now_ms, ViewerEvent::EdgeOpened { peer: wire::peer(&peer)?, side }),
            DriverEvent::EdgeClosed { peer, side } => self.relay(now_ms, ViewerEvent::EdgeClosed { peer: wire::peer(&peer)?, side }),
            DriverEvent::EdgeMessage { peer, side, text } => {
                let peer = wire::peer(&peer)?;
                if !self.guard.admit_edge(&peer, side, now_ms) {
                    return Err(format!("edge {peer}: over its message budget, dropped"));
                }
                let message = Message::decode(&text).map_err(|e| format!("edge {peer}: {e}"))?;
                let health = match &message {
                    Message::Health { me, lv, r } if side == Side::Down => {
                        self.dashboard.on_health(now_ms, &peer, *me, lv.clone(), r.clone(), &self.coordinator)
                    }
                    _ => Ok(()),
                };
                self.relay(now_ms, ViewerEvent::EdgeMessage { peer: peer.clone(), side, message })?;
                health.map_err(|e| format!("edge {peer}: {e}"))
            }
            DriverEvent::Tick => {
                // The root relay needs the driver's fine clock (heartbeats); the coordinator's
                // ticks pace its repairs and moves, which cost new connections: fewer of them.
                if now_ms >= self.next_coordinator_tick_ms {
                    self.next_coordinator_tick_ms = now_ms + COORDINATOR_TICK_MS;
                    self.coordinate(now_ms, Event::Tick).map_err(|e| e.to_string())?;
                }
                self.relay(now_ms, ViewerEvent::Tick)
            }
            DriverEvent::Leave => self.relay(now_ms, ViewerEvent::LeaveRequested),
        }
    }

    /// Hands one event to the coordinator, logging what it did for the dashboard.
    fn coordinate(&mut self, now_ms: u64, event: Event) -> Result<(), Rejected> {
        let pending = self.dashboard.before(&self.coordinator, &event);
        let start = self.coordinator.commands().len();
        let result = self.coordinator.handle(now_ms, event);
        let produced = self.coordinator.commands().get(start..).unwrap_or(&[]);
        self.dashboard.after(now_ms, pending, result.is_ok(), produced, &self.coordinator);
        result
    }

    /// The root relay's events; ignored ones (a heartbeat racing an edge's close) are normal.
    fn relay(&mut self, now_ms: u64, event: ViewerEvent) -> Result<(), String> {
        let _ = self.root.handle(now_ms, event);
        Ok(())
    }

    /// Moves commands between the coordinator and the root relay until both are quiet: the
    /// coordinator's commands for the broadcaster go to the root relay, the others out through
    /// the PeerServer; the root relay's reports go to the coordinator, its edge work to the driver.
    fn pump(&mut self, now_ms: u64) {
        loop {
            let epoch = self.coordinator.epoch();
            let from_coordinator: Vec<Command> = self.coordinator.drain_commands().collect();
            let from_root: Vec<ViewerCommand> = self.root.drain_commands().collect();
            if from_coordinator.is_empty() && from_root.is_empty() {
                return;
            }
            for c in from_coordinator {
                let (to, message) = outbox::to_message(&c, epoch);
                if to == self.me {
                    let _ = self.root.handle(now_ms, ViewerEvent::FromServer { src: self.me.clone(), message });
                } else {
                    self.out.push(DriverCommand::Signal { to, text: message.encode() });
                }
            }
            for c in from_root {
                match c {
                    ViewerCommand::SendToCoordinator(m) => {
                        let result = Event::from_message(self.me.clone(), m).and_then(|e| self.coordinate(now_ms, e));
                        if let Err(why) = result {
                            self.out.push(wire::info(format!("root report: {why}")));
                        }
                    }
                    ViewerCommand::SendOnEdge { peer, side, message } => self.out.push(DriverCommand::EdgeSend { peer, side, text: message.encode() }),
                    ViewerCommand::OpenEdge { child, role } => self.out.push(DriverCommand::Call { child, role }),
                    ViewerCommand::CloseEdge { peer, side } => self.out.push(DriverCommand::Close { peer, side }),
                    ViewerCommand::SetSending { child, on } => self.out.push(DriverCommand::Sending { child, on }),
                    ViewerCommand::AcceptEdge { .. } | ViewerCommand::RouteUpstream { .. } | ViewerCommand::State(_) => {}
                }
            }
        }
    }

    pub fn stats(&self) -> BroadcastStats {
        BroadcastStats {
            peer_id: self.me.clone(),
            epoch: self.coordinator.epoch(),
            children: self.root.stats().children.len(),
            tree: self.coordinator.stats(),
            guard: self.guard.stats(),
        }
    }

    pub fn tree(&mut self) -> TreeView {
        let settled = self.coordinator.is_settled();
        TreeView { broadcaster: self.me.clone(), epoch: self.coordinator.epoch(), nodes: self.coordinator.view(), settled }
    }

    /// The dashboard page's frame: log entries from `since`, every node up to `max_nodes` viewers.
    pub fn dashboard(&mut self, now_ms: u64, since: u64, max_nodes: u32) -> String {
        let epoch = self.coordinator.epoch();
        self.dashboard.frame_json(now_ms, &self.coordinator, epoch, since, max_nodes)
    }

    /// The event log and health board, for tests.
    pub fn dashboard_state(&self) -> &Dashboard {
        &self.dashboard
    }

    pub fn snapshot(&self) -> String {
        self.coordinator.snapshot().to_json()
    }

    pub fn check_invariants(&self) -> Result<(), String> {
        self.coordinator.check_invariants().map_err(|e| format!("{e:?}"))
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BroadcastStats {
    pub peer_id: PeerId,
    pub epoch: u32,
    pub children: usize,
    #[serde(flatten)]
    pub tree: Stats,
    /// What the rate limits dropped or deferred, and the size of their table.
    pub guard: GuardStats,
}
