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

/// Applies one event, then checks the invariants, that every command names live peers, and that
/// nobody placed is evicted: the only viewer an event may tell to `wait` is a joiner not placed.
fn apply(c: &mut Coordinator, now: u64, event: Event) -> Result<(), TestCaseError> {
    let viewers = c.viewer_count();
    let _ = c.handle(now, event.clone());
    if let Err(v) = c.check_invariants() {
        return Err(TestCaseError::fail(format!("after {event:?}: {v}")));
    }
    let waits: Vec<&PeerId> = c
        .commands()
        .iter()
        .filter_map(|cmd| match cmd {
            Command::Wait { peer, .. } => Some(peer),
            _ => None,
        })
        .collect();
    let joiner = match &event {
        Event::Join { peer, .. } => Some(peer),
        _ => None,
    };
    prop_assert!(
        waits.is_empty() || (waits.len() == 1 && Some(waits[0]) == joiner),
        "after {:?}: {} viewers told to wait: {:?}", event, waits.len(), waits
    );
    // A departure removes one viewer; no other event removes any.
    let removed = viewers.saturating_sub(c.viewer_count());
    let may_remove = matches!(event, Event::Leave { .. } | Event::Lost { .. } | Event::ChildLost { .. }) as u32;
    prop_assert!(removed <= may_remove, "after {:?}: {} viewers left the tree", event, removed);
    for cmd in c.drain_commands().collect::<Vec<_>>() {
        let live = |p: &PeerId| c.is_live_peer(p);
        let ok = match &cmd {
            Command::Connect { parent, child, .. } => live(parent) && live(child),
            Command::Disconnect { parent, .. } => live(parent),
            Command::Assign { child, parent, standby, .. } => {
                live(child) && live(parent) && standby.as_ref().is_none_or(live)
            }
            Command::Wait { peer, .. } => !live(peer),
        };
        prop_assert!(ok, "after {:?}: command names a dead peer: {:?}", event, cmd);
    }
    Ok(())
}

fn run(policy: Policy, fanout: u8, ops: Vec<Op>) -> Result<Coordinator, TestCaseError> {
    run_with(policy, fanout, None, ops)
}

/// `probation_ms`: None keeps the default (longer than any sequence here: everyone stays new).
fn run_with(policy: Policy, fanout: u8, probation_ms: Option<u64>, ops: Vec<Op>) -> Result<Coordinator, TestCaseError> {
    let mut cfg = Config::new(policy, broadcaster(), 1);
    cfg.broadcaster_fanout = fanout;
    if let Some(ms) = probation_ms {
        cfg.probation_ms = ms;
    }
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

/// `n` cases, or more when PROPTEST_CASES asks for more (a longer run after changing rules).
fn cases(n: u32) -> ProptestConfig {
    let asked = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    ProptestConfig { cases: n.max(asked), ..ProptestConfig::default() }
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

    /// Events 10 ms apart and a probation of 0.3 s: viewers on probation and past it mix.
    #[test]
    fn treecast_invariants_hold_with_short_probation(ops in prop::collection::vec(op(4), 1..400)) {
        run_with(Policy::Treecast, 1, Some(300), ops)?;
    }

    #[test]
    fn treecast_invariants_hold_without_probation(ops in prop::collection::vec(op(3), 1..300)) {
        run_with(Policy::Treecast, 2, Some(0), ops)?;
    }

    #[test]
    fn seed_invariants_hold_after_every_event(ops in prop::collection::vec(op(3), 1..300)) {
        run(Policy::Seed, 1, ops)?;
    }

    /// Uniform capacity k >= 2: once moves settle, depth <= ceil(log_k n) + 2.
    #[test]
    fn depth_is_logarithmic_once_settled(
        k in 2u8..=4,
        probation_ms in prop_oneof![Just(None), Just(Some(0)), Just(Some(300))],
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
        let mut c = run_with(Policy::Treecast, 1, probation_ms, ops)?;
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

/// Standby edges torn down (and made) while `joins` viewers join one after the other, a tick
/// every 10 joins as the driver sends them: `(by joins, by ticks, made, coverage)`.
fn standby_churn(joins: u32, slots_of: impl Fn(u64) -> u8) -> (u32, u32, u32, f64) {
    use std::collections::HashSet;
    use treecast::core::protocol::Role;
    let mut c = Coordinator::new(Config::new(Policy::Treecast, broadcaster(), 1));
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut standby_edges: HashSet<(PeerId, PeerId)> = HashSet::new();
    let (mut by_joins, mut by_ticks, mut made) = (0u32, 0u32, 0u32);
    let mut now = 0;
    for i in 0..joins {
        now += 10;
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let peer = PeerId::parse(&format!("v{i}")).unwrap();
        let mut events = vec![(true, Event::Join { peer, slots: slots_of(rng), at: None })];
        if i % 10 == 9 {
            events.push((false, Event::Tick));
        }
        for (is_join, event) in events {
            let _ = c.handle(now, event);
            c.check_invariants().unwrap();
            for cmd in c.drain_commands() {
                match cmd {
                    Command::Connect { parent, child, role: Role::Standby } => {
                        made += 1;
                        standby_edges.insert((parent, child));
                    }
                    // A parked standby edge that becomes the primary edge is not torn down.
                    Command::Connect { parent, child, role: Role::Primary } => {
                        standby_edges.remove(&(parent, child));
                    }
                    Command::Disconnect { parent, child } => {
                        let removed = standby_edges.remove(&(parent, child));
                        by_joins += u32::from(removed && is_join);
                        by_ticks += u32::from(removed && !is_join);
                    }
                    _ => {}
                }
            }
        }
    }
    (by_joins, by_ticks, made, c.stats().standby_coverage)
}

/// A join takes a truly free slot (capacity minus primary children minus the room its standbys
/// hold) when one exists, so adding a child does not evict a standby that is still valid.
#[test]
fn joins_do_not_evict_valid_standbys() {
    // Desktop-like capacities (1..=4 slots, mostly 2–3).
    let desktop = standby_churn(1_000, |r| [1, 2, 2, 2, 3, 3, 3, 3, 4, 2][(r % 10) as usize]);
    eprintln!("desktop 1000 joins: standby edges torn down by joins {}, by ticks {}, made {}, coverage {:.1}%", desktop.0, desktop.1, desktop.2, desktop.3 * 100.0);
    // Small broadcast (as in the browser tests): 10 viewers.
    let small = standby_churn(10, |r| [1, 2, 2, 3][(r % 4) as usize]);
    eprintln!("10 viewers: standby edges torn down by joins {}, by ticks {}, made {}", small.0, small.1, small.2);
    // The benchmark's mix (30% phones, 20% 1 slot, 30% 2, 15% 3, 5% 4): capacity is short
    // (1.45 slots per viewer for 1 primary + 1/2 standby slot each), so a growing tree must
    // reclaim standby room as it fills; joins should still evict less than one per join.
    let mixed = standby_churn(1_000, |r| match r % 100 {
        0..30 => 0,
        30..50 => 1,
        50..80 => 2,
        80..95 => 3,
        _ => 4,
    });
    eprintln!("mixed 1000 joins: standby edges torn down by joins {}, by ticks {}, made {}, coverage {:.1}%", mixed.0, mixed.1, mixed.2, mixed.3 * 100.0);
    // Measured before the change (shallowest slot whatever it held): desktop 809, 10 viewers 3,
    // mixed 1,248 standby edges torn down by joins; after: 464, 2, 1,179.
    assert!(small.0 + small.1 <= 2, "a 10-viewer broadcast tore down {} + {} standby edges", small.0, small.1);
    assert!(desktop.0 + desktop.1 <= 500, "desktop joins tore down {} + {} standby edges", desktop.0, desktop.1);
    assert!(desktop.3 >= 0.99, "desktop coverage {}", desktop.3);
    assert!(mixed.0 + mixed.1 <= 1_200, "mixed joins tore down {} + {} standby edges", mixed.0, mixed.1);
}
