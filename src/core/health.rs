//! Viewers' health, carried up the tree to the broadcaster (sans-IO, bounded everywhere).
//!
//! About once a second each viewer's player samples what its viewer actually sees (frames
//! presented in the last second, the longest gap between two frames and the stalls since its
//! previous report) and the viewer machine sends a `health` message to its primary parent on
//! the edge's data channel, never through the PeerServer. A relay folds its children's latest
//! reports into its own:
//!
//! - `lv`: its subtree by level, viewers per health class and the sum of their frame rates.
//!   Summed up the tree, so the broadcaster gets exact per-level figures at any size.
//! - `r`: up to `MAX_RECORDS` individual records of viewers below it, stalls first, then one
//!   child at a time in turn (so a child that floods cannot starve its siblings). Records wait
//!   in a short queue per child, merged by id (a stall survives coalescing: longest gap kept,
//!   stalls added). Enough to colour every node of a few hundred viewers within seconds.
//!
//! Memory at a relay: at most `MAX_CHILDREN` children x (`MAX_LEVELS` levels + `QUEUE_PER_CHILD`
//! records); a child that stops reporting is forgotten after `STALE_MS`; a child reporting more
//! often than every `MIN_CHILD_INTERVAL_MS` is refused. At the broadcaster, `HealthBoard` keeps
//! the latest figures per viewer, only for viewers its tree places below the child that
//! forwarded them (a viewer can only speak for its own subtree, whose media it carries anyway).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::core::ids::PeerId;
use crate::core::protocol::{Message, MAX_SLOTS};

/// How often a viewer's player samples its picture (and the machine reports).
pub const REPORT_EVERY_MS: u64 = 1_000;
/// A node sends at most one report per this, however often it is sampled.
pub const MIN_SEND_INTERVAL_MS: u64 = 900;
/// Reports from one child closer together than this are refused.
pub const MIN_CHILD_INTERVAL_MS: u64 = 500;
/// A child whose last report is older than this no longer counts.
pub const STALE_MS: u64 = 4_000;
/// Levels a report describes; deeper ones are counted in the last.
pub const MAX_LEVELS: usize = 24;
/// Individual records per report.
pub const MAX_RECORDS: usize = 24;
/// Children whose reports a relay keeps.
pub const MAX_CHILDREN: usize = 64;
/// Records waiting to be forwarded, per child.
pub const QUEUE_PER_CHILD: usize = 32;
pub const MAX_FPS: u8 = 240;
/// Ten minutes: a longer gap is reported as this.
pub const MAX_GAP_MS: u32 = 600_000;
pub const MAX_USED: u8 = 64;
/// Largest count of one class on one level.
pub const MAX_LEVEL_COUNT: u32 = 1_000_000;
/// A gap between presented frames longer than this is a stall (as the player counts them).
pub const STALL_MS: u32 = 200;
/// A gap this long (or no frame in the last second) is a frozen picture.
pub const FROZEN_MS: u32 = 1_000;
/// The broadcaster keeps figures for at most this many viewers.
pub const MAX_SEEN: usize = 200_000;
/// How long a stall keeps a viewer's colour (the dashboard's "recent stall").
pub const PEAK_MS: u64 = 30_000;

/// One viewer's figures over its last report window.
/// On the wire: `[fps, gap_ms, stalls, used, slots]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "(u8, u32, u16, u8, u8)", into = "(u8, u32, u16, u8, u8)")]
pub struct Figures {
    /// Frames presented in the last second.
    pub fps: u8,
    /// Longest gap between presented frames since the previous report (including the gap still
    /// open at report time), ms.
    pub gap_ms: u32,
    /// Gaps longer than `STALL_MS` since the previous report.
    pub stalls: u16,
    /// Children it feeds now (primary edges).
    pub used: u8,
    /// Children it offered to feed.
    pub slots: u8,
}

impl From<(u8, u32, u16, u8, u8)> for Figures {
    fn from((fps, gap_ms, stalls, used, slots): (u8, u32, u16, u8, u8)) -> Figures {
        Figures { fps, gap_ms, stalls, used, slots }
    }
}

impl From<Figures> for (u8, u32, u16, u8, u8) {
    fn from(f: Figures) -> Self {
        (f.fps, f.gap_ms, f.stalls, f.used, f.slots)
    }
}

/// Health at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Ok,
    /// A stall (a gap over `STALL_MS`) in the last window.
    Warn,
    /// Frozen: no frame in the last second, or a gap of `FROZEN_MS` or more.
    Bad,
}

impl Figures {
    /// Figures from a driver's sample, clamped into the wire's ranges.
    pub fn sample(fps: u32, gap_ms: u32, stalls: u32, used: usize, slots: u8) -> Figures {
        Figures {
            fps: fps.min(MAX_FPS as u32) as u8,
            gap_ms: gap_ms.min(MAX_GAP_MS),
            stalls: stalls.min(u16::MAX as u32) as u16,
            used: used.min(MAX_USED as usize) as u8,
            slots: slots.min(MAX_SLOTS),
        }
    }

    pub fn class(&self) -> Class {
        if self.fps == 0 || self.gap_ms >= FROZEN_MS {
            Class::Bad
        } else if self.stalled() {
            Class::Warn
        } else {
            Class::Ok
        }
    }

    pub fn stalled(&self) -> bool {
        self.gap_ms > STALL_MS || self.stalls > 0
    }

    /// Folds a newer report of the same viewer into one not yet forwarded.
    fn merge(&mut self, newer: Figures) {
        self.fps = newer.fps;
        self.gap_ms = self.gap_ms.max(newer.gap_ms);
        self.stalls = self.stalls.saturating_add(newer.stalls);
        self.used = newer.used;
        self.slots = newer.slots;
    }

    fn check(&self) -> Result<(), &'static str> {
        if self.fps > MAX_FPS {
            return Err("fps");
        }
        if self.gap_ms > MAX_GAP_MS {
            return Err("gap_ms");
        }
        if self.used > MAX_USED {
            return Err("used");
        }
        if self.slots > MAX_SLOTS {
            return Err("slots");
        }
        Ok(())
    }
}

/// Viewers of one level by class, and the sum of their frame rates.
/// On the wire: `[ok, warn, bad, fps_sum]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "(u32, u32, u32, u32)", into = "(u32, u32, u32, u32)")]
pub struct Level {
    pub ok: u32,
    pub warn: u32,
    pub bad: u32,
    pub fps_sum: u32,
}

impl From<(u32, u32, u32, u32)> for Level {
    fn from((ok, warn, bad, fps_sum): (u32, u32, u32, u32)) -> Level {
        Level { ok, warn, bad, fps_sum }
    }
}

impl From<Level> for (u32, u32, u32, u32) {
    fn from(l: Level) -> Self {
        (l.ok, l.warn, l.bad, l.fps_sum)
    }
}

impl Level {
    pub fn viewers(&self) -> u64 {
        self.ok as u64 + self.warn as u64 + self.bad as u64
    }

    pub fn add(&mut self, f: &Figures) {
        let mut one = Level { fps_sum: f.fps as u32, ..Level::default() };
        match f.class() {
            Class::Ok => one.ok = 1,
            Class::Warn => one.warn = 1,
            Class::Bad => one.bad = 1,
        }
        self.add_level(&one);
    }

    /// Sums another level in, clamped so that the result is still a valid report.
    pub fn add_level(&mut self, o: &Level) {
        let clamp = |a: u32, b: u32| a.saturating_add(b).min(MAX_LEVEL_COUNT);
        self.ok = clamp(self.ok, o.ok);
        self.warn = clamp(self.warn, o.warn);
        self.bad = clamp(self.bad, o.bad);
        let most = self.viewers() * MAX_FPS as u64;
        self.fps_sum = (self.fps_sum as u64 + o.fps_sum as u64).min(most).min(u32::MAX as u64) as u32;
    }

    fn check(&self) -> Result<(), &'static str> {
        if self.ok > MAX_LEVEL_COUNT || self.warn > MAX_LEVEL_COUNT || self.bad > MAX_LEVEL_COUNT {
            return Err("lv");
        }
        if self.fps_sum as u64 > self.viewers() * MAX_FPS as u64 {
            return Err("lv fps");
        }
        Ok(())
    }
}

/// One viewer's figures, forwarded by the relays above it. On the wire: `[id, fps, gap_ms,
/// stalls, used, slots]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "(PeerId, u8, u32, u16, u8, u8)", into = "(PeerId, u8, u32, u16, u8, u8)")]
pub struct Record {
    pub id: PeerId,
    pub figures: Figures,
}

impl From<(PeerId, u8, u32, u16, u8, u8)> for Record {
    fn from((id, fps, gap_ms, stalls, used, slots): (PeerId, u8, u32, u16, u8, u8)) -> Record {
        Record { id, figures: Figures { fps, gap_ms, stalls, used, slots } }
    }
}

impl From<Record> for (PeerId, u8, u32, u16, u8, u8) {
    fn from(r: Record) -> Self {
        let f = r.figures;
        (r.id, f.fps, f.gap_ms, f.stalls, f.used, f.slots)
    }
}

/// The range checks of a `health` message (`protocol::Message::decode` calls this).
pub fn check(me: &Figures, lv: &[Level], r: &[Record]) -> Result<(), &'static str> {
    me.check()?;
    if lv.len() > MAX_LEVELS {
        return Err("lv");
    }
    lv.iter().try_for_each(Level::check)?;
    if r.len() > MAX_RECORDS {
        return Err("r");
    }
    r.iter().try_for_each(|x| x.figures.check())
}

/// Why a child's report was not taken (nothing changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    TooSoon,
    TooManyChildren,
    /// At the broadcaster: the sender is not one of its children.
    NotAChild,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refused::TooSoon => "health report too soon after the previous one",
            Refused::TooManyChildren => "health reports from too many children",
            Refused::NotAChild => "health report from a peer that is not a child",
        })
    }
}

#[derive(Debug)]
struct ChildReport {
    id: PeerId,
    at_ms: u64,
    me: Figures,
    levels: Vec<Level>,
    queue: Vec<Record>,
}

/// A node's view of its children's health reports, and the report it sends up.
#[derive(Debug, Default)]
pub struct HealthRelay {
    children: Vec<ChildReport>,
    last_sent_ms: Option<u64>,
    turn: usize,
}

impl HealthRelay {
    pub fn new() -> HealthRelay {
        HealthRelay::default()
    }

    /// Takes the report of `child` (the caller checked it is a primary child of ours).
    pub fn from_child(&mut self, now_ms: u64, child: &PeerId, me: Figures, levels: Vec<Level>, records: Vec<Record>) -> Result<(), Refused> {
        self.expire(now_ms);
        let i = match self.children.iter().position(|c| c.id == *child) {
            Some(i) if now_ms < self.children[i].at_ms.saturating_add(MIN_CHILD_INTERVAL_MS) => return Err(Refused::TooSoon),
            Some(i) => i,
            None if self.children.len() >= MAX_CHILDREN => return Err(Refused::TooManyChildren),
            None => {
                self.children.push(ChildReport { id: child.clone(), at_ms: now_ms, me, levels: Vec::new(), queue: Vec::new() });
                self.children.len() - 1
            }
        };
        let c = &mut self.children[i];
        c.at_ms = now_ms;
        c.me = me;
        c.levels = levels;
        c.levels.truncate(MAX_LEVELS);
        enqueue(&mut c.queue, Record { id: child.clone(), figures: me });
        for r in records.into_iter().take(MAX_RECORDS) {
            if r.id != *child {
                enqueue(&mut c.queue, r);
            }
        }
        Ok(())
    }

    pub fn forget(&mut self, child: &PeerId) {
        self.children.retain(|c| c.id != *child);
    }

    fn expire(&mut self, now_ms: u64) {
        self.children.retain(|c| now_ms.saturating_sub(c.at_ms) < STALE_MS);
        if self.turn >= self.children.len() {
            self.turn = 0;
        }
    }

    /// Children whose reports still count.
    pub fn reporting(&self, now_ms: u64) -> usize {
        self.children.iter().filter(|c| now_ms.saturating_sub(c.at_ms) < STALE_MS).count()
    }

    /// The subtree below this node by level: `[0]` its children, `[1]` their children, ...
    pub fn levels(&self, now_ms: u64) -> Vec<Level> {
        let mut out: Vec<Level> = Vec::new();
        let at = |i: usize, out: &mut Vec<Level>| -> usize {
            let i = i.min(MAX_LEVELS - 1);
            if out.len() <= i {
                out.resize(i + 1, Level::default());
            }
            i
        };
        for c in self.children.iter().filter(|c| now_ms.saturating_sub(c.at_ms) < STALE_MS) {
            let i = at(0, &mut out);
            out[i].add(&c.me);
            for (k, l) in c.levels.iter().enumerate() {
                let i = at(k + 1, &mut out);
                out[i].add_level(l);
            }
        }
        out
    }

    /// Up to `max` queued records: stalls first, then the others; one child at a time in turn.
    pub fn take_records(&mut self, max: usize) -> Vec<Record> {
        let mut out = Vec::new();
        self.take_in_turn(&mut out, max, true);
        self.take_in_turn(&mut out, max, false);
        out
    }

    fn take_in_turn(&mut self, out: &mut Vec<Record>, max: usize, stalled_only: bool) {
        let n = self.children.len();
        let mut idle = 0;
        while out.len() < max && idle < n {
            self.turn = (self.turn + 1) % n;
            let queue = &mut self.children[self.turn].queue;
            match queue.iter().position(|r| !stalled_only || r.figures.stalled()) {
                Some(k) => {
                    out.push(queue.remove(k));
                    idle = 0;
                }
                None => idle += 1,
            }
        }
    }

    /// This node's report to its parent, with its own figures `me`; `None` within
    /// `MIN_SEND_INTERVAL_MS` of the previous one.
    pub fn report(&mut self, now_ms: u64, me: Figures) -> Option<Message> {
        if self.last_sent_ms.is_some_and(|t| now_ms < t.saturating_add(MIN_SEND_INTERVAL_MS)) {
            return None;
        }
        self.expire(now_ms);
        self.last_sent_ms = Some(now_ms);
        let lv = self.levels(now_ms);
        let r = self.take_records(MAX_RECORDS);
        Some(Message::Health { me, lv, r })
    }
}

/// Adds a record to a child's queue: merged with a waiting one of the same viewer, else appended,
/// dropping the oldest record without a stall (or the oldest) when the queue is full.
fn enqueue(queue: &mut Vec<Record>, record: Record) {
    if let Some(q) = queue.iter_mut().find(|q| q.id == record.id) {
        q.figures.merge(record.figures);
        return;
    }
    if queue.len() >= QUEUE_PER_CHILD {
        let k = queue.iter().position(|q| !q.figures.stalled()).unwrap_or(0);
        queue.remove(k);
    }
    queue.push(record);
}

/// The latest figures the broadcaster holds for one viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub figures: Figures,
    pub at_ms: u64,
    /// The longest stall reported in the current window of `PEAK_MS`, and when.
    pub peak_gap_ms: u32,
    pub peak_at_ms: u64,
}

impl Seen {
    /// The longest gap reported in the last `PEAK_MS` (0 if none).
    pub fn recent_peak(&self, now_ms: u64) -> u32 {
        if now_ms.saturating_sub(self.peak_at_ms) <= PEAK_MS {
            self.peak_gap_ms
        } else {
            0
        }
    }
}

/// The broadcaster's end of the health reports: its children's subtrees by level, and the
/// latest figures of each viewer (bounded by the viewers its tree knows, and by `MAX_SEEN`).
#[derive(Debug, Default)]
pub struct HealthBoard {
    relay: HealthRelay,
    seen: HashMap<PeerId, Seen>,
}

impl HealthBoard {
    pub fn new() -> HealthBoard {
        HealthBoard::default()
    }

    /// A report from the broadcaster's child `child`. `below(id)` says whether viewer `id` is
    /// `child` or hangs below it in the tree now; records about anyone else are dropped.
    /// Returns the records taken (for the event log's stall attribution).
    pub fn from_child(
        &mut self,
        now_ms: u64,
        child: &PeerId,
        me: Figures,
        levels: Vec<Level>,
        records: Vec<Record>,
        below: impl Fn(&PeerId) -> bool,
    ) -> Result<Vec<Record>, Refused> {
        self.relay.from_child(now_ms, child, me, levels, records)?;
        let mut taken = self.relay.take_records(usize::MAX);
        taken.retain(|r| below(&r.id) && (self.seen.len() < MAX_SEEN || self.seen.contains_key(&r.id)));
        for r in &taken {
            self.note(now_ms, r);
        }
        Ok(taken)
    }

    fn note(&mut self, now_ms: u64, r: &Record) {
        let f = r.figures;
        let s = self.seen.entry(r.id.clone()).or_insert(Seen { figures: f, at_ms: now_ms, peak_gap_ms: 0, peak_at_ms: 0 });
        s.figures = f;
        s.at_ms = now_ms;
        if f.stalled() && (f.gap_ms >= s.recent_peak(now_ms)) {
            s.peak_gap_ms = f.gap_ms;
            s.peak_at_ms = now_ms;
        }
    }

    pub fn seen(&self, id: &PeerId) -> Option<&Seen> {
        self.seen.get(id)
    }

    pub fn forget(&mut self, id: &PeerId) {
        self.seen.remove(id);
        self.relay.forget(id);
    }

    /// Drops the figures of viewers that `keep` no longer names (O(viewers held)).
    pub fn retain(&mut self, keep: impl Fn(&PeerId) -> bool) {
        self.seen.retain(|id, _| keep(id));
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// The whole tree's health by depth: `[0]` = depth 1 (the broadcaster's children), ...
    pub fn levels(&self, now_ms: u64) -> Vec<Level> {
        self.relay.levels(now_ms)
    }
}

#[cfg(test)]
mod tests;
