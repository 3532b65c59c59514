//! Probation against a flood of fake relays (SECURITY.md, "What remains possible"): fresh ids
//! join announcing 8 slots, feed nobody, and leave after a while, 20 a second (the admission
//! rate) for 30 s, while honest newcomers keep arriving. A child of a fake gets nothing and, as
//! the viewer machine does, gives up on it after 5 s (`parent_lost`); a fake standby is given up
//! the same way. With probation (the default), newcomers are placed under viewers that have been
//! there longer, and no placed viewer is moved under a fake; the same run without probation is
//! the control that shows the test can fail.

use std::collections::{HashMap, HashSet};
use treecast::core::coordinator::{Config, Coordinator, Event, Policy};
use treecast::core::ids::PeerId;

const TICK_MS: u64 = 250;
const GIVE_UP_MS: u64 = 5_000;

struct Outcome {
    /// Per honest newcomer: ms from its join until its primary parent was honest.
    newcomer_waits: Vec<u64>,
    /// Honest viewers (placed before the flood) seen under a fake parent, at any tick.
    honest_under_fake: usize,
    fakes: usize,
}

fn peer(s: String) -> PeerId {
    PeerId::parse(&s).unwrap()
}

fn flood(probation_ms: u64, audience: usize) -> Outcome {
    let broadcaster = PeerId::parse("tc-lv1-b").unwrap();
    let mut config = Config::new(Policy::Treecast, broadcaster.clone(), 1);
    config.probation_ms = probation_ms;
    let mut c = Coordinator::new(config);
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let handle = |c: &mut Coordinator, now: u64, e: Event| {
        let _ = c.handle(now, e.clone());
        if let Err(v) = c.check_invariants() {
            panic!("after {e:?} at {now}: {v}");
        }
        c.clear_commands();
    };

    let mut fakes: HashSet<PeerId> = HashSet::new();
    let mut fake_leaves: Vec<(u64, PeerId)> = Vec::new();
    let mut honest_old: HashSet<PeerId> = HashSet::new();
    // Newcomer -> (joined at, played at).
    let mut newcomers: HashMap<PeerId, (u64, Option<u64>)> = HashMap::new();
    // (viewer, fake it waits on as parent or standby) -> since.
    let mut waiting: HashMap<(PeerId, PeerId), u64> = HashMap::new();
    let mut honest_under_fake: HashSet<PeerId> = HashSet::new();

    let flood_from = 60_000;
    let flood_until = flood_from + 30_000;
    let mut now = 0;
    let mut fake_no = 0;
    let mut newcomer_no = 0;
    while now < flood_until + 20_000 {
        now += TICK_MS;
        // An honest audience gathers over the first 20 s: a fifth phones, the rest 2 or 3 slots.
        if now <= 20_000 {
            for _ in 0..audience.div_ceil(80).min(audience - honest_old.len()) {
                let id = peer(format!("h{}", honest_old.len()));
                let slots = match next() % 10 {
                    0 | 1 => 0,
                    2..6 => 2,
                    _ => 3,
                };
                handle(&mut c, now, Event::Join { peer: id.clone(), slots, at: None });
                honest_old.insert(id);
            }
        }
        if (flood_from..flood_until).contains(&now) {
            // 20 fresh ids a second, each claiming 8 slots, each leaving 10 to 15 s later.
            for _ in 0..5 {
                fake_no += 1;
                let id = peer(format!("f{fake_no}"));
                handle(&mut c, now, Event::Join { peer: id.clone(), slots: 8, at: None });
                fakes.insert(id.clone());
                fake_leaves.push((now + 10_000 + next() % 5_000, id));
            }
            // An honest newcomer every 2 s (relays and phones).
            if now % 2_000 == 0 {
                newcomer_no += 1;
                let id = peer(format!("n{newcomer_no}"));
                let slots = [0, 2, 3][newcomer_no % 3];
                handle(&mut c, now, Event::Join { peer: id.clone(), slots, at: None });
                newcomers.insert(id, (now, None));
            }
        }
        for (_, id) in fake_leaves.extract_if(.., |(at, _)| *at <= now) {
            handle(&mut c, now, Event::Leave { peer: id });
        }
        handle(&mut c, now, Event::Tick);

        // What the honest viewers see.
        let view = c.view();
        let mut still = HashMap::new();
        for n in &view {
            if fakes.contains(&n.id) {
                continue;
            }
            let parent_fake = fakes.contains(&n.parent);
            if let Some((_, played)) = newcomers.get_mut(&n.id) {
                if !parent_fake && played.is_none() {
                    *played = Some(now);
                }
            } else if parent_fake {
                honest_under_fake.insert(n.id.clone());
            }
            for upstream in [Some(&n.parent), n.standby.as_ref()].into_iter().flatten() {
                if fakes.contains(upstream) {
                    let key = (n.id.clone(), upstream.clone());
                    let since = *waiting.get(&key).unwrap_or(&now);
                    still.insert(key, since);
                }
            }
        }
        waiting = still;
        // Edges from fakes never open: given up after 5 s.
        let mut overdue: Vec<(PeerId, PeerId)> =
            waiting.iter().filter(|(_, since)| now - **since >= GIVE_UP_MS).map(|(k, _)| k.clone()).collect();
        overdue.sort();
        for (viewer, fake) in overdue {
            waiting.remove(&(viewer.clone(), fake.clone()));
            if c.is_live_peer(&viewer) && c.is_live_peer(&fake) {
                handle(&mut c, now, Event::ParentLost { peer: viewer, parent: fake });
            }
        }
    }
    let newcomer_waits = newcomers.values().map(|(joined, played)| played.unwrap_or(now) - joined).collect();
    Outcome { newcomer_waits, honest_under_fake: honest_under_fake.len(), fakes: fakes.len() }
}

fn summary(name: &str, o: &Outcome) -> (u64, u64) {
    let max = *o.newcomer_waits.iter().max().unwrap();
    let total: u64 = o.newcomer_waits.iter().sum();
    let late = o.newcomer_waits.iter().filter(|&&w| w > 0).count();
    eprintln!(
        "{name}: {} fakes; {} newcomers, {late} placed under a fake first, longest wait {:.2} s, mean {:.2} s; \
         placed viewers seen under a fake: {}",
        o.fakes,
        o.newcomer_waits.len(),
        max as f64 / 1000.0,
        total as f64 / o.newcomer_waits.len() as f64 / 1000.0,
        o.honest_under_fake
    );
    (max, o.honest_under_fake as u64)
}

#[test]
fn newcomers_are_placed_under_proven_relays_during_a_fake_relay_flood() {
    let with = flood(Config::new(Policy::Treecast, PeerId::parse("tc-lv1-b").unwrap(), 1).probation_ms, 320);
    let without = flood(0, 320);
    let (max_with, moved_with) = summary("probation", &with);
    let (max_without, moved_without) = summary("no probation (control)", &without);
    // Every newcomer hangs under an honest relay from its first tick; nobody placed is moved
    // under a fake.
    assert_eq!(max_with, 0, "a newcomer waited on a fake relay");
    assert_eq!(moved_with, 0, "a placed viewer was moved under a fake relay");
    // The control: without probation the flood does capture someone.
    assert!(max_without > 0 || moved_without > 0, "the flood captured nobody even without probation");
}

/// The browser test's case (SECURITY.md): four honest viewers, so the flood's first fakes take
/// every proven slot and newcomers must use unproven ones; probation cannot help much there.
/// Printed, not asserted.
#[test]
fn a_small_audience_flooded() {
    summary("probation, 4 viewers", &flood(30_000, 4));
    summary("no probation, 4 viewers", &flood(0, 4));
}
