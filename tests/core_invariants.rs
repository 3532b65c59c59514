//! Property tests: the coordinator's invariants hold after every event of long random sequences
//! (joins, leaves, crashes in bursts, loss reports, capacity changes, ticks), and the tree is
//! shallow once moves settle.

use proptest::prelude::*;
use treecast::core::coordinator::{Command, Config, Coordinator, Event, Policy};
use treecast::core::ids::PeerId;
use treecast::core::protocol::Position;

#[derive(Debug, Clone)]
enum Op {
    Join(u8),
    Leave(u16),
    Lost(u16),
    /// Several crashes at the same instant.
    Burst(Vec<u16>),
    ParentLost(u16),
    ChildLost(u16),
    Capacity(u16, u8),
    /// A viewer re-reports its position (as after a broadcaster restart).
    Report(u16),
    Tick,
}

fn op(max_slots: u8) -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..=max_slots).prop_map(Op::Join),
        2 => any::<u16>().prop_map(Op::Leave),
        2 => any::<u16>().prop_map(Op::Lost),
        1 => prop::collection::vec(any::<u16>(), 2..6).prop_map(Op::Burst),
        1 => any::<u16>().prop_map(Op::ParentLost),
        1 => any::<u16>().prop_map(Op::ChildLost),
        1 => (any::<u16>(), 0..=max_slots).prop_map(|(i, s)| Op::Capacity(i, s)),
        1 => any::<u16>().prop_map(Op::Report),
        3 => Just(Op::Tick),
    ]
}

fn broadcaster() -> PeerId {
    PeerId::parse("tc-lv1-b").unwrap()
}

/// Applies one event, then checks the invariants and that every command names live peers.
fn apply(c: &mut Coordinator, now: u64, event: Event) -> Result<(), TestCaseError> {
    let _ = c.handle(now, event.clone());
    if let Err(v) = c.check_invariants() {
        return Err(TestCaseError::fail(format!("after {event:?}: {v}")));
    }
    for cmd in c.drain_commands().collect::<Vec<_>>() {
        let live = |p: &PeerId| c.is_live_peer(p);
        let ok = match &cmd {
            Command::Connect { parent, child, .. } => live(parent) && live(child),
            Command::Disconnect { parent, .. } => live(parent),
            Command::Assign { child, parent, standby, .. } => {
                live(child) && live(parent) && standby.as_ref().map_or(true, live)
            }
            Command::Wait { peer, .. } => !live(peer),
        };
        prop_assert!(ok, "after {:?}: command names a dead peer: {:?}", event, cmd);
    }
    Ok(())
}

fn run(policy: Policy, fanout: u8, ops: Vec<Op>) -> Result<Coordinator, TestCaseError> {
    let mut cfg = Config::new(policy, broadcaster(), 1);
    cfg.broadcaster_fanout = fanout;
    let mut c = Coordinator::new(cfg);
    let mut next = 0u32;
    let mut now = 0u64;
    for op in ops {
        now += 10;
        let view = c.view();
        let pick = |i: u16| view.get(i as usize % view.len().max(1)).cloned();
        match op {
            Op::Join(slots) => {
                next += 1;
                let peer = PeerId::parse(&format!("v{next}")).unwrap();
                apply(&mut c, now, Event::Join { peer, slots, at: None })?;
            }
            Op::Leave(i) => {
                if let Some(n) = pick(i) {
                    apply(&mut c, now, Event::Leave { peer: n.id })?;
                }
            }
            Op::Lost(i) => {
                if let Some(n) = pick(i) {
                    apply(&mut c, now, Event::Lost { peer: n.id })?;
                }
            }
            Op::Burst(list) => {
                let victims: Vec<PeerId> = list.into_iter().filter_map(|i| pick(i).map(|n| n.id)).collect();
                for peer in victims {
                    if c.is_live_peer(&peer) {
                        apply(&mut c, now, Event::Lost { peer })?;
                    }
                }
            }
            Op::ParentLost(i) => {
                if let Some(n) = pick(i) {
                    apply(&mut c, now, Event::ParentLost { peer: n.id, parent: n.parent })?;
                }
            }
            Op::ChildLost(i) => {
                if let Some(n) = pick(i) {
                    apply(&mut c, now, Event::ChildLost { peer: n.parent, child: n.id })?;
                }
            }
            Op::Capacity(i, slots) => {
                if let Some(n) = pick(i) {
                    apply(&mut c, now, Event::Capacity { peer: n.id, slots })?;
                }
            }
            Op::Report(i) => {
                if let Some(n) = pick(i) {
                    let at = Position { parent: Some(n.parent), standby: n.standby };
                    apply(&mut c, now, Event::Join { peer: n.id, slots: n.slots, at: Some(at) })?;
                }
            }
            Op::Tick => apply(&mut c, now, Event::Tick)?,
        }
    }
    Ok(c)
}

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig { cases: n, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(cases(128))]

    #[test]
    fn treecast_invariants_hold_after_every_event(ops in prop::collection::vec(op(4), 1..400)) {
        run(Policy::Treecast, 1, ops)?;
    }

    #[test]
    fn treecast_invariants_hold_with_wider_broadcaster(ops in prop::collection::vec(op(3), 1..300)) {
        run(Policy::Treecast, 3, ops)?;
    }

    #[test]
    fn seed_invariants_hold_after_every_event(ops in prop::collection::vec(op(3), 1..300)) {
        run(Policy::Seed, 1, ops)?;
    }

    /// Uniform capacity k >= 2: once moves settle, depth <= ceil(log_k n) + 2.
    #[test]
    fn depth_is_logarithmic_once_settled(
        k in 2u8..=4,
        ops in prop::collection::vec(
            prop_oneof![5 => Just(0u8), 2 => Just(1u8), 2 => Just(2u8), 1 => Just(3u8), 1 => Just(4u8)],
            1..400,
        ),
        picks in prop::collection::vec(any::<u16>(), 400),
    ) {
        let ops: Vec<Op> = ops.into_iter().zip(picks).map(|(o, i)| match o {
            0 => Op::Join(k),
            1 => Op::Leave(i),
            2 => Op::Lost(i),
            3 => Op::ParentLost(i),
            _ => Op::Tick,
        }).collect();
        let mut c = run(Policy::Treecast, 1, ops)?;
        let mut now = 1_000_000;
        for _ in 0..10_000 {
            if c.is_settled() { break; }
            now += 100;
            apply(&mut c, now, Event::Tick)?;
        }
        prop_assert!(c.is_settled());
        let n = c.viewer_count() as f64;
        if n >= 1.0 {
            let bound = (n.ln() / (k as f64).ln()).ceil() as u32 + 2;
            let depth = c.stats().max_depth;
            prop_assert!(depth <= bound, "n={} k={} depth={} bound={}", n, k, depth, bound);
        }
    }
}

proptest! {
    #![proptest_config(cases(64))]

    /// A snapshot taken at any point restores to the same tree, with valid invariants.
    #[test]
    fn snapshot_restore_round_trips(ops in prop::collection::vec(op(4), 1..300)) {
        let c = run(Policy::Treecast, 1, ops)?;
        let snap = c.snapshot();
        let text = snap.to_json();
        let restored = treecast::core::coordinator::Snapshot::from_json(&text).unwrap();
        let r = Coordinator::restore(&restored, 5_000_000, Config::new(Policy::Treecast, broadcaster(), 2)).unwrap();
        prop_assert!(r.check_invariants().is_ok(), "{:?}", r.check_invariants());
        let before: Vec<(PeerId, PeerId)> = c.view().into_iter().map(|n| (n.id, n.parent)).collect();
        let mut after: Vec<(PeerId, PeerId)> = r.view().into_iter().map(|n| (n.id, n.parent)).collect();
        let mut before = before;
        before.sort();
        after.sort();
        prop_assert_eq!(before, after);
    }

    /// Arbitrary text never panics the decoder, and whatever it accepts re-encodes identically.
    #[test]
    fn decoder_never_panics(text in ".{0,200}", json in r#"\{"v":1,"t":"(join|leave|hb|feed|assign)"(,"[a-z_]{1,8}":("[a-z0-9-]{0,9}"|-?[0-9]{1,12}|null|\[\]|\{\}))*\}"#) {
        use treecast::core::protocol::Message;
        for t in [text.as_str(), json.as_str()] {
            if let Ok(m) = Message::decode(t) {
                prop_assert_eq!(Message::decode(&m.encode()), Ok(m));
            }
        }
    }
}

/// Standby edges torn down by joins: a joiner takes a truly free slot (capacity minus primary
/// children minus the room its standbys hold), so adding a child no longer evicts a standby that
/// is still valid. Counts `Disconnect` commands for standby edges during 1,000 sequential joins
/// with mixed capacities (a tick every 10 joins, as the driver sends them).
#[test]
fn joins_do_not_evict_valid_standbys() {
    use std::collections::HashSet;
    use treecast::core::protocol::Role;
    let mut c = Coordinator::new(Config::new(Policy::Treecast, broadcaster(), 1));
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut standby_edges: HashSet<(PeerId, PeerId)> = HashSet::new();
    let (mut by_joins, mut by_ticks, mut standbys_made) = (0u32, 0u32, 0u32);
    let mut now = 0;
    for i in 0..1_000u32 {
        now += 10;
        // Mixed capacities: 30% phones, 20% 1 slot, 30% 2, 15% 3, 5% 4 (as in the benchmark).
        let slots = match next() % 100 {
            0..30 => 0,
            30..50 => 1,
            50..80 => 2,
            80..95 => 3,
            _ => 4,
        };
        let peer = PeerId::parse(&format!("v{i}")).unwrap();
        let mut events = vec![(true, Event::Join { peer, slots, at: None })];
        if i % 10 == 9 {
            events.push((false, Event::Tick));
        }
        for (is_join, event) in events {
            let _ = c.handle(now, event);
            c.check_invariants().unwrap();
            for cmd in c.drain_commands() {
                match cmd {
                    Command::Connect { parent, child, role: Role::Standby } => {
                        standbys_made += 1;
                        standby_edges.insert((parent, child));
                    }
                    // A parked standby edge that becomes the primary edge is not torn down.
                    Command::Connect { parent, child, role: Role::Primary } => {
                        standby_edges.remove(&(parent, child));
                    }
                    Command::Disconnect { parent, child } => {
                        if standby_edges.remove(&(parent, child)) {
                            if is_join {
                                by_joins += 1;
                            } else {
                                by_ticks += 1;
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let stats = c.stats();
    eprintln!(
        "1000 joins: standby edges torn down by joins {by_joins}, by ticks {by_ticks}, made {standbys_made}; \
         coverage {:.1}%, max depth {}, mean depth {:.2}",
        stats.standby_coverage * 100.0,
        stats.max_depth,
        stats.mean_depth
    );
    assert!(by_joins <= 20, "joins tore down {by_joins} standby edges");
    assert!(by_joins + by_ticks <= 60, "{by_joins} + {by_ticks} standby edges torn down");
}
