//! A short pause of the coordinator's orders after a relay says it leaves.
//!
//! Its children switch to their standbys on their own within about 100 ms. The repair's new
//! edges, ordered at that same moment (calls, handshakes, encoders starting on several peers),
//! competed with that switch for the CPU and stalled pictures tree-wide: in the relay test
//! (eleven browsers on two cores) the largest gaps after a leave were 253-490 ms without the
//! pause and 199-350 ms with it. The orders wait, in order; the switch itself never does (it
//! needs no order). The page (`node::broadcaster`) and the simulator both send the
//! coordinator's commands through one.

use super::coordinator::{Command, Coordinator, Event, Policy};

/// How long the orders wait after a relay's leave.
pub const REPAIR_PAUSE_MS: u64 = 300;

#[derive(Debug, Default)]
pub struct RepairPause {
    until_ms: u64,
    held: Vec<Command>,
}

impl RepairPause {
    /// Before the coordinator handles `event`: a leave of a viewer that feeds others starts a
    /// pause. One under way is not extended, so leaves in a row (or a hostile peer's) delay
    /// orders by at most one pause each. Returns when the pause ends if one started.
    pub fn before(&mut self, now_ms: u64, event: &Event, coordinator: &Coordinator) -> Option<u64> {
        let Event::Leave { peer } = event else { return None };
        // The original library's policy (`seed`) had no such pause: its comparison runs stay as it was.
        let treecast = coordinator.config().policy == Policy::Treecast;
        if !treecast || now_ms < self.until_ms || !coordinator.placement(peer).is_some_and(|p| p.children > 0) {
            return None;
        }
        self.until_ms = now_ms + REPAIR_PAUSE_MS;
        Some(self.until_ms)
    }

    /// `commands` (just produced) become what may go out now, in order: none during a pause
    /// (they are held), the held ones first once it is over.
    pub fn release(&mut self, now_ms: u64, commands: &mut Vec<Command>) {
        if now_ms < self.until_ms {
            self.held.append(commands);
        } else if !self.held.is_empty() {
            commands.splice(0..0, self.held.drain(..));
        }
    }

    /// Orders waiting for the pause to end.
    pub fn held(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::coordinator::Config;
    use crate::core::ids::PeerId;

    fn id(s: &str) -> PeerId {
        PeerId::parse(s).unwrap()
    }

    /// Broadcaster -> a -> b.
    fn chain() -> Coordinator {
        let mut c = Coordinator::new(Config::new(Policy::Treecast, id("tc-lv1-0123456789abcdef"), 1));
        for (i, v) in ["tc-v-aaaaaaaaaaaa", "tc-v-bbbbbbbbbbbb"].into_iter().enumerate() {
            c.handle(1_000 + i as u64, Event::Join { peer: id(v), slots: 2, at: None }).unwrap();
        }
        c.clear_commands();
        c
    }

    #[test]
    fn a_relays_leave_holds_orders_until_the_pause_ends_and_then_sends_them_first() {
        let c = chain();
        let mut pause = RepairPause::default();
        let leave = Event::Leave { peer: id("tc-v-aaaaaaaaaaaa") };
        assert_eq!(pause.before(5_000, &leave, &c), Some(5_000 + REPAIR_PAUSE_MS));
        let first = Command::Wait { peer: id("tc-v-bbbbbbbbbbbb"), retry_ms: 1 };
        let second = Command::Wait { peer: id("tc-v-bbbbbbbbbbbb"), retry_ms: 2 };
        let mut now = vec![first.clone()];
        pause.release(5_000, &mut now);
        assert!(now.is_empty());
        // A second leave within the pause does not extend it.
        assert_eq!(pause.before(5_100, &leave, &c), None);
        let mut now = vec![second.clone()];
        pause.release(5_000 + REPAIR_PAUSE_MS, &mut now);
        assert_eq!(now, vec![first, second]);
        assert_eq!(pause.held(), 0);
    }

    #[test]
    fn a_leaf_leaving_or_another_event_starts_no_pause() {
        let c = chain();
        let mut pause = RepairPause::default();
        assert_eq!(pause.before(5_000, &Event::Leave { peer: id("tc-v-bbbbbbbbbbbb") }, &c), None);
        assert_eq!(pause.before(5_000, &Event::Lost { peer: id("tc-v-aaaaaaaaaaaa") }, &c), None);
        let mut now = vec![Command::Wait { peer: id("tc-v-bbbbbbbbbbbb"), retry_ms: 1 }];
        pause.release(5_000, &mut now);
        assert_eq!(now.len(), 1);
    }
}
