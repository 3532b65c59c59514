//! The viewer machine under a slow or busy page: its own freezes are not its parent's death, and a
//! coordinator that forgot it gets a fresh join with its position while media keeps flowing.

use treecast::core::ids::PeerId;
use treecast::core::protocol::Message;
use treecast::core::viewer::{Side, Viewer, ViewerCommand, ViewerConfig, ViewerEvent};

fn id(s: &str) -> PeerId {
    PeerId::parse(s).unwrap()
}

/// A viewer at depth 1 under the broadcaster `b`, edge open and media flowing, at time `t`.
fn playing_viewer(t: u64) -> Viewer {
    let mut v = Viewer::new(ViewerConfig::default(), id("me"), id("b"), 2, 7);
    v.handle(t, ViewerEvent::SignallingOpen).unwrap();
    let assign = Message::Assign { epoch: 1, parent: id("b"), standby: None, depth: 1 };
    v.handle(t, ViewerEvent::FromServer { src: id("b"), message: assign }).unwrap();
    v.handle(t, ViewerEvent::EdgeOpened { peer: id("b"), side: Side::Up }).unwrap();
    v.handle(t, ViewerEvent::MediaProgress { peer: id("b") }).unwrap();
    v.drain_commands().for_each(drop);
    v
}

fn reported_parent_lost(cmds: &[ViewerCommand]) -> bool {
    cmds.iter().any(|c| matches!(c, ViewerCommand::SendToCoordinator(Message::ParentLost { .. })))
}

#[test]
fn a_silent_parent_is_lost_within_the_loss_bound() {
    let mut v = playing_viewer(1_000);
    let mut lost_at = None;
    for t in (1_050..3_000).step_by(50) {
        v.handle(t, ViewerEvent::Tick).unwrap();
        if reported_parent_lost(&v.drain_commands().collect::<Vec<_>>()) {
            lost_at = Some(t);
            break;
        }
    }
    let lost_at = lost_at.expect("a parent silent for 2 s is lost");
    assert!((1_600..=1_700).contains(&lost_at), "lost at {lost_at}");
}

#[test]
fn the_pages_own_freeze_is_not_a_lost_parent() {
    let mut v = playing_viewer(1_000);
    v.handle(1_050, ViewerEvent::Tick).unwrap();
    // The page was frozen for 2 s: the next tick comes late, with nothing heard in between.
    v.handle(3_050, ViewerEvent::Tick).unwrap();
    let cmds: Vec<_> = v.drain_commands().collect();
    assert!(!reported_parent_lost(&cmds), "{cmds:?}");
    assert_eq!(v.stats().parent, Some(id("b")));
    // Silence that goes on after the freeze is still caught.
    let mut lost = false;
    for t in (3_100..4_000).step_by(50) {
        v.handle(t, ViewerEvent::Tick).unwrap();
        lost |= reported_parent_lost(&v.drain_commands().collect::<Vec<_>>());
    }
    assert!(lost);
}

#[test]
fn a_forgotten_viewer_joins_again_with_its_position_and_keeps_playing() {
    let mut v = playing_viewer(1_000);
    let wait = Message::Wait { epoch: 1, retry_ms: 200 };
    v.handle(1_010, ViewerEvent::FromServer { src: id("b"), message: wait }).unwrap();
    let mut join = None;
    for t in (1_050..1_500).step_by(50) {
        v.handle(t, ViewerEvent::EdgeMessage { peer: id("b"), side: Side::Up, message: Message::Hb { seq: 1 } }).unwrap();
        v.handle(t, ViewerEvent::Tick).unwrap();
        for c in v.drain_commands() {
            assert!(!matches!(c, ViewerCommand::CloseEdge { .. }), "closed an edge: {c:?}");
            if let ViewerCommand::SendToCoordinator(Message::Join { at, .. }) = c {
                join.get_or_insert((t, at));
            }
        }
    }
    let (t, at) = join.expect("joined again");
    assert!(t >= 1_210, "joined at {t}, before retry_ms passed");
    assert_eq!(at.and_then(|p| p.parent), Some(id("b")));
    assert_eq!(v.stats().parent, Some(id("b")));
}

#[test]
fn a_parent_whose_edge_never_opens_is_given_up() {
    let mut v = Viewer::new(ViewerConfig::default(), id("me"), id("b"), 2, 7);
    v.handle(0, ViewerEvent::SignallingOpen).unwrap();
    let assign = Message::Assign { epoch: 1, parent: id("dead"), standby: None, depth: 2 };
    v.handle(10, ViewerEvent::FromServer { src: id("b"), message: assign }).unwrap();
    v.drain_commands().for_each(drop);
    let timeout = ViewerConfig::default().switch_timeout_ms;
    let mut gave_up_at = None;
    for t in (50..timeout + 1_000).step_by(50) {
        v.handle(t, ViewerEvent::Tick).unwrap();
        let cmds: Vec<_> = v.drain_commands().collect();
        if cmds.iter().any(|c| matches!(c, ViewerCommand::SendToCoordinator(Message::ParentLost { parent }) if *parent == id("dead"))) {
            gave_up_at = Some(t);
            break;
        }
    }
    let t = gave_up_at.expect("the dead parent is reported");
    assert!(t >= timeout && t <= timeout + 100, "gave up at {t}");
    assert_eq!(v.stats().parent, None);
}
