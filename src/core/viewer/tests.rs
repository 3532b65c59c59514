use super::*;

fn id(s: &str) -> PeerId {
    PeerId::parse(s).unwrap()
}

fn coord() -> PeerId {
    id("tc-lv1-b")
}

fn viewer(slots: u8) -> Viewer {
    Viewer::new(ViewerConfig::default(), id("me"), coord(), slots, 42)
}

fn from_coord(v: &mut Viewer, t: u64, message: Message) {
    v.handle(t, ViewerEvent::FromServer { src: coord(), message }).unwrap();
}

fn sent_to_coordinator(cmds: &[ViewerCommand]) -> Vec<Message> {
    cmds.iter()
        .filter_map(|c| match c {
            ViewerCommand::SendToCoordinator(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

/// A viewer placed under `p` with standby `s`, both edges up and media flowing from `p`.
fn playing(p: &str, s: &str) -> Viewer {
    let mut v = viewer(2);
    v.handle(0, ViewerEvent::SignallingOpen).unwrap();
    from_coord(&mut v, 10, Message::Assign { epoch: 1, parent: id(p), standby: Some(id(s)), depth: 2 });
    v.handle(20, ViewerEvent::EdgeOpened { peer: id(p), side: Side::Up }).unwrap();
    v.handle(20, ViewerEvent::EdgeOpened { peer: id(s), side: Side::Up }).unwrap();
    v.handle(30, ViewerEvent::MediaProgress { peer: id(p) }).unwrap();
    assert_eq!(v.state(), ViewerState::Playing);
    v.drain_commands();
    v
}

/// A viewer placed under `p` with no standby, its edge up and media flowing from it.
fn playing_alone(p: &str) -> Viewer {
    playing_alone_with(ViewerConfig::default(), p)
}

fn playing_alone_with(config: ViewerConfig, p: &str) -> Viewer {
    let mut v = Viewer::new(config, id("me"), coord(), 2, 42);
    v.handle(0, ViewerEvent::SignallingOpen).unwrap();
    from_coord(&mut v, 10, Message::Assign { epoch: 1, parent: id(p), standby: None, depth: 2 });
    v.handle(20, ViewerEvent::EdgeOpened { peer: id(p), side: Side::Up }).unwrap();
    v.handle(30, ViewerEvent::MediaProgress { peer: id(p) }).unwrap();
    assert_eq!(v.state(), ViewerState::Playing);
    v
}

#[test]
fn joins_and_retries_with_capped_backoff_until_placed() {
    let mut v = viewer(1);
    v.handle(0, ViewerEvent::SignallingOpen).unwrap();
    assert_eq!(sent_to_coordinator(v.commands()), vec![Message::Join { slots: 1, at: None }]);
    assert_eq!(v.state(), ViewerState::Joining);
    v.drain_commands();
    // No broadcaster yet: retries come with growing gaps, never beyond the cap.
    let mut joins = Vec::new();
    for t in (0..60_000).step_by(50) {
        v.handle(t, ViewerEvent::Tick).unwrap();
        if !sent_to_coordinator(v.commands()).is_empty() {
            joins.push(t);
        }
        v.drain_commands();
    }
    let gaps: Vec<u64> = joins.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() > 10, "{gaps:?}");
    assert!(gaps[0] < 1_000, "{gaps:?}");
    assert!(gaps.iter().all(|&g| g <= 5_000 + 50), "{gaps:?}");
    assert!(gaps.iter().rev().take(5).all(|&g| g >= 2_500), "{gaps:?}");
}

#[test]
fn plays_when_the_parents_media_flows() {
    let mut v = viewer(0);
    v.handle(0, ViewerEvent::SignallingOpen).unwrap();
    from_coord(&mut v, 10, Message::Assign { epoch: 1, parent: id("p"), standby: None, depth: 1 });
    assert!(v.commands().contains(&ViewerCommand::AcceptEdge { parent: id("p"), role: Role::Primary }));
    v.handle(20, ViewerEvent::EdgeOpened { peer: id("p"), side: Side::Up }).unwrap();
    v.handle(30, ViewerEvent::MediaProgress { peer: id("p") }).unwrap();
    assert!(v.commands().contains(&ViewerCommand::RouteUpstream { peer: id("p") }));
    assert_eq!(v.state(), ViewerState::Playing);
    // Placed: no more join retries.
    v.drain_commands();
    for t in (100..20_000).step_by(100) {
        v.handle(t, ViewerEvent::MediaProgress { peer: id("p") }).unwrap();
        v.handle(t, ViewerEvent::Tick).unwrap();
    }
    assert!(sent_to_coordinator(v.commands()).is_empty());
}

#[test]
fn ignores_messages_not_from_the_coordinator() {
    let mut v = viewer(0);
    let forged = ViewerEvent::FromServer {
        src: id("mallory"),
        message: Message::Assign { epoch: 1, parent: id("mallory"), standby: None, depth: 1 },
    };
    assert_eq!(v.handle(0, forged), Err(Ignored::NotFromCoordinator));
    assert!(v.commands().is_empty());
    let wrong_kind = ViewerEvent::FromServer { src: coord(), message: Message::Join { slots: 1, at: None } };
    assert_eq!(v.handle(0, wrong_kind), Err(Ignored::NotFromCoordinator));
    assert_eq!(v.handle(0, ViewerEvent::EdgeMessage { peer: id("x"), side: Side::Up, message: Message::Hb { seq: 1 } }), Err(Ignored::NotAnEdgePeer));
}

#[test]
fn switches_to_the_standby_on_heartbeat_loss_without_a_round_trip() {
    let mut v = playing("p", "s");
    // Heartbeats keep coming from the standby (but no media); the parent goes silent at t=30.
    let mut switched_at = None;
    let mut seen = Vec::new();
    for t in (40..2_000).step_by(50) {
        v.handle(t, ViewerEvent::EdgeMessage { peer: id("s"), side: Side::Up, message: Message::Hb { seq: t as u32 } }).unwrap();
        v.handle(t, ViewerEvent::Tick).unwrap();
        let done = v.commands().contains(&ViewerCommand::RouteUpstream { peer: id("s") });
        seen.extend(v.drain_commands());
        if done {
            switched_at = Some(t);
            break;
        }
    }
    let t = switched_at.expect("switched");
    // The standby was asked to send at the first suspicion; without its media the switch waits
    // for the loss itself.
    assert!((600..=700).contains(&(t - 30)), "switched after {} ms", t - 30);
    assert_eq!(seen.iter().filter(|c| **c == activate("s")).count(), 1, "{seen:?}");
    assert!(seen.contains(&ViewerCommand::CloseEdge { peer: id("p"), side: Side::Up }));
    assert!(sent_to_coordinator(&seen).contains(&Message::ParentLost { parent: id("p") }));
    assert_eq!(v.stats().parent, Some(id("s")));
    assert_eq!(v.stats().failovers, 1);
}

#[test]
fn a_standby_made_parent_before_its_edge_opened_is_asked_to_send_when_it_opens() {
    let mut v = viewer(2);
    v.handle(0, ViewerEvent::SignallingOpen).unwrap();
    from_coord(&mut v, 10, Message::Assign { epoch: 1, parent: id("p"), standby: Some(id("s")), depth: 2 });
    v.handle(20, ViewerEvent::EdgeOpened { peer: id("p"), side: Side::Up }).unwrap();
    v.handle(30, ViewerEvent::MediaProgress { peer: id("p") }).unwrap();
    // The coordinator promotes the standby while its (parked) edge is still being set up.
    from_coord(&mut v, 40, Message::Assign { epoch: 1, parent: id("s"), standby: None, depth: 2 });
    assert!(!v.drain_commands().any(|c| c == activate("s")), "nothing to send on yet");
    v.handle(90, ViewerEvent::EdgeOpened { peer: id("s"), side: Side::Up }).unwrap();
    assert_eq!(v.drain_commands().collect::<Vec<_>>(), vec![activate("s")]);
    v.handle(150, ViewerEvent::MediaProgress { peer: id("s") }).unwrap();
    assert_eq!(routed(v.commands()), vec![id("s")]);
    assert_eq!(v.stats().parent, Some(id("s")));
}

#[test]
fn a_slow_parent_that_still_shows_media_is_kept() {
    let mut v = playing("p", "s");
    for t in (40..5_000).step_by(100) {
        // No heartbeats from p (its data channel is congested), but frames keep arriving.
        v.handle(t, ViewerEvent::MediaProgress { peer: id("p") }).unwrap();
        v.handle(t, ViewerEvent::EdgeMessage { peer: id("s"), side: Side::Up, message: Message::Hb { seq: 1 } }).unwrap();
        v.handle(t, ViewerEvent::Tick).unwrap();
    }
    assert!(!v.commands().contains(&ViewerCommand::RouteUpstream { peer: id("s") }));
    assert_eq!(v.stats().parent, Some(id("p")));
}

#[test]
fn never_flips_back_to_a_parent_it_left() {
    let mut v = playing("p", "s");
    v.handle(40, ViewerEvent::EdgeClosed { peer: id("p"), side: Side::Up }).unwrap();
    assert_eq!(v.stats().parent, Some(id("s")));
    v.drain_commands();
    // Late traffic from the old parent is not an upstream any more.
    assert_eq!(v.handle(50, ViewerEvent::MediaProgress { peer: id("p") }), Err(Ignored::NotAnEdgePeer));
    assert_eq!(v.stats().parent, Some(id("s")));
    assert!(!v.commands().iter().any(|c| matches!(c, ViewerCommand::RouteUpstream { .. })));
}

fn activate(peer: &str) -> ViewerCommand {
    ViewerCommand::SendOnEdge { peer: id(peer), side: Side::Up, message: Message::Activate {} }
}

fn park(peer: &str) -> ViewerCommand {
    ViewerCommand::SendOnEdge { peer: id(peer), side: Side::Up, message: Message::Park {} }
}

fn routed(cmds: &[ViewerCommand]) -> Vec<PeerId> {
    cmds.iter()
        .filter_map(|c| match c {
            ViewerCommand::RouteUpstream { peer } => Some(peer.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_leaving_parent_is_played_until_the_standbys_media_flows() {
    let mut v = playing("p", "s");
    v.handle(40, ViewerEvent::EdgeMessage { peer: id("p"), side: Side::Up, message: Message::Leaving {} }).unwrap();
    // The standby is asked to send at once, with no round trip; the old parent stays routed.
    let cmds = v.drain_commands().collect::<Vec<_>>();
    assert!(cmds.contains(&activate("s")), "{cmds:?}");
    assert!(routed(&cmds).is_empty() && !cmds.contains(&ViewerCommand::CloseEdge { peer: id("p"), side: Side::Up }), "{cmds:?}");
    assert_eq!(v.stats().parent, Some(id("p")));
    // The standby's media flows: switch, then let go of the leaver.
    v.handle(110, ViewerEvent::MediaProgress { peer: id("s") }).unwrap();
    let cmds = v.drain_commands().collect::<Vec<_>>();
    assert_eq!(routed(&cmds), vec![id("s")]);
    assert!(cmds.contains(&ViewerCommand::CloseEdge { peer: id("p"), side: Side::Up }));
    // The parent announced its leave to the coordinator itself: no loss report.
    assert!(sent_to_coordinator(&cmds).is_empty());
    assert_eq!(v.stats().parent, Some(id("s")));
}

#[test]
fn a_leaver_that_goes_before_the_standby_delivers_hands_over_at_once() {
    let mut v = playing("p", "s");
    v.handle(40, ViewerEvent::EdgeMessage { peer: id("p"), side: Side::Up, message: Message::Leaving {} }).unwrap();
    v.drain_commands();
    v.handle(60, ViewerEvent::EdgeClosed { peer: id("p"), side: Side::Up }).unwrap();
    let cmds = v.drain_commands().collect::<Vec<_>>();
    assert_eq!(routed(&cmds), vec![id("s")]);
    assert!(sent_to_coordinator(&cmds).is_empty(), "{cmds:?}");
    assert_eq!(v.state(), ViewerState::Playing);
}

#[test]
fn a_leaving_parent_without_a_standby_is_played_to_the_end() {
    let mut v = playing_alone("p");
    v.handle(40, ViewerEvent::EdgeMessage { peer: id("p"), side: Side::Up, message: Message::Leaving {} }).unwrap();
    assert_eq!(v.stats().parent, Some(id("p")));
    v.drain_commands();
    v.handle(200, ViewerEvent::EdgeClosed { peer: id("p"), side: Side::Up }).unwrap();
    assert_eq!(v.state(), ViewerState::Repairing);
    assert!(sent_to_coordinator(v.commands()).is_empty(), "a leaver is not reported lost");
}

#[test]
fn a_quiet_parent_makes_the_standby_send_and_is_reported_once_it_does() {
    let mut v = playing("p", "s");
    let mut activated_at = None;
    for t in (40..600).step_by(50) {
        v.handle(t, ViewerEvent::EdgeMessage { peer: id("s"), side: Side::Up, message: Message::Hb { seq: 1 } }).unwrap();
        v.handle(t, ViewerEvent::Tick).unwrap();
        let cmds = v.drain_commands().collect::<Vec<_>>();
        if cmds.contains(&activate("s")) {
            activated_at = Some(t);
            assert!(routed(&cmds).is_empty(), "no switch before the standby's media flows");
            assert!(sent_to_coordinator(&cmds).is_empty());
            break;
        }
    }
    let t = activated_at.expect("standby activated");
    assert!((250..=300).contains(&(t - 30)), "activated after {} ms of silence", t - 30);
    v.handle(t + 70, ViewerEvent::MediaProgress { peer: id("s") }).unwrap();
    let cmds = v.drain_commands().collect::<Vec<_>>();
    assert_eq!(routed(&cmds), vec![id("s")]);
    assert_eq!(sent_to_coordinator(&cmds), vec![Message::ParentLost { parent: id("p") }]);
    assert!(cmds.contains(&ViewerCommand::CloseEdge { peer: id("p"), side: Side::Up }));
    assert_eq!(v.stats().failovers, 1);
}

#[test]
fn a_quiet_parent_heard_again_in_time_is_kept_and_the_standby_parked() {
    let mut v = playing("p", "s");
    for t in (40..400).step_by(50) {
        v.handle(t, ViewerEvent::Tick).unwrap();
    }
    assert!(v.commands().contains(&activate("s")));
    v.drain_commands();
    // The parent was only busy: its media comes back before the standby's.
    v.handle(420, ViewerEvent::MediaProgress { peer: id("p") }).unwrap();
    assert_eq!(v.commands(), &[park("s")]);
    v.drain_commands();
    v.handle(450, ViewerEvent::MediaProgress { peer: id("s") }).ok();
    assert!(routed(v.commands()).is_empty(), "a late frame of the parked standby changes nothing");
    assert_eq!(v.stats().parent, Some(id("p")));
    assert_eq!(v.stats().standby, Some(id("s")));
    // It can fail over again later, but it has shown gaps of ~390 ms: now only after twice that.
    let mut again = None;
    for t in (500..3_000).step_by(50) {
        v.handle(t, ViewerEvent::Tick).unwrap();
        if v.drain_commands().any(|c| c == activate("s")) {
            again = Some(t);
            break;
        }
    }
    let again = again.expect("suspected again") - 420;
    assert!((780..=850).contains(&again), "suspected again after {again} ms of silence");
}

#[test]
fn graceful_leave_keeps_feeding_children_until_they_switched() {
    let mut v = playing("p", "s");
    from_coord(&mut v, 50, Message::Feed { epoch: 1, child: id("c"), role: Role::Primary });
    assert!(v.commands().contains(&ViewerCommand::OpenEdge { child: id("c"), role: Role::Primary }));
    v.handle(60, ViewerEvent::EdgeOpened { peer: id("c"), side: Side::Down }).unwrap();
    v.drain_commands();
    v.handle(100, ViewerEvent::LeaveRequested).unwrap();
    let cmds = v.drain_commands().collect::<Vec<_>>();
    assert!(sent_to_coordinator(&cmds).contains(&Message::Leave {}));
    assert!(cmds.contains(&ViewerCommand::SendOnEdge { peer: id("c"), side: Side::Down, message: Message::Leaving {} }));
    assert!(!cmds.contains(&ViewerCommand::CloseEdge { peer: id("c"), side: Side::Down }));
    assert_ne!(v.state(), ViewerState::Left);
    // The child switched and closed our edge: now we are gone.
    v.handle(300, ViewerEvent::EdgeClosed { peer: id("c"), side: Side::Down }).unwrap();
    v.handle(310, ViewerEvent::Tick).unwrap();
    assert_eq!(v.state(), ViewerState::Left);
    assert!(v.commands().contains(&ViewerCommand::CloseEdge { peer: id("p"), side: Side::Up }));
}

#[test]
fn graceful_leave_is_bounded_in_time() {
    let mut v = playing("p", "s");
    from_coord(&mut v, 50, Message::Feed { epoch: 1, child: id("c"), role: Role::Primary });
    v.handle(60, ViewerEvent::EdgeOpened { peer: id("c"), side: Side::Down }).unwrap();
    v.handle(100, ViewerEvent::LeaveRequested).unwrap();
    v.handle(1_000, ViewerEvent::Tick).unwrap();
    assert_ne!(v.state(), ViewerState::Left);
    v.handle(1_700, ViewerEvent::Tick).unwrap();
    assert_eq!(v.state(), ViewerState::Left);
}

#[test]
fn make_before_break_move_to_a_new_parent() {
    let mut v = playing("p", "s");
    from_coord(&mut v, 100, Message::Assign { epoch: 1, parent: id("q"), standby: Some(id("s")), depth: 2 });
    assert!(v.commands().contains(&ViewerCommand::AcceptEdge { parent: id("q"), role: Role::Primary }));
    assert!(!v.commands().contains(&ViewerCommand::CloseEdge { peer: id("p"), side: Side::Up }));
    v.drain_commands();
    v.handle(150, ViewerEvent::EdgeOpened { peer: id("q"), side: Side::Up }).unwrap();
    assert_eq!(v.stats().parent, Some(id("p")), "keeps playing from the old parent");
    v.handle(200, ViewerEvent::MediaProgress { peer: id("q") }).unwrap();
    let cmds = v.commands().to_vec();
    assert!(cmds.contains(&ViewerCommand::RouteUpstream { peer: id("q") }));
    assert!(cmds.contains(&ViewerCommand::CloseEdge { peer: id("p"), side: Side::Up }));
    assert_eq!(v.stats().parent, Some(id("q")));
}

#[test]
fn activates_the_standby_when_assigned_to_it() {
    let mut v = playing("p", "s");
    from_coord(&mut v, 100, Message::Assign { epoch: 1, parent: id("s"), standby: Some(id("t")), depth: 3 });
    let cmds = v.drain_commands().collect::<Vec<_>>();
    assert!(cmds.contains(&activate("s")));
    assert!(routed(&cmds).is_empty(), "switches when the standby's media flows");
    assert!(cmds.contains(&ViewerCommand::AcceptEdge { parent: id("t"), role: Role::Standby }));
    assert_eq!(v.stats().standby, Some(id("t")));
    v.handle(170, ViewerEvent::MediaProgress { peer: id("s") }).unwrap();
    let cmds = v.drain_commands().collect::<Vec<_>>();
    assert_eq!(routed(&cmds), vec![id("s")]);
    assert!(cmds.contains(&ViewerCommand::CloseEdge { peer: id("p"), side: Side::Up }));
    assert!(sent_to_coordinator(&cmds).is_empty());
    assert_eq!(v.stats().parent, Some(id("s")));
}

#[test]
fn a_new_epoch_is_passed_down_and_the_position_reported() {
    let mut v = playing("p", "s");
    from_coord(&mut v, 50, Message::Feed { epoch: 1, child: id("c"), role: Role::Standby });
    v.handle(60, ViewerEvent::EdgeOpened { peer: id("c"), side: Side::Down }).unwrap();
    v.drain_commands();
    // The broadcaster restarted: our parent tells us the new session.
    v.handle(100, ViewerEvent::EdgeMessage { peer: id("p"), side: Side::Up, message: Message::Epoch { epoch: 2 } }).unwrap();
    let cmds = v.drain_commands().collect::<Vec<_>>();
    assert!(cmds.contains(&ViewerCommand::SendOnEdge { peer: id("c"), side: Side::Down, message: Message::Epoch { epoch: 2 } }));
    let at = Position { parent: Some(id("p")), standby: Some(id("s")) };
    assert_eq!(sent_to_coordinator(&cmds), vec![Message::Join { slots: 2, at: Some(at) }]);
    // The same epoch again changes nothing.
    v.handle(110, ViewerEvent::EdgeMessage { peer: id("p"), side: Side::Up, message: Message::Epoch { epoch: 2 } }).unwrap();
    assert!(v.commands().is_empty());
}

#[test]
fn children_activate_and_park_their_edges() {
    let mut v = playing("p", "s");
    from_coord(&mut v, 50, Message::Feed { epoch: 1, child: id("c"), role: Role::Standby });
    v.handle(60, ViewerEvent::EdgeOpened { peer: id("c"), side: Side::Down }).unwrap();
    v.drain_commands();
    v.handle(70, ViewerEvent::EdgeMessage { peer: id("c"), side: Side::Down, message: Message::Activate {} }).unwrap();
    assert_eq!(v.commands(), &[ViewerCommand::SetSending { child: id("c"), on: true }]);
    v.drain_commands();
    v.handle(80, ViewerEvent::EdgeMessage { peer: id("c"), side: Side::Down, message: Message::Park {} }).unwrap();
    assert_eq!(v.commands(), &[ViewerCommand::SetSending { child: id("c"), on: false }]);
}

#[test]
fn a_silent_child_is_reported_and_dropped_children_get_a_grace_period() {
    let mut v = playing("p", "s");
    from_coord(&mut v, 50, Message::Feed { epoch: 1, child: id("c"), role: Role::Primary });
    from_coord(&mut v, 50, Message::Feed { epoch: 1, child: id("d"), role: Role::Primary });
    v.handle(60, ViewerEvent::EdgeOpened { peer: id("c"), side: Side::Down }).unwrap();
    v.handle(60, ViewerEvent::EdgeOpened { peer: id("d"), side: Side::Down }).unwrap();
    from_coord(&mut v, 70, Message::Drop { epoch: 1, child: id("d") });
    v.drain_commands();
    let mut reported = Vec::new();
    let mut closed = Vec::new();
    for t in (100..4_000).step_by(100) {
        v.handle(t, ViewerEvent::MediaProgress { peer: id("p") }).unwrap();
        v.handle(t, ViewerEvent::EdgeMessage { peer: id("d"), side: Side::Down, message: Message::Hb { seq: 1 } }).ok();
        v.handle(t, ViewerEvent::Tick).unwrap();
        for cmd in v.drain_commands() {
            match cmd {
                ViewerCommand::SendToCoordinator(Message::ChildLost { child }) => reported.push(child),
                ViewerCommand::CloseEdge { peer, .. } => closed.push((t, peer)),
                _ => {}
            }
        }
    }
    assert_eq!(reported, vec![id("c")]);
    assert!(closed.iter().any(|(t, p)| *p == id("d") && *t >= 3_070));
}

#[test]
fn waits_when_told_and_retries_after_the_hint() {
    let mut v = viewer(1);
    v.handle(0, ViewerEvent::SignallingOpen).unwrap();
    from_coord(&mut v, 10, Message::Wait { epoch: 3, retry_ms: 2_000 });
    assert_eq!(v.state(), ViewerState::Waiting);
    v.drain_commands();
    v.handle(1_500, ViewerEvent::Tick).unwrap();
    assert!(sent_to_coordinator(v.commands()).is_empty());
    v.handle(2_050, ViewerEvent::Tick).unwrap();
    assert_eq!(sent_to_coordinator(v.commands()).len(), 1);
}

#[test]
fn the_broadcaster_runs_the_same_machine_for_its_edges() {
    let me = coord();
    let mut root = Viewer::new_root(ViewerConfig::default(), me.clone());
    root.handle(0, ViewerEvent::SignallingOpen).unwrap();
    assert!(root.commands().is_empty(), "never joins");
    let cmd = crate::core::coordinator::Command::Connect { parent: me.clone(), child: id("a"), role: Role::Primary };
    let (to, message) = crate::core::outbox::to_message(&cmd, 1);
    assert_eq!(to, me);
    root.handle(10, ViewerEvent::FromServer { src: me.clone(), message }).unwrap();
    assert!(root.commands().contains(&ViewerCommand::OpenEdge { child: id("a"), role: Role::Primary }));
    root.handle(20, ViewerEvent::EdgeOpened { peer: id("a"), side: Side::Down }).unwrap();
    root.drain_commands();
    // The child crashes: reported to the (local) coordinator as a child loss.
    let mut reports = Vec::new();
    for t in (100..5_000).step_by(100) {
        root.handle(t, ViewerEvent::Tick).unwrap();
        reports.extend(sent_to_coordinator(root.commands()));
        root.drain_commands();
    }
    assert_eq!(reports, vec![Message::ChildLost { child: id("a") }]);
    let event = crate::core::coordinator::Event::from_message(me.clone(), reports[0].clone()).unwrap();
    assert_eq!(event, crate::core::coordinator::Event::ChildLost { peer: me, child: id("a") });
    assert_eq!(root.state(), ViewerState::Playing);
}

#[test]
fn a_parent_made_standby_keeps_sending_until_its_child_parks_it() {
    let mut p = playing("g", "h");
    from_coord(&mut p, 100, Message::Feed { epoch: 1, child: id("c"), role: Role::Primary });
    p.handle(110, ViewerEvent::EdgeOpened { peer: id("c"), side: Side::Down }).unwrap();
    p.drain_commands();
    // The coordinator moves `c` elsewhere and keeps us as its standby: `c` still plays us.
    from_coord(&mut p, 200, Message::Feed { epoch: 1, child: id("c"), role: Role::Standby });
    assert!(!p.commands().iter().any(|c| matches!(c, ViewerCommand::SetSending { .. })), "{:?}", p.commands());
    p.drain_commands();
    // Once its new parent delivers, `c` parks us.
    p.handle(400, ViewerEvent::EdgeMessage { peer: id("c"), side: Side::Down, message: Message::Park {} }).unwrap();
    assert!(p.commands().contains(&ViewerCommand::SetSending { child: id("c"), on: false }));
    p.drain_commands();
    // A child that never parks us is parked after the drop grace.
    from_coord(&mut p, 500, Message::Feed { epoch: 1, child: id("d"), role: Role::Primary });
    p.handle(510, ViewerEvent::EdgeOpened { peer: id("d"), side: Side::Down }).unwrap();
    from_coord(&mut p, 600, Message::Feed { epoch: 1, child: id("d"), role: Role::Standby });
    p.drain_commands();
    let grace = ViewerConfig::default().drop_grace_ms;
    let parked_d = |p: &Viewer| p.commands().contains(&ViewerCommand::SetSending { child: id("d"), on: false });
    for t in (600..600 + grace).step_by(100) {
        p.handle(t, ViewerEvent::MediaProgress { peer: id("g") }).unwrap();
        p.handle(t, ViewerEvent::EdgeMessage { peer: id("d"), side: Side::Down, message: Message::Hb { seq: 1 } }).unwrap();
        p.handle(t, ViewerEvent::Tick).unwrap();
        assert!(!parked_d(&p), "at {t}: {:?}", p.commands());
    }
    p.handle(600 + grace, ViewerEvent::Tick).unwrap();
    assert!(parked_d(&p), "{:?}", p.commands());
}

#[test]
fn a_moved_viewer_keeps_its_old_parent_as_the_standby_it_was_named() {
    let mut v = playing("p", "s");
    // Moved under `q`, with our current parent `p` as standby.
    from_coord(&mut v, 100, Message::Assign { epoch: 1, parent: id("q"), standby: Some(id("p")), depth: 2 });
    assert!(v.commands().contains(&ViewerCommand::AcceptEdge { parent: id("q"), role: Role::Primary }));
    assert!(!v.commands().contains(&ViewerCommand::CloseEdge { peer: id("p"), side: Side::Up }));
    v.drain_commands();
    v.handle(150, ViewerEvent::EdgeOpened { peer: id("q"), side: Side::Up }).unwrap();
    v.handle(200, ViewerEvent::MediaProgress { peer: id("q") }).unwrap();
    let cmds: Vec<ViewerCommand> = v.drain_commands().collect();
    assert!(cmds.contains(&ViewerCommand::RouteUpstream { peer: id("q") }), "{cmds:?}");
    assert!(cmds.contains(&ViewerCommand::SendOnEdge { peer: id("p"), side: Side::Up, message: Message::Park {} }), "{cmds:?}");
    assert!(!cmds.contains(&ViewerCommand::CloseEdge { peer: id("p"), side: Side::Up }), "{cmds:?}");
    assert_eq!(v.stats().standby.as_ref(), Some(&id("p")));
}

#[test]
fn a_child_named_again_whose_call_never_connected_is_called_again() {
    let mut p = playing("g", "h");
    from_coord(&mut p, 100, Message::Feed { epoch: 1, child: id("c"), role: Role::Primary });
    assert!(p.commands().contains(&ViewerCommand::OpenEdge { child: id("c"), role: Role::Primary }));
    p.drain_commands();
    // Named again soon: the call may still connect, nothing new.
    from_coord(&mut p, 1_000, Message::Feed { epoch: 1, child: id("c"), role: Role::Primary });
    assert!(p.commands().is_empty(), "{:?}", p.commands());
    // Named again after the call had its time: it is made again.
    let later = 100 + ViewerConfig::default().switch_timeout_ms;
    from_coord(&mut p, later, Message::Feed { epoch: 1, child: id("c"), role: Role::Primary });
    assert_eq!(p.commands(), &[ViewerCommand::OpenEdge { child: id("c"), role: Role::Primary }]);
    p.drain_commands();
    // An edge that connected is never called again.
    p.handle(later + 10, ViewerEvent::EdgeOpened { peer: id("c"), side: Side::Down }).unwrap();
    from_coord(&mut p, later + 20_000, Message::Feed { epoch: 1, child: id("c"), role: Role::Primary });
    assert!(!p.commands().iter().any(|c| matches!(c, ViewerCommand::OpenEdge { .. })), "{:?}", p.commands());
}

/// From a 100,000-viewer simulation (a viewer stuck for 42 minutes): the parent leaves, we ask
/// standby `s` to send; before its media flows the coordinator makes our new standby `n` our
/// parent. `n` is the parent from then on: asked to send, switched to, `s` let go.
#[test]
fn the_coordinators_parent_wins_over_a_failover_of_our_own() {
    let mut v = playing("p", "s");
    v.handle(40, ViewerEvent::EdgeMessage { peer: id("p"), side: Side::Up, message: Message::Leaving {} }).unwrap();
    from_coord(&mut v, 50, Message::Assign { epoch: 1, parent: id("p"), standby: Some(id("n")), depth: 2 });
    v.drain_commands();
    from_coord(&mut v, 60, Message::Assign { epoch: 1, parent: id("n"), standby: Some(id("m")), depth: 2 });
    let cmds = v.drain_commands().collect::<Vec<_>>();
    assert!(cmds.contains(&ViewerCommand::CloseEdge { peer: id("s"), side: Side::Up }), "{cmds:?}");
    v.handle(70, ViewerEvent::EdgeOpened { peer: id("n"), side: Side::Up }).unwrap();
    assert!(v.drain_commands().any(|c| c == activate("n")), "the assigned parent is asked to send once its edge opens");
    // The standby we had asked ourselves delivers first: it is no longer ours to switch to.
    let _ = v.handle(80, ViewerEvent::MediaProgress { peer: id("s") });
    v.handle(90, ViewerEvent::MediaProgress { peer: id("n") }).unwrap();
    let cmds = v.drain_commands().collect::<Vec<_>>();
    assert_eq!(routed(&cmds), vec![id("n")], "{cmds:?}");
    assert_eq!(v.stats().parent, Some(id("n")));
}

/// A parent whose edge is up but which never sends (it holds our edge parked, its order was
/// lost) is reported after `first_media_timeout_ms`, and asked to send once before that.
#[test]
fn an_assigned_parent_that_never_sends_is_asked_then_given_up() {
    let mut v = playing("p", "s");
    v.handle(100, ViewerEvent::EdgeClosed { peer: id("p"), side: Side::Up }).unwrap();
    v.handle(100, ViewerEvent::EdgeClosed { peer: id("s"), side: Side::Up }).unwrap();
    from_coord(&mut v, 200, Message::Assign { epoch: 1, parent: id("q"), standby: None, depth: 2 });
    v.drain_commands();
    v.handle(300, ViewerEvent::EdgeOpened { peer: id("q"), side: Side::Up }).unwrap();
    assert!(v.drain_commands().any(|c| c == activate("q")), "a new parent is asked to send: it may hold our edge parked");
    let limit = 200 + ViewerConfig::default().first_media_timeout_ms;
    for t in (300..limit).step_by(100) {
        v.handle(t, ViewerEvent::EdgeMessage { peer: id("q"), side: Side::Up, message: Message::Hb { seq: 1 } }).unwrap();
        v.handle(t, ViewerEvent::Tick).unwrap();
    }
    assert!(sent_to_coordinator(&v.drain_commands().collect::<Vec<_>>()).is_empty(), "not before the timeout");
    v.handle(limit, ViewerEvent::Tick).unwrap();
    let cmds = v.drain_commands().collect::<Vec<_>>();
    assert_eq!(sent_to_coordinator(&cmds), vec![Message::ParentLost { parent: id("q") }], "{cmds:?}");
    assert!(cmds.contains(&ViewerCommand::CloseEdge { peer: id("q"), side: Side::Up }));
}

#[test]
fn a_silent_parent_with_no_standby_is_reported_but_kept_in_case_it_was_only_busy() {
    let mut v = playing_alone("p");
    v.drain_commands();
    // The parent's page stalls for 900 ms: reported lost (no standby to go to), edge kept.
    let mut seen = Vec::new();
    for t in (80..=900).step_by(50) {
        v.handle(t, ViewerEvent::Tick).unwrap();
        seen.extend(v.drain_commands());
    }
    assert_eq!(sent_to_coordinator(&seen).iter().filter(|m| **m == Message::ParentLost { parent: id("p") }).count(), 1, "{seen:?}");
    assert!(!seen.contains(&ViewerCommand::CloseEdge { peer: id("p"), side: Side::Up }), "{seen:?}");
    assert_eq!(v.state(), ViewerState::Repairing);
    assert_eq!(v.stats().parent, Some(id("p")));
    // It speaks again: we play it again. The coordinator's new parent then takes over
    // make-before-break, without a second report about the old one.
    v.handle(950, ViewerEvent::MediaProgress { peer: id("p") }).unwrap();
    assert_eq!(v.state(), ViewerState::Playing);
    from_coord(&mut v, 1_000, Message::Assign { epoch: 1, parent: id("q"), standby: None, depth: 2 });
    v.handle(1_050, ViewerEvent::EdgeOpened { peer: id("q"), side: Side::Up }).unwrap();
    v.handle(1_100, ViewerEvent::MediaProgress { peer: id("p") }).unwrap();
    v.handle(1_150, ViewerEvent::MediaProgress { peer: id("q") }).unwrap();
    let seen: Vec<_> = v.drain_commands().collect();
    assert_eq!(routed(&seen), vec![id("q")]);
    assert!(seen.contains(&ViewerCommand::CloseEdge { peer: id("p"), side: Side::Up }), "{seen:?}");
    assert!(sent_to_coordinator(&seen).is_empty(), "{seen:?}");

    // A parent that stays silent is given up for good at `slow_loss_after_ms`.
    let mut v = playing_alone("p");
    v.drain_commands();
    let mut closed_at = None;
    for t in (80..5_000).step_by(50) {
        v.handle(t, ViewerEvent::Tick).unwrap();
        if v.drain_commands().any(|c| c == ViewerCommand::CloseEdge { peer: id("p"), side: Side::Up }) {
            closed_at = Some(t);
            break;
        }
    }
    let t = closed_at.expect("closed");
    assert!((3_000..=3_100).contains(&(t - 30)), "closed after {} ms", t - 30);
    assert_eq!(v.stats().parent, None);
}

#[test]
fn where_every_loss_is_slow_a_silent_parent_is_lost_at_once() {
    // The original library's detection (the seed policy): nothing to keep the edge for.
    let config = ViewerConfig { suspect_after_ms: 5_300, loss_after_ms: 5_300, slow_loss_after_ms: 5_300, jitter_factor: 0, ..ViewerConfig::default() };
    let mut v = playing_alone_with(config, "p");
    v.drain_commands();
    let closed_at = (1..200).map(|i| 30 + i * 50).find(|&t| {
        v.handle(t, ViewerEvent::Tick).unwrap();
        v.drain_commands().any(|c| c == ViewerCommand::CloseEdge { peer: id("p"), side: Side::Up })
    });
    assert_eq!(closed_at, Some(5_330));
}

#[test]
fn a_viewer_moved_as_its_parent_leaves_keeps_its_old_standby_until_the_move_is_over() {
    let mut v = playing("p", "s");
    // The coordinator heard of p's leave first: it moves us under q, with t as the new standby.
    from_coord(&mut v, 100, Message::Assign { epoch: 1, parent: id("q"), standby: Some(id("t")), depth: 2 });
    let cmds = v.drain_commands().collect::<Vec<_>>();
    assert!(cmds.contains(&ViewerCommand::AcceptEdge { parent: id("q"), role: Role::Primary }), "{cmds:?}");
    assert!(!cmds.contains(&ViewerCommand::CloseEdge { peer: id("s"), side: Side::Up }), "the old standby stays: {cmds:?}");
    assert_eq!(v.stats().standby, Some(id("s")));
    // p's notice comes before q delivers: the old standby is there to switch to.
    v.handle(116, ViewerEvent::EdgeMessage { peer: id("p"), side: Side::Up, message: Message::Leaving {} }).unwrap();
    assert!(v.drain_commands().any(|c| c == activate("s")));
    v.handle(150, ViewerEvent::MediaProgress { peer: id("s") }).unwrap();
    assert_eq!(v.stats().parent, Some(id("s")));
    v.drain_commands();
    // q delivers: the move ends, s (now our parent) is let go, t comes as the standby.
    v.handle(200, ViewerEvent::EdgeOpened { peer: id("q"), side: Side::Up }).unwrap();
    v.handle(250, ViewerEvent::MediaProgress { peer: id("q") }).unwrap();
    let cmds = v.drain_commands().collect::<Vec<_>>();
    assert_eq!(routed(&cmds), vec![id("q")]);
    assert!(cmds.contains(&ViewerCommand::CloseEdge { peer: id("s"), side: Side::Up }), "{cmds:?}");
    assert!(cmds.contains(&ViewerCommand::AcceptEdge { parent: id("t"), role: Role::Standby }), "{cmds:?}");
    assert_eq!(v.stats().standby, Some(id("t")));
}

#[test]
fn a_move_with_no_leave_lets_the_replaced_standby_go_once_it_is_over() {
    let mut v = playing("p", "s");
    from_coord(&mut v, 100, Message::Assign { epoch: 1, parent: id("q"), standby: Some(id("t")), depth: 2 });
    v.drain_commands();
    v.handle(150, ViewerEvent::EdgeOpened { peer: id("q"), side: Side::Up }).unwrap();
    v.handle(200, ViewerEvent::MediaProgress { peer: id("q") }).unwrap();
    let cmds = v.drain_commands().collect::<Vec<_>>();
    assert!(cmds.contains(&ViewerCommand::CloseEdge { peer: id("p"), side: Side::Up }), "{cmds:?}");
    assert!(cmds.contains(&ViewerCommand::CloseEdge { peer: id("s"), side: Side::Up }), "{cmds:?}");
    assert!(cmds.contains(&ViewerCommand::AcceptEdge { parent: id("t"), role: Role::Standby }), "{cmds:?}");
    assert_eq!((v.stats().parent, v.stats().standby), (Some(id("q")), Some(id("t"))));
}

#[test]
fn a_replaced_standby_is_kept_only_briefly_while_a_move_drags_on() {
    let mut v = playing("p", "s");
    from_coord(&mut v, 100, Message::Assign { epoch: 1, parent: id("q"), standby: Some(id("t")), depth: 2 });
    v.drain_commands();
    assert_eq!(v.next_timer_ms().map(|t| t <= 100 + KEEP_REPLACED_STANDBY_MS), Some(true));
    // p keeps playing; q has not delivered yet.
    for t in [150, 250, 350] {
        v.handle(t, ViewerEvent::MediaProgress { peer: id("p") }).unwrap();
    }
    v.drain_commands();
    v.handle(100 + KEEP_REPLACED_STANDBY_MS, ViewerEvent::Tick).unwrap();
    let cmds = v.drain_commands().collect::<Vec<_>>();
    assert!(cmds.contains(&ViewerCommand::CloseEdge { peer: id("s"), side: Side::Up }), "{cmds:?}");
    assert!(cmds.contains(&ViewerCommand::AcceptEdge { parent: id("t"), role: Role::Standby }), "{cmds:?}");
    assert_eq!((v.stats().parent, v.stats().standby), (Some(id("p")), Some(id("t"))), "still moving from p");
}
