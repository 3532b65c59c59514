//! Behaviour check for coordinator optimisations: a digest of every command of a long seeded run.
//! Two builds that print the same digests gave the same commands for the same events.
//!
//! Run: `cargo run --release --example command_digest -- JOINS CHURN [mixed]`. `mixed` adds
//! capacity changes, loss reports from parents and children, re-joins with reported positions and
//! ids that are not of the viewer form (short and long), so the rare paths are covered too.

use std::hash::{DefaultHasher, Hasher};
use treecast::core::coordinator::{Config, Coordinator, Event, Policy};
use treecast::core::coordinator::workload::Draws;
use treecast::core::ids::PeerId;
use treecast::core::protocol::Position;

struct Run {
    c: Coordinator,
    rng: Draws,
    live: Vec<PeerId>,
    now: u64,
    digest: DefaultHasher,
    commands: u64,
    mixed: bool,
}

impl Run {
    fn new_id(&mut self) -> PeerId {
        let r = self.rng.next();
        if self.mixed && r.is_multiple_of(50) {
            // Short ids and ids longer than the inline form.
            let text = if r.is_multiple_of(100) { format!("p{:x}", r >> 8) } else { format!("long-{:x}-{:x}-{:x}", r, r.rotate_left(9), r >> 3) };
            return PeerId::parse(&text).expect("valid");
        }
        self.rng.viewer_id()
    }

    fn handle(&mut self, e: Event) {
        let r = self.c.handle(self.now, e);
        self.digest.write(format!("{r:?}").as_bytes());
        for cmd in self.c.drain_commands() {
            self.digest.write(format!("{cmd:?}").as_bytes());
            self.commands += 1;
        }
    }

    fn join(&mut self) {
        let peer = self.new_id();
        let slots = self.rng.slots();
        self.live.push(peer.clone());
        self.handle(Event::Join { peer, slots, at: None });
    }

    fn pick(&mut self) -> PeerId {
        let k = (self.rng.next() % self.live.len() as u64) as usize;
        self.live[k].clone()
    }

    fn churn(&mut self) {
        let kind = self.rng.next() % 10;
        if kind < 4 || self.live.is_empty() {
            return self.join();
        }
        if self.mixed && self.rng.next().is_multiple_of(4) {
            return self.rare();
        }
        let k = (self.rng.next() % self.live.len() as u64) as usize;
        let peer = self.live.swap_remove(k);
        let e = if kind < 7 { Event::Leave { peer } } else { Event::Lost { peer } };
        self.handle(e);
    }

    /// Reports and resyncs, with the positions the coordinator itself reports.
    fn rare(&mut self) {
        let peer = self.pick();
        let place = self.c.placement(&peer).map(|p| (p.parent.clone(), p.standby.as_ref().map(|s| (*s).clone())));
        let other = self.pick();
        let e = match self.rng.next() % 6 {
            0 => Event::Capacity { peer, slots: (self.rng.next() % 6) as u8 },
            1 => match place {
                Some((parent, _)) => Event::ParentLost { peer, parent },
                None => Event::ParentLost { peer, parent: other },
            },
            2 => match place {
                Some((parent, _)) => Event::ChildLost { peer: parent, child: peer },
                None => Event::ChildLost { peer: other, child: peer },
            },
            3 => match place {
                Some((_, Some(s))) => Event::ParentLost { peer, parent: s },
                _ => Event::ChildLost { peer, child: other },
            },
            4 => Event::Join { peer, slots: (self.rng.next() % 5) as u8, at: Some(Position { parent: Some(other), standby: None }) },
            _ => Event::Join { peer, slots: 2, at: None },
        };
        self.handle(e);
    }

    fn tick(&mut self) {
        self.now += 25;
        self.handle(Event::Tick);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let joins: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let churn: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let mixed = args.get(3).is_some_and(|a| a == "mixed");
    for policy in [Policy::Treecast, Policy::Seed] {
        let broadcaster = PeerId::parse("tc-lv1-0123456789abcdef").expect("valid id");
        let mut config = Config::new(policy, broadcaster, 1);
        config.max_viewers = 4_000_000;
        let mut run = Run { c: Coordinator::new(config), rng: Draws::new(0x9e37_79b9_7f4a_7c15 ^ joins), live: Vec::new(), now: 0, digest: DefaultHasher::new(), commands: 0, mixed };
        for i in 0..joins {
            run.join();
            if i % 100 == 99 {
                run.tick();
            }
        }
        for i in 0..churn {
            run.churn();
            if i % 100 == 99 {
                run.tick();
            }
        }
        let s = run.c.stats();
        println!("{policy:?} {joins}+{churn}{}: {} commands, digest {:016x}, depth {} / {:.3}", if mixed { " mixed" } else { "" }, run.commands, run.digest.finish(), s.max_depth, s.mean_depth);
    }
}
