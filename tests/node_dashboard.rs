//! The broadcaster node's dashboard, driven as the browser driver drives it: viewers join through
//! signalling, health reports arrive on the root's edges, a relay is lost and repaired. Checks
//! the event log (joins, standby activations, the loss with the stall its viewers reported,
//! moves) and the frame the dashboard page draws.

use serde_json::Value;
use treecast::core::health::{Figures, Level, Record};
use treecast::core::ids::PeerId;
use treecast::core::protocol::Message;
use treecast::core::viewer::Side;
use treecast::node::broadcaster::{BroadcastConfig, BroadcasterNode};
use treecast::node::{DriverCommand, DriverEvent};

const ME: &str = "tc-lv1-0123456789abcdef";

fn id(s: &str) -> PeerId {
    PeerId::parse(s).unwrap()
}

struct Bench {
    node: BroadcasterNode,
    now: u64,
    /// The root's open edges, whose heartbeats the bench plays.
    kids: Vec<String>,
}

impl Bench {
    fn new() -> Bench {
        let config: BroadcastConfig = serde_json::from_str(r#"{"fanout":1}"#).unwrap();
        Bench { node: BroadcasterNode::new(id(ME), &config, 7), now: 1_000, kids: Vec::new() }
    }

    fn feed(&mut self, event: DriverEvent) -> Vec<DriverCommand> {
        let out = self.node.handle(self.now, event);
        // The root's edges open as soon as it calls (no real network here).
        for c in &out {
            match c {
                DriverCommand::Call { child, .. } => {
                    self.node.handle(self.now, DriverEvent::EdgeOpen { peer: child.to_string(), side: Side::Down });
                    self.kids.push(child.to_string());
                }
                DriverCommand::Close { peer, side: Side::Down } => self.kids.retain(|k| k != peer.as_str()),
                _ => {}
            }
        }
        out
    }

    fn signal(&mut self, from: &str, m: Message) {
        self.feed(DriverEvent::Signal { from: from.into(), text: m.encode() });
    }

    fn health(&mut self, from: &str, me: Figures, lv: Vec<Level>, r: Vec<Record>) -> Vec<DriverCommand> {
        let text = Message::Health { me, lv, r }.encode();
        self.feed(DriverEvent::EdgeMessage { peer: from.into(), side: Side::Down, text })
    }

    fn tick(&mut self, ms: u64) {
        for _ in 0..(ms / 50) {
            self.now += 50;
            self.feed(DriverEvent::Tick);
            for k in self.kids.clone() {
                let text = Message::Hb { seq: 1 }.encode();
                self.node.handle(self.now, DriverEvent::EdgeMessage { peer: k, side: Side::Down, text });
            }
        }
    }

    fn frame(&mut self, since: u64, max_nodes: u32) -> Value {
        serde_json::from_str(&self.node.dashboard(self.now, since, max_nodes)).unwrap()
    }

    fn parent_of(&mut self, peer: &str) -> String {
        let tree = self.node.tree();
        tree.nodes.iter().find(|n| n.id.as_str() == peer).map(|n| n.parent.to_string()).unwrap_or_default()
    }
}

fn fig(fps: u8, gap_ms: u32) -> Figures {
    Figures { fps, gap_ms, stalls: (gap_ms > 200) as u16, used: 0, slots: 2 }
}

fn kinds(frame: &Value) -> Vec<String> {
    frame["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect()
}

/// Broadcaster -> v1 -> {v2, v3}, v2 -> {v4, v5}, v3 -> {v6}: joins one at a time.
fn seven() -> Bench {
    let mut b = Bench::new();
    for i in 1..=6 {
        b.signal(&format!("v{i}"), Message::Join { slots: 2, at: None });
        b.tick(300);
    }
    b.tick(3_000);
    b
}

#[test]
fn joins_are_logged_with_where_the_viewer_went() {
    let mut b = seven();
    let frame = b.frame(0, 2_000);
    assert_eq!(frame["summary"]["viewers"], 6);
    let joins: Vec<&Value> = frame["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "join").collect();
    assert_eq!(joins.len(), 6, "{frame}");
    assert_eq!(joins[0]["peer"], "v1");
    assert_eq!(joins[0]["to"], ME);
    assert_eq!(joins[0]["depth"], 1);
    assert!(joins.iter().skip(1).all(|j| j["depth"].as_u64().unwrap() >= 2));
    // The cursor: nothing new since the last entry.
    let next = frame["next_seq"].as_u64().unwrap();
    assert_eq!(b.frame(next, 2_000)["events"].as_array().unwrap().len(), 0);
}

#[test]
fn the_frame_lists_every_node_with_parent_standby_and_subtree() {
    let mut b = seven();
    let frame = b.frame(0, 2_000);
    let nodes = frame["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 6);
    let tree = b.node.tree();
    for (i, row) in nodes.iter().enumerate() {
        let id = row[0].as_str().unwrap();
        let view = tree.nodes.iter().find(|n| n.id.as_str() == id).unwrap();
        let parent = row[1].as_i64().unwrap();
        let parent_id = if parent < 0 { ME.to_owned() } else { nodes[parent as usize][0].as_str().unwrap().to_owned() };
        assert!(parent < i as i64, "parents come first");
        assert_eq!(parent_id, view.parent.as_str());
        let standby = row[2].as_i64().map(|s| if s < 0 { ME.to_owned() } else { nodes[s as usize][0].as_str().unwrap().to_owned() });
        assert_eq!(standby.as_deref(), view.standby.as_ref().map(|s| s.as_str()));
        assert_eq!(row[3].as_u64().unwrap(), view.depth as u64);
        assert_eq!(row[6].as_u64().unwrap(), view.subtree_size as u64);
        assert!(row[7].is_null(), "no health reported yet");
    }
    let levels = frame["levels"].as_array().unwrap();
    assert_eq!(levels.iter().map(|l| l["viewers"].as_u64().unwrap()).sum::<u64>(), 6);
    assert_eq!(frame["summary"]["unknown"], 6);
    // Above max_nodes only the levels come.
    let small = b.frame(0, 5);
    assert!(small.get("nodes").is_none());
    assert_eq!(small["levels"], frame["levels"]);
}

#[test]
fn health_reports_colour_nodes_and_levels() {
    let mut b = seven();
    let v1 = b.node.tree().nodes.iter().find(|n| n.depth == 1).unwrap().id.to_string();
    let below: Vec<String> = b.node.tree().nodes.iter().filter(|n| n.depth >= 2).map(|n| n.id.to_string()).collect();
    let records: Vec<Record> = below.iter().map(|p| Record { id: id(p), figures: fig(12, 90) }).collect();
    let lv = vec![Level { ok: 2, warn: 0, bad: 0, fps_sum: 24 }, Level { ok: 2, warn: 1, bad: 0, fps_sum: 36 }];
    let out = b.health(&v1, fig(12, 80), lv, records);
    assert!(out.iter().all(|c| !matches!(c, DriverCommand::Log { level: "warn", .. })), "{out:?}");
    let frame = b.frame(0, 2_000);
    let nodes = frame["nodes"].as_array().unwrap();
    assert!(nodes.iter().all(|n| n[7].is_array()), "every node has figures: {frame}");
    assert_eq!(frame["levels"][0]["ok"], 1);
    assert_eq!(frame["levels"][2]["warn"], 1);
    assert_eq!(frame["summary"]["ok"], 5);
    assert_eq!(frame["summary"]["warn"], 1);
    assert_eq!(frame["summary"]["unknown"], 0);
}

#[test]
fn health_from_a_stranger_or_about_strangers_is_dropped() {
    let mut b = seven();
    let v1 = b.node.tree().nodes.iter().find(|n| n.depth == 1).unwrap().id.to_string();
    let deep = b.node.tree().nodes.iter().find(|n| n.depth == 3).unwrap().id.to_string();
    // A viewer deeper down cannot report to the broadcaster directly...
    let out = b.health(&deep, fig(1, 5_000), vec![], vec![]);
    assert!(out.iter().any(|c| matches!(c, DriverCommand::Log { level: "warn", text } if text.contains("not a child"))), "{out:?}");
    // ...and v1 cannot speak for ids outside its subtree (here: unknown ones).
    let bogus = vec![Record { id: id("someone-else"), figures: fig(0, 9_000) }];
    b.health(&v1, fig(12, 80), vec![], bogus);
    assert!(b.node.dashboard_state().board().seen(&id("someone-else")).is_none());
    assert!(b.node.dashboard_state().board().seen(&id(&deep)).is_none());
    // Too often: refused, said so, nothing changed.
    let out = b.health(&v1, fig(1, 80), vec![], vec![]);
    assert!(out.iter().any(|c| matches!(c, DriverCommand::Log { level: "warn", text } if text.contains("too soon"))), "{out:?}");
    assert_eq!(b.node.dashboard_state().board().seen(&id(&v1)).unwrap().figures.fps, 12);
}

#[test]
fn a_lost_relay_is_logged_with_its_viewers_standby_switches_and_the_stall_they_reported() {
    let mut b = seven();
    let tree = b.node.tree();
    let relay = tree.nodes.iter().filter(|n| n.depth == 2 && !n.children.is_empty()).max_by_key(|n| n.subtree_size).unwrap().clone();
    let top = relay.parent.to_string();
    let cursor = b.frame(0, 2_000)["next_seq"].as_u64().unwrap();
    // Its children notice first and switch to their standbys; one reports a 640 ms gap.
    for c in &relay.children {
        assert!(tree.nodes.iter().find(|n| n.id == *c).unwrap().standby.is_some(), "{c} has a standby");
        b.signal(c.as_str(), Message::ParentLost { parent: relay.id.clone() });
    }
    b.tick(1_000);
    let first = relay.children[0].to_string();
    let report = vec![Record { id: id(&first), figures: fig(12, 640) }];
    b.health(&top, fig(12, 80), vec![], report);
    // Its parent reports it lost 2 s later.
    b.tick(2_000);
    b.signal(&top, Message::ChildLost { child: relay.id.clone() });
    b.tick(3_000);
    let frame = b.frame(cursor, 2_000);
    let events = frame["events"].as_array().unwrap();
    let standbys: Vec<&Value> = events.iter().filter(|e| e["kind"] == "standby").collect();
    // (A child whose standby the coordinator had to take back meanwhile is re-placed: a move.)
    assert!(!standbys.is_empty(), "{frame}");
    for s in &standbys {
        assert_eq!(s["from"], relay.id.as_str());
        let was = tree.nodes.iter().find(|n| n.id.as_str() == s["peer"]).unwrap();
        assert_eq!(s["to"].as_str(), was.standby.as_ref().map(|p| p.as_str()), "its standby became its parent");
    }
    let switched = standbys.iter().find(|s| s["peer"] == first.as_str()).unwrap();
    assert_eq!(switched["stall"]["max_gap_ms"], 640);
    let loss = events.iter().find(|e| e["kind"] == "loss").expect("the loss is logged");
    assert_eq!(loss["peer"], relay.id.as_str());
    assert_eq!(loss["via"], "parent");
    assert_eq!(loss["depth"], 2);
    assert_eq!(loss["stall"]["viewers"], relay.children.len());
    assert_eq!(loss["stall"]["max_gap_ms"], 640, "the gap reported before the loss counts: {loss}");
    assert_eq!(frame["summary"]["repairs_last_minute"], 1);
    assert_eq!(frame["summary"]["repairs"], 1, "the total counts the repairs the log shows");
    assert_eq!(frame["summary"]["viewers"], 5);
    // A later report from another child of the lost relay is attributed to the loss too.
    let second = relay.children.get(1).map(|c| c.to_string());
    if let Some(second) = second {
        let top_now = b.parent_of(&second);
        let mut via = second.clone();
        while b.parent_of(&via) != ME {
            via = b.parent_of(&via);
        }
        b.tick(1_000);
        b.health(&via, fig(12, 80), vec![], vec![Record { id: id(&second), figures: fig(12, 900) }]);
        let frame = b.frame(cursor, 2_000);
        let loss = frame["events"].as_array().unwrap().iter().find(|e| e["kind"] == "loss").unwrap().clone();
        assert_eq!(loss["stall"]["max_gap_ms"], 900, "{loss} (via {via}, parent {top_now})");
        assert_eq!(loss["stall"]["reported"], 2);
    }
}

#[test]
fn a_graceful_leave_and_the_moves_that_repair_it_are_logged() {
    let mut b = seven();
    let tree = b.node.tree();
    let relay = tree.nodes.iter().find(|n| n.depth == 2 && !n.children.is_empty()).unwrap().clone();
    let cursor = b.frame(0, 2_000)["next_seq"].as_u64().unwrap();
    b.signal(relay.id.as_str(), Message::Leave {});
    b.tick(2_000);
    let frame = b.frame(cursor, 2_000);
    let events = frame["events"].as_array().unwrap();
    let leave = events.iter().find(|e| e["kind"] == "leave").expect("the leave is logged");
    assert_eq!(leave["below"], relay.subtree_size - 1);
    assert_eq!(leave["stall"]["viewers"], relay.children.len());
    let moves: Vec<&Value> = events.iter().filter(|e| e["kind"] == "move").collect();
    assert!(!moves.is_empty(), "the repair moved viewers: {frame}");
    assert!(moves.iter().any(|m| m["cause"] == leave["seq"]), "moves name the departure they repair: {frame}");
    for m in moves {
        assert_ne!(m["from"], m["to"]);
    }
    assert_eq!(kinds(&frame).iter().filter(|k| *k == "join").count(), 0);
}

#[test]
fn a_reload_is_logged_and_the_restored_tree_is_not_a_flood_of_moves() {
    let b = seven();
    let snapshot = b.node.snapshot();
    let config: BroadcastConfig = serde_json::from_str(r#"{"fanout":1}"#).unwrap();
    let (node, error) = BroadcasterNode::restore(id(ME), &config, 8, &snapshot, b.now);
    assert!(error.is_none());
    let mut b = Bench { node, now: b.now, kids: b.kids };
    let tree = b.node.tree();
    for n in &tree.nodes {
        let at = treecast::core::protocol::Position { parent: Some(n.parent.clone()), standby: n.standby.clone() };
        b.signal(n.id.as_str(), Message::Join { slots: 2, at: Some(at) });
    }
    b.tick(1_000);
    let frame = b.frame(0, 2_000);
    assert_eq!(kinds(&frame), vec!["reload"], "{frame}");
    assert_eq!(frame["events"][0]["below"], 6);
    assert_eq!(frame["epoch"], 8);
    let (_, error) = BroadcasterNode::restore(id(ME), &config, 9, "{not json", b.now);
    assert!(error.is_some());
}

#[test]
fn the_frame_at_a_thousand_viewers_is_cheap_to_build() {
    let mut b = Bench::new();
    for i in 0..1_000 {
        b.signal(&format!("v{i}"), Message::Join { slots: 2, at: None });
        if i % 20 == 0 {
            b.tick(250);
        }
    }
    b.tick(20_000);
    let started = std::time::Instant::now();
    let mut bytes = 0;
    for _ in 0..20 {
        bytes = b.node.dashboard(b.now, u64::MAX, 2_000).len();
    }
    let each = started.elapsed() / 20;
    println!("dashboard frame at 1,000 viewers: {bytes} bytes, {each:?} to build (native, release)");
    assert!(each.as_millis() < 50, "{each:?}");
}


#[test]
fn the_tree_view_says_whether_a_move_is_still_to_come() {
    let mut b = seven();
    assert!(!b.node.tree().settled, "newcomers on probation: their slots may still be used");
    b.tick(31_000);
    assert!(b.node.tree().settled, "probation over, nothing left to move");
}
