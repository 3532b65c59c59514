//! Health reports in the viewer machine: a viewer reports its picture to its primary parent on
//! the edge, at most about once a second; a relay folds in what its primary children reported,
//! and ignores reports from anyone else.

use treecast::core::health::{Figures, Level, Record, MIN_SEND_INTERVAL_MS};
use treecast::core::ids::PeerId;
use treecast::core::protocol::{Message, Role};
use treecast::core::viewer::{Side, Viewer, ViewerCommand, ViewerConfig, ViewerEvent};

fn id(s: &str) -> PeerId {
    PeerId::parse(s).unwrap()
}

/// A relay at depth 2 under `p` (standby `s`), feeding `kid` (primary) and backing `backed` (standby).
fn relay() -> Viewer {
    let mut v = Viewer::new(ViewerConfig::default(), id("me"), id("b"), 2, 9);
    let from_b = |message| ViewerEvent::FromServer { src: id("b"), message };
    v.handle(0, ViewerEvent::SignallingOpen).unwrap();
    v.handle(10, from_b(Message::Assign { epoch: 1, parent: id("p"), standby: Some(id("s")), depth: 2 })).unwrap();
    v.handle(20, ViewerEvent::EdgeOpened { peer: id("p"), side: Side::Up }).unwrap();
    v.handle(20, ViewerEvent::EdgeOpened { peer: id("s"), side: Side::Up }).unwrap();
    v.handle(30, ViewerEvent::MediaProgress { peer: id("p") }).unwrap();
    v.handle(40, from_b(Message::Feed { epoch: 1, child: id("kid"), role: Role::Primary })).unwrap();
    v.handle(40, from_b(Message::Feed { epoch: 1, child: id("backed"), role: Role::Standby })).unwrap();
    v.handle(50, ViewerEvent::EdgeOpened { peer: id("kid"), side: Side::Down }).unwrap();
    v.handle(50, ViewerEvent::EdgeOpened { peer: id("backed"), side: Side::Down }).unwrap();
    v.drain_commands().for_each(drop);
    v
}

fn sample(fps: u32, gap_ms: u32) -> ViewerEvent {
    ViewerEvent::HealthSample { fps, gap_ms, stalls: (gap_ms > 200) as u32 }
}

/// A health report as sent: the peer and side it goes to, then its own figures, levels, records.
type Sent = (PeerId, Side, Figures, Vec<Level>, Vec<Record>);

/// The health reports among `cmds`.
fn reports(cmds: &[ViewerCommand]) -> Vec<Sent> {
    cmds.iter()
        .filter_map(|c| match c {
            ViewerCommand::SendOnEdge { peer, side, message: Message::Health { me, lv, r } } => {
                Some((peer.clone(), *side, *me, lv.clone(), r.clone()))
            }
            _ => None,
        })
        .collect()
}

fn child_report(v: &mut Viewer, t: u64, from: &str, me: Figures, lv: Vec<Level>, r: Vec<Record>) {
    let _ = v.handle(t, ViewerEvent::EdgeMessage { peer: id(from), side: Side::Down, message: Message::Health { me, lv, r } });
}

#[test]
fn a_viewer_reports_to_its_primary_parent_at_most_once_a_second() {
    let mut v = relay();
    v.handle(1_000, sample(30, 45)).unwrap();
    let sent = reports(&v.drain_commands().collect::<Vec<_>>());
    assert_eq!(sent.len(), 1);
    let (to, side, me, _, _) = &sent[0];
    assert_eq!((to.as_str(), *side), ("p", Side::Up));
    // Figures: its picture, plus the one primary child it feeds and its capacity.
    assert_eq!(*me, Figures { fps: 30, gap_ms: 45, stalls: 0, used: 1, slots: 2 });
    v.handle(1_000 + MIN_SEND_INTERVAL_MS - 1, sample(30, 45)).unwrap();
    assert!(reports(&v.drain_commands().collect::<Vec<_>>()).is_empty(), "too soon");
    v.handle(2_000, sample(1_000, 9_000_000)).unwrap();
    let sent = reports(&v.drain_commands().collect::<Vec<_>>());
    assert_eq!((sent[0].2.fps, sent[0].2.gap_ms), (240, 600_000), "clamped into the wire's ranges");
}

#[test]
fn a_relay_forwards_what_its_primary_child_reported() {
    let mut v = relay();
    let kid = Figures { fps: 29, gap_ms: 700, stalls: 1, used: 1, slots: 2 };
    let grandkid = Record { id: id("grandkid"), figures: Figures { fps: 30, gap_ms: 40, stalls: 0, used: 0, slots: 0 } };
    child_report(&mut v, 900, "kid", kid, vec![Level { ok: 1, warn: 0, bad: 0, fps_sum: 30 }], vec![grandkid.clone()]);
    v.handle(1_000, sample(30, 45)).unwrap();
    let sent = reports(&v.drain_commands().collect::<Vec<_>>());
    let (_, _, _, lv, r) = &sent[0];
    assert_eq!(lv, &vec![Level { ok: 0, warn: 1, bad: 0, fps_sum: 29 }, Level { ok: 1, warn: 0, bad: 0, fps_sum: 30 }]);
    assert_eq!(r[0], Record { id: id("kid"), figures: kid }, "the stalled child first");
    assert!(r.contains(&grandkid));
}

#[test]
fn reports_from_a_standby_child_or_a_stranger_are_not_counted() {
    let mut v = relay();
    let f = Figures { fps: 5, gap_ms: 5_000, stalls: 3, used: 0, slots: 0 };
    child_report(&mut v, 900, "backed", f, vec![], vec![]);
    child_report(&mut v, 900, "stranger", f, vec![], vec![]);
    child_report(&mut v, 900, "p", f, vec![], vec![]);
    let side_up = v.handle(900, ViewerEvent::EdgeMessage { peer: id("p"), side: Side::Up, message: Message::Health { me: f, lv: vec![], r: vec![] } });
    assert!(side_up.is_ok(), "a parent's report is harmless: ignored");
    v.handle(1_000, sample(30, 45)).unwrap();
    let sent = reports(&v.drain_commands().collect::<Vec<_>>());
    let (_, _, _, lv, r) = &sent[0];
    assert!(lv.is_empty() && r.is_empty(), "{lv:?} {r:?}");
}

#[test]
fn no_report_without_an_open_parent_while_leaving_or_from_the_root() {
    let mut fresh = Viewer::new(ViewerConfig::default(), id("me"), id("b"), 2, 9);
    fresh.handle(0, ViewerEvent::SignallingOpen).unwrap();
    fresh.handle(1_000, sample(0, 0)).unwrap();
    assert!(reports(fresh.commands()).is_empty());
    let mut leaving = relay();
    leaving.handle(500, ViewerEvent::LeaveRequested).unwrap();
    leaving.handle(1_000, sample(30, 45)).unwrap();
    assert!(reports(leaving.commands()).is_empty());
    let mut root = Viewer::new_root(ViewerConfig::default(), id("b"));
    root.handle(1_000, sample(30, 45)).unwrap();
    assert!(reports(root.commands()).is_empty());
}
