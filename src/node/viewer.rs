//! A viewer's page: the core's viewer/relay machine behind driver events and commands.

use serde::Serialize;

use std::collections::HashMap;

use super::guard::{Bucket, Limits};
use super::wire::{self, DriverCommand, DriverEvent};
use crate::core::ids::PeerId;
use crate::core::protocol::Message;
use crate::core::viewer::{Side, Viewer, ViewerCommand, ViewerConfig, ViewerEvent, ViewerState};

/// Edges whose message budgets are kept (a relay has a handful; the machine caps its children).
const MAX_EDGE_BUDGETS: usize = 256;

pub struct ViewerNode {
    machine: Viewer,
    coordinator: PeerId,
    /// Per-edge budgets: a neighbour flooding its data channel costs us a bounded amount of work.
    edge_budgets: HashMap<(PeerId, Side), Bucket>,
    /// TEST ONLY: behaves like the 2017 library (see `with_original_detection`).
    original: bool,
}

/// What `window.treecast.stats()` shows of a viewer (camelCase for the page).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ViewerNodeStats {
    pub peer_id: PeerId,
    pub state: ViewerState,
    pub parent_id: Option<PeerId>,
    pub standby_id: Option<PeerId>,
    pub depth: Option<u32>,
    pub children: usize,
    pub child_ids: Vec<PeerId>,
    pub failovers: u32,
}

/// TEST ONLY (the media benchmark's `seed` runs, issue 6): loss detection as the 2017 library
/// did it. Its viewers noticed a lost neighbour when ICE said `disconnected` (5.3 s after a crash;
/// the driver closes the edge then, see `originalDetection` in driver.js) or the connection
/// closed: silence counts only after the same 5.3 s (as the simulator models it), so no heartbeat
/// switch comes first.
pub fn original_detection_config() -> ViewerConfig {
    const ICE_MS: u64 = 5_300;
    ViewerConfig { suspect_after_ms: ICE_MS, loss_after_ms: ICE_MS, slow_loss_after_ms: ICE_MS, jitter_factor: 0, ..ViewerConfig::default() }
}

impl ViewerNode {
    pub fn new(me: PeerId, coordinator: PeerId, slots: u8, random_seed: u64) -> ViewerNode {
        ViewerNode {
            machine: Viewer::new(ViewerConfig::default(), me, coordinator.clone(), slots, random_seed),
            coordinator,
            edge_budgets: HashMap::new(),
            original: false,
        }
    }

    /// TEST ONLY (media benchmark, `seed` runs): a viewer as the 2017 library had it. Loss is seen
    /// as `original_detection_config` says, and a viewer does not report its lost parent (there
    /// the departed relay's parent reported, `close_branch`, and the root re-placed its children).
    pub fn with_original_detection(me: PeerId, coordinator: PeerId, slots: u8, random_seed: u64) -> ViewerNode {
        let machine = Viewer::new(original_detection_config(), me, coordinator.clone(), slots, random_seed);
        ViewerNode { machine, coordinator, edge_budgets: HashMap::new(), original: true }
    }

    pub fn handle(&mut self, now_ms: u64, event: DriverEvent) -> Vec<DriverCommand> {
        let mut out = Vec::new();
        match self.machine_event(now_ms, event) {
            // Ignored events are normal (a heartbeat racing an edge's close); nothing to log.
            Ok(Some(e)) => {
                let _ = self.machine.handle(now_ms, e);
            }
            Ok(None) => {}
            Err(why) => out.push(wire::warn(why)),
        }
        let depth = self.depth();
        let below = self.machine.stats().children.len() as u32;
        for c in self.machine.drain_commands() {
            if self.original && matches!(c, ViewerCommand::SendToCoordinator(Message::ParentLost { .. })) {
                continue;
            }
            out.push(match c {
                ViewerCommand::SendToCoordinator(m) => DriverCommand::Signal { to: self.coordinator.clone(), text: m.encode() },
                ViewerCommand::SendOnEdge { peer, side, message } => DriverCommand::EdgeSend { peer, side, text: message.encode() },
                ViewerCommand::OpenEdge { child, role } => DriverCommand::Call { child, role },
                ViewerCommand::AcceptEdge { parent, .. } => DriverCommand::Expect { parent },
                ViewerCommand::CloseEdge { peer, side } => DriverCommand::Close { peer, side },
                ViewerCommand::RouteUpstream { peer } => DriverCommand::Upstream { peer },
                ViewerCommand::SetSending { child, on } => DriverCommand::Sending { child, on },
                ViewerCommand::State(s) => DriverCommand::State { state: state_name(s), depth, below },
            });
        }
        out
    }

    fn machine_event(&mut self, now_ms: u64, event: DriverEvent) -> Result<Option<ViewerEvent>, String> {
        Ok(Some(match event {
            DriverEvent::SignallingOpen => ViewerEvent::SignallingOpen,
            // Only the coordinator speaks to us through the server: anyone else's text is not
            // even parsed.
            DriverEvent::Signal { from, .. } if from != self.coordinator.as_str() => return Ok(None),
            DriverEvent::Signal { from, text } => {
                let src = wire::peer(&from)?;
                let message = Message::decode(&text).map_err(|e| format!("from {src}: {e}"))?;
                ViewerEvent::FromServer { src, message }
            }
            // Our join to an absent broadcaster expired: the join retry covers it.
            DriverEvent::Expired { .. } => return Ok(None),
            DriverEvent::EdgeOpen { peer, side } => ViewerEvent::EdgeOpened { peer: wire::peer(&peer)?, side },
            DriverEvent::EdgeClosed { peer, side } => {
                let peer = wire::peer(&peer)?;
                self.edge_budgets.remove(&(peer.clone(), side));
                ViewerEvent::EdgeClosed { peer, side }
            }
            DriverEvent::EdgeMessage { peer, side, text } => {
                let peer = wire::peer(&peer)?;
                if !self.admit_edge(&peer, side, now_ms) {
                    return Ok(None);
                }
                let message = Message::decode(&text).map_err(|e| format!("edge {peer}: {e}"))?;
                ViewerEvent::EdgeMessage { peer, side, message }
            }
            DriverEvent::Media { peer } => ViewerEvent::MediaProgress { peer: wire::peer(&peer)? },
            DriverEvent::Tick => ViewerEvent::Tick,
            DriverEvent::Leave => ViewerEvent::LeaveRequested,
            DriverEvent::Slots { slots } => ViewerEvent::CapacityChanged { slots },
            DriverEvent::Health { fps, gap_ms, stalls } => ViewerEvent::HealthSample { fps, gap_ms, stalls },
        }))
    }

    /// The edge's message budget (heartbeats come ten times a second; a flood is dropped unread).
    fn admit_edge(&mut self, peer: &PeerId, side: Side, now_ms: u64) -> bool {
        let rate = Limits::default().edge;
        let key = (peer.clone(), side);
        if !self.edge_budgets.contains_key(&key) {
            if self.edge_budgets.len() >= MAX_EDGE_BUDGETS {
                self.edge_budgets.retain(|_, b| !b.is_full(rate, now_ms));
            }
            if self.edge_budgets.len() >= MAX_EDGE_BUDGETS {
                return false;
            }
            self.edge_budgets.insert(key.clone(), Bucket::full(rate, now_ms));
        }
        self.edge_budgets.get_mut(&key).is_some_and(|b| b.take(rate, now_ms))
    }

    fn depth(&self) -> Option<u32> {
        let s = self.machine.stats();
        (s.parent.is_some() && s.depth > 0).then_some(s.depth)
    }

    pub fn stats(&self) -> ViewerNodeStats {
        let s = self.machine.stats();
        ViewerNodeStats {
            peer_id: self.machine.id().clone(),
            state: s.state,
            parent_id: s.parent,
            standby_id: s.standby,
            depth: self.depth(),
            children: s.children.len(),
            child_ids: s.children,
            failovers: s.failovers,
        }
    }
}

pub fn state_name(s: ViewerState) -> &'static str {
    match s {
        ViewerState::Waiting => "waiting",
        ViewerState::Joining => "joining",
        ViewerState::Playing => "playing",
        ViewerState::Repairing => "repairing",
        ViewerState::Left => "left",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::viewer::Side;

    fn id(s: &str) -> PeerId {
        PeerId::parse(s).unwrap()
    }

    /// A viewer placed under `p` (no standby, as under the seed policy), its media flowing.
    fn playing(original: bool) -> ViewerNode {
        let mut v = if original {
            ViewerNode::with_original_detection(id("me"), id("tc-lv1-b"), 2, 7)
        } else {
            ViewerNode::new(id("me"), id("tc-lv1-b"), 2, 7)
        };
        v.handle(0, DriverEvent::SignallingOpen);
        let assign = Message::Assign { epoch: 1, parent: id("p"), standby: None, depth: 2 };
        v.handle(10, DriverEvent::Signal { from: "tc-lv1-b".into(), text: assign.encode() });
        v.handle(20, DriverEvent::EdgeOpen { peer: "p".into(), side: Side::Up });
        v.handle(30, DriverEvent::Media { peer: "p".into() });
        assert_eq!(v.stats().state, ViewerState::Playing);
        v
    }

    fn closes_parent(out: &[DriverCommand]) -> bool {
        out.iter().any(|c| matches!(c, DriverCommand::Close { peer, side: Side::Up } if peer.as_str() == "p"))
    }

    /// Silence from the parent for two seconds, ticking every 50 ms: does the viewer give it up
    /// (report it lost, or close its edge)?
    fn gives_up_on_silence(v: &mut ViewerNode) -> bool {
        let reports = |out: &[DriverCommand]| out.iter().any(|c| matches!(c, DriverCommand::Signal { text, .. } if text.contains("parent_lost")));
        (1..=40).any(|i| {
            let out = v.handle(30 + i * 50, DriverEvent::Tick);
            closes_parent(&out) || reports(&out)
        })
    }

    #[test]
    fn the_original_detection_waits_for_ice_and_leaves_the_report_to_the_parent() {
        let mut v = playing(false);
        assert!(gives_up_on_silence(&mut v), "treecast switches after a short silence");
        let mut v = playing(true);
        assert!(!gives_up_on_silence(&mut v), "the original waited for ICE");
        let out = v.handle(5_000, DriverEvent::EdgeClosed { peer: "p".into(), side: Side::Up });
        assert!(!out.iter().any(|c| matches!(c, DriverCommand::Signal { .. })), "no report of its own: {out:?}");
        assert_eq!(v.stats().state, ViewerState::Repairing);
    }
}
