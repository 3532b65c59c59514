//! The benchmark's workload, shared by the native benchmark (`benches/core.rs`) and the
//! measurement of the wasm build in Chromium (`src/web`, `bench/core/`): viewers with mixed
//! capacities join, then random joins, leaves and losses follow; the caller ticks every 100
//! events (25 ms of broadcast time), as the broadcaster page does.

use super::{Command, Config, Coordinator, Event, Policy};
use crate::core::ids::{viewer_peer_id, PeerId};

/// What one churn step was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Join,
    Leave,
    Loss,
}

/// The workload's random draws (xorshift64 from a nonzero seed): numbers, viewer ids, and the
/// mixed capacities. `examples/command_digest.rs` draws its runs from it too.
pub struct Draws(u64);

impl Draws {
    pub fn new(seed: u64) -> Draws {
        Draws(seed)
    }

    #[allow(clippy::should_implement_trait)] // an endless generator, not an iterator
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A `tc-v-` id from two draws.
    pub fn viewer_id(&mut self) -> PeerId {
        let mut r = [0u8; 12];
        r[..8].copy_from_slice(&self.next().to_le_bytes());
        r[8..].copy_from_slice(&(self.next() as u32).to_le_bytes());
        viewer_peer_id(r)
    }

    /// Mixed capacities: 30% phones, 20% 1 slot, 30% 2, 15% 3, 5% 4.
    pub fn slots(&mut self) -> u8 {
        match self.next() % 100 {
            0..30 => 0,
            30..50 => 1,
            50..80 => 2,
            80..95 => 3,
            _ => 4,
        }
    }
}

pub struct Workload {
    coordinator: Coordinator,
    rng: Draws,
    /// Viewers placed (a viewer evicted later stays here; its departure is then rejected).
    live: Vec<PeerId>,
    now_ms: u64,
}

impl Workload {
    pub fn new(policy: Policy, seed: u64) -> Workload {
        let broadcaster = PeerId::parse("tc-lv1-0123456789abcdef").expect("valid id");
        let mut config = Config::new(policy, broadcaster, 1);
        config.max_viewers = 4_000_000;
        Workload { coordinator: Coordinator::new(config), rng: Draws::new(seed | 1), live: Vec::new(), now_ms: 0 }
    }

    pub fn coordinator(&self) -> &Coordinator {
        &self.coordinator
    }

    /// Heap bytes the workload itself holds (its list of live ids), to tell them from the
    /// coordinator's.
    pub fn own_bytes(&self) -> usize {
        self.live.capacity() * std::mem::size_of::<PeerId>()
    }

    /// One new viewer joins; returns the number of commands (then dropped, as sent).
    pub fn join(&mut self) -> usize {
        let peer = self.rng.viewer_id();
        let slots = self.rng.slots();
        let _ = self.coordinator.handle(self.now_ms, Event::Join { peer: peer.clone(), slots, at: None });
        let placed = !self.coordinator.commands().iter().any(|c| matches!(c, Command::Wait { peer: p, .. } if *p == peer));
        if placed {
            self.live.push(peer);
        }
        self.take_commands()
    }

    /// One churn step: 40% a join, 30% a graceful leave, 30% a crash of a random viewer.
    pub fn churn(&mut self) -> (Step, usize) {
        let kind = self.rng.next() % 10;
        if kind < 4 || self.live.is_empty() {
            return (Step::Join, self.join());
        }
        let k = (self.rng.next() % self.live.len() as u64) as usize;
        let peer = self.live.swap_remove(k);
        let (step, event) = if kind < 7 { (Step::Leave, Event::Leave { peer }) } else { (Step::Loss, Event::Lost { peer }) };
        let _ = self.coordinator.handle(self.now_ms, event);
        (step, self.take_commands())
    }

    /// A coordinator tick, 25 ms after the previous one.
    pub fn tick(&mut self) -> usize {
        self.now_ms += 25;
        let _ = self.coordinator.handle(self.now_ms, Event::Tick);
        self.take_commands()
    }

    fn take_commands(&mut self) -> usize {
        let n = self.coordinator.commands().len();
        self.coordinator.clear_commands();
        n
    }

    /// `n` joins then `n` churn steps, a tick every 100 events: the whole benchmark run without
    /// per-event timing (for the wasm measurement). Returns the commands of each phase.
    pub fn joins(&mut self, n: u32) -> usize {
        let mut cmds = 0;
        for i in 0..n {
            cmds += self.join();
            if i % 100 == 99 {
                cmds += self.tick();
            }
        }
        cmds
    }

    pub fn churns(&mut self, n: u32) -> usize {
        let mut cmds = 0;
        for i in 0..n {
            cmds += self.churn().1;
            if i % 100 == 99 {
                cmds += self.tick();
            }
        }
        cmds
    }
}
