use super::*;
use crate::core::protocol::{DecodeError, MAX_MESSAGE_BYTES};

fn id(s: &str) -> PeerId {
    PeerId::parse(s).unwrap()
}

fn fig(fps: u8, gap_ms: u32) -> Figures {
    Figures { fps, gap_ms, stalls: (gap_ms > STALL_MS) as u16, used: 1, slots: 2 }
}

fn parts(m: Message) -> (Figures, Vec<Level>, Vec<Record>) {
    match m {
        Message::Health { me, lv, r } => (me, lv, r),
        other => panic!("not a health report: {other:?}"),
    }
}

// ----- the message on the wire -------------------------------------------------------------

#[test]
fn health_round_trips_in_compact_arrays() {
    let m = Message::Health {
        me: Figures { fps: 30, gap_ms: 40, stalls: 0, used: 2, slots: 2 },
        lv: vec![Level { ok: 2, warn: 0, bad: 0, fps_sum: 60 }],
        r: vec![Record { id: id("tc-v-1"), figures: fig(29, 250) }],
    };
    let text = m.encode();
    assert_eq!(text, r#"{"lv":[[2,0,0,60]],"me":[30,40,0,2,2],"r":[["tc-v-1",29,250,1,1,2]],"t":"health","v":1}"#);
    assert_eq!(Message::decode(&text), Ok(m));
    assert!(Message::decode(&text).unwrap().is_edge());
    // A leaf's report: no levels, no records.
    let leaf = Message::decode(r#"{"v":1,"t":"health","me":[12,90,0,0,0]}"#).unwrap();
    assert_eq!(parts(leaf), (Figures { fps: 12, gap_ms: 90, stalls: 0, used: 0, slots: 0 }, vec![], vec![]));
}

#[test]
fn the_largest_report_fits_the_message_limit() {
    let worst = Figures { fps: MAX_FPS, gap_ms: MAX_GAP_MS, stalls: u16::MAX, used: MAX_USED, slots: MAX_SLOTS };
    let level = Level { ok: MAX_LEVEL_COUNT, warn: MAX_LEVEL_COUNT, bad: MAX_LEVEL_COUNT, fps_sum: 3 * MAX_LEVEL_COUNT * MAX_FPS as u32 };
    let long_id = id(&"x".repeat(crate::core::ids::MAX_PEER_ID_LEN));
    let m = Message::Health {
        me: worst,
        lv: vec![level; MAX_LEVELS],
        r: vec![Record { id: long_id, figures: worst }; MAX_RECORDS],
    };
    let text = m.encode();
    assert!(text.len() <= MAX_MESSAGE_BYTES, "{} bytes", text.len());
    assert_eq!(Message::decode(&text), Ok(m));
}

fn rejects(text: &str) -> DecodeError {
    Message::decode(text).expect_err(text)
}

#[test]
fn rejects_health_out_of_range() {
    for (text, field) in [
        (r#"{"v":1,"t":"health","me":[241,0,0,0,0]}"#, "fps"),
        (r#"{"v":1,"t":"health","me":[30,600001,0,0,0]}"#, "gap_ms"),
        (r#"{"v":1,"t":"health","me":[30,0,0,65,0]}"#, "used"),
        (r#"{"v":1,"t":"health","me":[30,0,0,0,17]}"#, "slots"),
        (r#"{"v":1,"t":"health","me":[30,0,0,0,0],"lv":[[1000001,0,0,0]]}"#, "lv"),
        (r#"{"v":1,"t":"health","me":[30,0,0,0,0],"lv":[[1,0,0,241]]}"#, "lv fps"),
        (r#"{"v":1,"t":"health","me":[30,0,0,0,0],"lv":[[0,0,0,1]]}"#, "lv fps"),
        (r#"{"v":1,"t":"health","me":[30,0,0,0,0],"r":[["a",250,0,0,0,0]]}"#, "fps"),
    ] {
        assert_eq!(rejects(text), DecodeError::OutOfRange(field), "{text}");
    }
    let levels = vec!["[1,0,0,30]"; MAX_LEVELS + 1].join(",");
    let text = format!(r#"{{"v":1,"t":"health","me":[30,0,0,0,0],"lv":[{levels}]}}"#);
    assert_eq!(rejects(&text), DecodeError::OutOfRange("lv"));
    let records = vec![r#"["a",1,0,0,0,0]"#; MAX_RECORDS + 1].join(",");
    let text = format!(r#"{{"v":1,"t":"health","me":[30,0,0,0,0],"r":[{records}]}}"#);
    assert_eq!(rejects(&text), DecodeError::OutOfRange("r"));
}

#[test]
fn rejects_malformed_health() {
    for text in [
        r#"{"v":1,"t":"health"}"#,
        r#"{"v":1,"t":"health","me":[30,0,0,0]}"#,
        r#"{"v":1,"t":"health","me":[30,0,0,0,0,0]}"#,
        r#"{"v":1,"t":"health","me":{"fps":30,"gap_ms":0,"stalls":0,"used":0,"slots":0}}"#,
        r#"{"v":1,"t":"health","me":[30.5,0,0,0,0]}"#,
        r#"{"v":1,"t":"health","me":[-1,0,0,0,0]}"#,
        r#"{"v":1,"t":"health","me":[30,0,65536,0,0]}"#,
        r#"{"v":1,"t":"health","me":[30,0,0,0,0],"lv":[[1,0,0]]}"#,
        r#"{"v":1,"t":"health","me":[30,0,0,0,0],"lv":[[1,0,0,30,0]]}"#,
        r#"{"v":1,"t":"health","me":[30,0,0,0,0],"lv":[[4294967296,0,0,0]]}"#,
        r#"{"v":1,"t":"health","me":[30,0,0,0,0],"r":[["bad id",1,0,0,0,0]]}"#,
        r#"{"v":1,"t":"health","me":[30,0,0,0,0],"r":[["",1,0,0,0,0]]}"#,
        r#"{"v":1,"t":"health","me":[30,0,0,0,0],"r":[[1,1,0,0,0,0]]}"#,
        r#"{"v":1,"t":"health","me":[30,0,0,0,0],"r":[["a",1,0,0,0]]}"#,
        r#"{"v":1,"t":"health","me":[30,0,0,0,0],"r":"a"}"#,
        r#"{"v":1,"t":"health","me":[30,0,0,0,0],"src":"x"}"#,
        r#"{"v":1,"t":"health","me":[30,0,0,0,0],"lv":null}"#,
    ] {
        assert!(matches!(rejects(text), DecodeError::Invalid(_)), "{text}");
    }
    let long = format!(r#"{{"v":1,"t":"health","me":[30,0,0,0,0],"r":[["{}",1,0,0,0,0]]}}"#, "a".repeat(65));
    assert!(matches!(rejects(&long), DecodeError::Invalid(_)));
}

#[test]
fn classes_follow_frames_and_gaps() {
    assert_eq!(fig(30, 40).class(), Class::Ok);
    assert_eq!(fig(30, 201).class(), Class::Warn);
    assert_eq!(Figures { stalls: 1, ..fig(30, 40) }.class(), Class::Warn);
    assert_eq!(fig(30, 1_000).class(), Class::Bad);
    assert_eq!(fig(0, 40).class(), Class::Bad);
    let clamped = Figures::sample(1_000, u32::MAX, 70_000, 500, 200);
    assert_eq!(clamped, Figures { fps: MAX_FPS, gap_ms: MAX_GAP_MS, stalls: u16::MAX, used: MAX_USED, slots: MAX_SLOTS });
    assert_eq!(clamped.check(), Ok(()));
}

// ----- aggregation at a relay --------------------------------------------------------------

#[test]
fn a_relay_sums_its_subtree_by_level() {
    let mut relay = HealthRelay::new();
    // Child a: healthy, with two healthy children and one stalled grandchild below them.
    let a_levels = vec![Level { ok: 2, warn: 0, bad: 0, fps_sum: 60 }, Level { ok: 0, warn: 1, bad: 0, fps_sum: 25 }];
    relay.from_child(0, &id("a"), fig(30, 40), a_levels, vec![]).unwrap();
    // Child b: frozen leaf.
    relay.from_child(10, &id("b"), fig(0, 1_500), vec![], vec![]).unwrap();
    assert_eq!(
        relay.levels(20),
        vec![
            Level { ok: 1, warn: 0, bad: 1, fps_sum: 30 },
            Level { ok: 2, warn: 0, bad: 0, fps_sum: 60 },
            Level { ok: 0, warn: 1, bad: 0, fps_sum: 25 },
        ]
    );
    let (me, lv, _) = parts(relay.report(30, fig(30, 35)).unwrap());
    assert_eq!(me, fig(30, 35));
    assert_eq!(lv.len(), 3);
    // A child that stopped reporting stops counting.
    assert_eq!(relay.levels(STALE_MS + 10).len(), 0);
    assert_eq!(relay.reporting(STALE_MS + 10), 0);
}

#[test]
fn levels_deeper_than_a_report_holds_are_folded_into_the_last() {
    let mut relay = HealthRelay::new();
    let deep = vec![Level { ok: 1, warn: 0, bad: 0, fps_sum: 30 }; MAX_LEVELS];
    relay.from_child(0, &id("a"), fig(30, 40), deep, vec![]).unwrap();
    let lv = relay.levels(1);
    assert_eq!(lv.len(), MAX_LEVELS);
    assert_eq!(lv[MAX_LEVELS - 1].ok, 2);
    assert_eq!(lv.iter().map(Level::viewers).sum::<u64>(), MAX_LEVELS as u64 + 1);
}

#[test]
fn sums_stay_valid_however_large() {
    let mut relay = HealthRelay::new();
    let huge = Level { ok: MAX_LEVEL_COUNT, warn: MAX_LEVEL_COUNT, bad: MAX_LEVEL_COUNT, fps_sum: u32::MAX };
    for (t, c) in ["a", "b", "c"].iter().enumerate() {
        relay.from_child(t as u64, &id(c), fig(30, 40), vec![huge; 3], vec![]).unwrap();
    }
    let (me, lv, r) = parts(relay.report(10, fig(30, 40)).unwrap());
    assert_eq!(check(&me, &lv, &r), Ok(()));
    assert!(lv[1..].iter().all(|l| l.ok == MAX_LEVEL_COUNT && l.fps_sum as u64 <= l.viewers() * MAX_FPS as u64));
}

#[test]
fn records_go_up_stalls_first_then_each_child_in_turn() {
    let mut relay = HealthRelay::new();
    let many = |prefix: &str, n: usize, gap: u32| -> Vec<Record> {
        (0..n).map(|i| Record { id: id(&format!("{prefix}{i}")), figures: fig(30, gap) }).collect()
    };
    // a sends 20 healthy records, b 20 healthy and c two stalled ones.
    relay.from_child(0, &id("a"), fig(30, 40), vec![], many("a", 20, 40)).unwrap();
    relay.from_child(0, &id("b"), fig(30, 40), vec![], many("b", 20, 40)).unwrap();
    relay.from_child(0, &id("c"), fig(30, 40), vec![], many("c", 2, 900)).unwrap();
    let (_, _, r) = parts(relay.report(5, fig(30, 40)).unwrap());
    assert_eq!(r.len(), MAX_RECORDS);
    assert!(r[..2].iter().all(|x| x.id.as_str().starts_with('c') && x.figures.gap_ms == 900), "{r:?}");
    let from = |p: char| r.iter().filter(|x| x.id.as_str().starts_with(p)).count();
    assert!(from('a') >= 10 && from('b') >= 10, "a fair share each: {r:?}");
    // Nothing is sent twice; what is left goes in the next report.
    let (_, _, next) = parts(relay.report(1_000, fig(30, 40)).unwrap());
    assert!(next.iter().all(|x| !r.contains(x)));
    assert_eq!(r.len() + next.len(), 3 + 42);
}

#[test]
fn a_waiting_record_keeps_its_stall_when_a_newer_one_arrives() {
    let mut relay = HealthRelay::new();
    let x = |gap| vec![Record { id: id("x"), figures: fig(30, gap) }];
    relay.from_child(0, &id("a"), fig(30, 40), vec![], x(1_300)).unwrap();
    relay.from_child(600, &id("a"), fig(30, 40), vec![], x(40)).unwrap();
    let r = relay.take_records(10);
    let xs: Vec<&Record> = r.iter().filter(|r| r.id.as_str() == "x").collect();
    assert_eq!(xs.len(), 1);
    assert_eq!(xs[0].figures.gap_ms, 1_300);
    assert_eq!(xs[0].figures.stalls, 1);
}

#[test]
fn a_child_reporting_too_often_or_one_too_many_is_refused() {
    let mut relay = HealthRelay::new();
    relay.from_child(0, &id("a"), fig(30, 40), vec![], vec![]).unwrap();
    assert_eq!(relay.from_child(MIN_CHILD_INTERVAL_MS - 1, &id("a"), fig(1, 40), vec![], vec![]), Err(Refused::TooSoon));
    assert_eq!(relay.levels(MIN_CHILD_INTERVAL_MS).first().map(|l| l.fps_sum), Some(30), "a refused report changes nothing");
    for i in 1..MAX_CHILDREN {
        relay.from_child(1, &id(&format!("c{i}")), fig(30, 40), vec![], vec![]).unwrap();
    }
    assert_eq!(relay.from_child(2, &id("one-more"), fig(30, 40), vec![], vec![]), Err(Refused::TooManyChildren));
    relay.forget(&id("c1"));
    assert_eq!(relay.from_child(3, &id("one-more"), fig(30, 40), vec![], vec![]), Ok(()));
}

#[test]
fn a_relay_sends_at_most_one_report_per_interval() {
    let mut relay = HealthRelay::new();
    assert!(relay.report(0, fig(30, 40)).is_some());
    assert!(relay.report(MIN_SEND_INTERVAL_MS - 1, fig(30, 40)).is_none());
    assert!(relay.report(MIN_SEND_INTERVAL_MS, fig(30, 40)).is_some());
}

#[test]
fn a_hostile_child_cannot_grow_a_relays_memory() {
    let mut relay = HealthRelay::new();
    let mut t = 0;
    for round in 0..2_000u32 {
        t += MIN_CHILD_INTERVAL_MS;
        let records = (0..MAX_RECORDS).map(|i| Record { id: id(&format!("r{round}x{i}")), figures: fig(30, 900) }).collect();
        relay.from_child(t, &id("hostile"), fig(30, 40), vec![Level { ok: 5, warn: 0, bad: 0, fps_sum: 0 }; MAX_LEVELS], records).unwrap();
    }
    assert_eq!(relay.children.len(), 1);
    assert!(relay.children[0].queue.len() <= QUEUE_PER_CHILD);
    assert!(relay.children[0].levels.len() <= MAX_LEVELS);
}

// ----- at the broadcaster ------------------------------------------------------------------

#[test]
fn the_board_keeps_only_records_from_below_the_reporting_child() {
    let mut board = HealthBoard::new();
    let below_a = |p: &PeerId| ["a", "a1", "a2"].contains(&p.as_str());
    let records = vec![
        Record { id: id("a1"), figures: fig(30, 40) },
        Record { id: id("a2"), figures: fig(20, 700) },
        Record { id: id("elsewhere"), figures: fig(0, 9_000) },
    ];
    let taken = board.from_child(1_000, &id("a"), fig(30, 40), vec![], records, below_a).unwrap();
    let mut names: Vec<&str> = taken.iter().map(|r| r.id.as_str()).collect();
    names.sort();
    assert_eq!(names, ["a", "a1", "a2"]);
    assert!(board.seen(&id("elsewhere")).is_none());
    let a2 = board.seen(&id("a2")).unwrap();
    assert_eq!((a2.figures.fps, a2.recent_peak(1_000)), (20, 700));
    // The peak colours the viewer for a while after it recovered, then fades.
    board.from_child(2_000, &id("a"), fig(30, 40), vec![], vec![Record { id: id("a2"), figures: fig(30, 40) }], below_a).unwrap();
    let a2 = board.seen(&id("a2")).unwrap();
    assert_eq!((a2.figures.gap_ms, a2.recent_peak(2_000)), (40, 700));
    assert_eq!(a2.recent_peak(1_000 + PEAK_MS + 1), 0);
    board.retain(|p| p.as_str() != "a1");
    assert!(board.seen(&id("a1")).is_none());
    assert_eq!(board.len(), 2);
}

#[test]
fn health_flows_up_a_chain_of_relays_to_the_broadcaster() {
    // leaf -> mid -> top -> broadcaster, each reporting once a second.
    let (leaf, mid, top) = (id("leaf"), id("mid"), id("top"));
    let mut mid_relay = HealthRelay::new();
    let mut top_relay = HealthRelay::new();
    let mut board = HealthBoard::new();
    let everyone = |_: &PeerId| true;
    let mut t = 0;
    for _ in 0..3 {
        t += 1_000;
        let (me, lv, r) = parts(HealthRelay::new().report(t, fig(12, 1_100)).unwrap());
        mid_relay.from_child(t, &leaf, me, lv, r).unwrap();
        let (me, lv, r) = parts(mid_relay.report(t, fig(12, 90)).unwrap());
        top_relay.from_child(t, &mid, me, lv, r).unwrap();
        let (me, lv, r) = parts(top_relay.report(t, fig(12, 85)).unwrap());
        board.from_child(t, &top, me, lv, r, everyone).unwrap();
    }
    let levels = board.levels(t);
    assert_eq!(levels.iter().map(|l| (l.ok, l.warn, l.bad)).collect::<Vec<_>>(), vec![(1, 0, 0), (1, 0, 0), (0, 0, 1)]);
    assert_eq!(board.seen(&leaf).unwrap().figures.gap_ms, 1_100);
    assert_eq!(board.len(), 3);
}
