//! Small scripted broadcasts whose figures are computed by hand (in the comments), plus
//! determinism. Delays are fixed (ranges with lo == hi) so every instant is known.

use treecast::core::coordinator::Policy;
use treecast::sim::{Report, ScriptedViewer, Sim, SimConfig};

/// Fixed delays: signalling 50 ms one way, PeerServer connect 500 ms, new connection 300 ms,
/// activation 70 ms, every edge 20 ms one way, relays 13 ms codec, no timer phase.
fn fixed(policy: Policy, duration_ms: u64, script: Vec<ScriptedViewer>) -> SimConfig {
    let mut c = SimConfig::new(policy, 0, duration_ms, 7);
    c.signalling_ms = (50, 50);
    c.connect_ms = (500, 500);
    c.new_connection_ms = (300, 300);
    c.activation_ms = (70, 70);
    c.edge_delay_ms = (20, 20);
    c.relay_codec_ms = (13, 13);
    c.tick_phase_ms = (0, 0);
    c.sample_every_ms = 1_000;
    c.script = Some(script);
    c
}

fn viewer(arrive_ms: u64, slots: u8, depart_ms: Option<u64>, crash: bool) -> ScriptedViewer {
    ScriptedViewer { arrive_ms, slots, depart_ms, crash }
}

fn run(c: SimConfig) -> Report {
    Sim::new(c).run()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// The only cause with stall time, and its seconds.
fn sole_cause(r: &Report) -> (&'static str, f64) {
    let with: Vec<_> = r.stall_causes.iter().filter(|c| c.stalls > 0).collect();
    assert_eq!(with.len(), 1, "{:?}", r.stall_causes);
    (with[0].cause, with[0].stall_s)
}

#[test]
fn one_viewer_no_churn() {
    // t=0 page opens; 500 PeerServer open, join sent; 550 coordinator places it under the
    // broadcaster (feed to the root relay at once, assign 50 ms away); 600 assign -> accept;
    // 600 + 300 = 900 edge up, first frame. Start-up 0.9 s, then picture to the end.
    for policy in [Policy::Treecast, Policy::Seed] {
        let r = run(fixed(policy, 60_000, vec![viewer(0, 0, None, false)]));
        assert_eq!(r.arrivals, 1);
        assert!(close(r.startup_s.p50, 0.9, 1e-9), "{policy:?} startup {}", r.startup_s.p50);
        assert_eq!(r.continuity_index, 1.0);
        assert_eq!(r.stall_per_viewer_s.max, 0.0);
        assert_eq!((r.depth.mean, r.depth.max), (1.0, 1.0));
        // Latency: 17 ms glass-to-glass at depth 1 + 20 ms one way.
        assert_eq!(r.latency_ms.max, 37.0);
    }
}

/// A (relay, 2 slots) arrives at 0 and sits under the broadcaster; B (phone) arrives at 10 s
/// and sits under A. A departs at 60 s; the run ends at 120 s. B's stall is the whole story.
fn chain(policy: Policy, crash: bool) -> Report {
    run(fixed(policy, 120_000, vec![viewer(0, 2, Some(60_000), crash), viewer(10_000, 0, None, false)]))
}

#[test]
fn seed_relay_crash_stalls_for_ice_timeout_plus_reconnection() {
    // 60.000 A crashes. The root relay and B hear A's last heartbeat at 60.000 and declare it
    // lost after the ICE timeout: 65.300. The root reports `child_lost` to its own coordinator
    // at once; seed repair moves the last leaf (B) into A's place: `assign` reaches B at
    // 65.350, B accepts, the new connection is up 300 ms later: 65.650.
    // B's stall: 65.650 - 60.000 = 5.65 s; one stall.
    let r = chain(Policy::Seed, true);
    assert!(close(r.stall_per_viewer_s.max, 5.65, 1e-9), "{:?}", r.stall_per_viewer_s);
    assert_eq!(r.departures_crash, 1);
    let (cause, s) = sole_cause(&r);
    assert_eq!(cause, "upstream crash");
    assert!(close(s, 5.65, 1e-9));
    assert!(close(r.stall_by_length_per_viewer_s[1], 5.65 / 2.0, 1e-9), "1-10 s bucket, per viewer (A and B)");
}

#[test]
fn treecast_relay_crash_stalls_for_suspicion_plus_activation() {
    // B at depth 2 has the broadcaster as standby (its reserve). 60.000 A crashes; 60.250 B has
    // heard nothing for 250 ms: it asks its standby to send (`activate`, 20 ms); 60.270 the root
    // unparks; first frame 70 ms + 20 ms later: 60.360, and B switches. Stall 0.36 s.
    let r = chain(Policy::Treecast, true);
    assert!(close(r.stall_per_viewer_s.max, 0.36, 1e-9), "{:?}", r.stall_per_viewer_s);
    assert_eq!(sole_cause(&r).0, "upstream crash");
}

#[test]
fn treecast_graceful_leave_is_unseen() {
    // 60.000 A leaves: `leaving` reaches B at 60.020; B asks its standby to send (activate
    // 20 ms, unpark 70 ms, frame 20 ms) while A keeps feeding it; at 60.110 the standby's media
    // flows and B switches, then closes A's edge. No stall at all.
    let r = chain(Policy::Treecast, false);
    assert_eq!(r.stall_per_viewer_s.max, 0.0, "{:?}", r.stall_per_viewer_s);
    assert!(r.stall_causes.iter().all(|c| c.stalls == 0), "{:?}", r.stall_causes);
}

#[test]
fn seed_graceful_leave_costs_close_channel_plus_reconnection() {
    // 60.000 A destroys its peer; PeerJS's close channel tells B and the root 300 ms later
    // (230..410 fixed at 300 here): 60.300. The root reports `child_lost` to its coordinator at
    // once; B is moved into A's place: `assign` at 60.350, edge up at 60.650. Stall 0.65 s.
    let mut c = fixed(Policy::Seed, 120_000, vec![viewer(0, 2, Some(60_000), false), viewer(10_000, 0, None, false)]);
    c.seed_close_ms = (300, 300);
    let r = run(c);
    assert!(close(r.stall_per_viewer_s.max, 0.65, 1e-9), "{:?}", r.stall_per_viewer_s);
    assert_eq!(sole_cause(&r).0, "upstream closed");
}

fn without_wall_time(r: &Report) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap();
    v.as_object_mut().unwrap().remove("wall_s");
    v
}

#[test]
fn same_seed_same_report() {
    // A small random audience (300 viewers, 5 min, a broadcaster reload at 3 min), twice.
    for policy in [Policy::Treecast, Policy::Seed] {
        let config = || {
            let mut c = SimConfig::new(policy, 300, 300_000, 42);
            c.reload_at_ms = Some(180_000);
            c
        };
        let (a, b) = (Sim::new(config()).run(), Sim::new(config()).run());
        assert!(a.arrivals > 300, "{policy:?}: {}", a.arrivals);
        assert_eq!(without_wall_time(&a), without_wall_time(&b), "{policy:?}");
        let other = Sim::new(SimConfig { seed: 43, ..config() }).run();
        assert_ne!(without_wall_time(&a), without_wall_time(&other), "{policy:?}: the seed matters");
        assert!(a.continuity_index > 0.5 && a.continuity_index <= 1.0, "{policy:?}: {}", a.continuity_index);
    }
}
