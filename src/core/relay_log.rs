//! The streamer's event log: what happened to the relay tree, as data (sans-IO). Entries live in
//! a bounded ring with increasing sequence numbers, so a dashboard fetches only what it has not
//! seen yet and the broadcaster's memory stays bounded however long the broadcast runs.
//!
//! For repairs (a relay that left or was lost while feeding viewers, a viewer that switched to
//! its standby) the entry also says what the viewers whose picture it touched reported: how
//! many of them reported within `STALL_WINDOW_MS`, and the longest gap between frames any of
//! them saw (the stall the repair cost them).

use std::collections::VecDeque;

use serde::Serialize;

use crate::core::ids::PeerId;

/// Entries kept.
pub const LOG_CAPACITY: usize = 2_000;
/// Reports this long after a repair (or before it, for a loss detected after its children had
/// already switched) are attributed to it.
pub const STALL_WINDOW_MS: u64 = 15_000;
/// Repairs watched for reports at once.
pub const MAX_WATCHED: usize = 64;
/// Viewers watched per repair.
pub const MAX_AFFECTED: usize = 48;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A new viewer was placed.
    Join,
    /// A viewer said it was leaving.
    Leave,
    /// A viewer went silent (reported by its parent, or gone from the PeerServer).
    Loss,
    /// A viewer's primary parent went silent and it switched to its standby parent.
    Standby,
    /// The coordinator moved a viewer to another parent (make-before-break).
    Move,
    /// The broadcaster's page reloaded and the tree was restored.
    Reload,
}

/// Who noticed a loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// Its parent (heartbeats stopped).
    Parent,
    /// The PeerServer could not deliver to it (its page is gone).
    Server,
}

/// What the viewers a repair touched reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Stall {
    /// Viewers whose upstream changed (each brings its subtree along).
    pub viewers: u32,
    /// How many of them reported since.
    pub reported: u32,
    /// The longest gap between presented frames they reported, ms.
    pub max_gap_ms: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub seq: u64,
    pub at_ms: u64,
    pub kind: Kind,
    /// The viewer it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<PeerId>,
    /// Standby, move: the parent before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<PeerId>,
    /// Join, standby, move: the parent after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<PeerId>,
    /// Depth of `peer` (after the event for joins and moves, before it for departures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth: Option<u32>,
    /// Viewers below `peer` (departures: who lost their upstream; moves: who moved with it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub below: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    /// The departure a move repairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stall: Option<Stall>,
    /// Reload: viewers restored, or why the saved tree was not usable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Entry {
    pub fn new(kind: Kind, peer: Option<PeerId>) -> Entry {
        Entry { seq: 0, at_ms: 0, kind, peer, from: None, to: None, depth: None, below: None, via: None, cause: None, stall: None, note: None }
    }

    /// A departure that cost viewers their upstream, or a standby activation.
    pub fn is_repair(&self) -> bool {
        match self.kind {
            Kind::Leave | Kind::Loss => self.stall.is_some_and(|s| s.viewers > 0),
            Kind::Standby => true,
            _ => false,
        }
    }
}

#[derive(Debug)]
struct Watch {
    seq: u64,
    since_ms: u64,
    until_ms: u64,
    /// The affected viewers and whether each has reported.
    peers: Vec<(PeerId, bool)>,
}

#[derive(Debug, Default)]
pub struct RelayLog {
    entries: VecDeque<Entry>,
    next_seq: u64,
    watched: VecDeque<Watch>,
}

impl RelayLog {
    pub fn new() -> RelayLog {
        RelayLog { entries: VecDeque::new(), next_seq: 1, watched: VecDeque::new() }
    }

    /// Appends an entry at `now_ms`; returns its sequence number.
    pub fn push(&mut self, now_ms: u64, mut entry: Entry) -> u64 {
        entry.seq = self.next_seq;
        entry.at_ms = now_ms;
        self.next_seq += 1;
        if self.entries.len() >= LOG_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
        self.next_seq - 1
    }

    /// Attributes the reports of `peers` (the viewers entry `seq` touched) to it from now on,
    /// starting from what each already reported recently (`recent(peer)`: its longest recent
    /// gap, if it reported since `now_ms - STALL_WINDOW_MS`).
    pub fn watch(&mut self, seq: u64, now_ms: u64, peers: &[PeerId], recent: impl Fn(&PeerId) -> Option<u32>) {
        let peers: Vec<PeerId> = peers.iter().take(MAX_AFFECTED).cloned().collect();
        let mut stall = Stall { viewers: peers.len() as u32, ..Stall::default() };
        let mut marked = Vec::with_capacity(peers.len());
        for p in peers {
            let seen = recent(&p);
            if let Some(gap) = seen {
                stall.reported += 1;
                stall.max_gap_ms = stall.max_gap_ms.max(gap);
            }
            marked.push((p, seen.is_some()));
        }
        if let Some(e) = self.entry_mut(seq) {
            e.stall = Some(stall);
        }
        if marked.is_empty() {
            return;
        }
        if self.watched.len() >= MAX_WATCHED {
            self.watched.pop_front();
        }
        self.watched.push_back(Watch { seq, since_ms: now_ms, until_ms: now_ms + STALL_WINDOW_MS, peers: marked });
    }

    /// A health report from `peer` (its longest gap since its previous report).
    pub fn on_report(&mut self, now_ms: u64, peer: &PeerId, gap_ms: u32) {
        while self.watched.front().is_some_and(|w| now_ms > w.until_ms) {
            self.watched.pop_front();
        }
        let mut hits: Vec<(u64, bool)> = Vec::new();
        for w in &mut self.watched {
            if now_ms < w.since_ms {
                continue;
            }
            if let Some(slot) = w.peers.iter_mut().find(|(p, _)| p == peer) {
                let first = !slot.1;
                slot.1 = true;
                hits.push((w.seq, first));
            }
        }
        for (seq, first) in hits {
            if let Some(s) = self.entry_mut(seq).and_then(|e| e.stall.as_mut()) {
                s.reported += first as u32;
                s.max_gap_ms = s.max_gap_ms.max(gap_ms);
            }
        }
    }

    fn entry_mut(&mut self, seq: u64) -> Option<&mut Entry> {
        let first = self.entries.front()?.seq;
        let i = seq.checked_sub(first)? as usize;
        self.entries.get_mut(i)
    }

    /// Entries with `seq >= since`, oldest first.
    pub fn since(&self, since: u64) -> impl Iterator<Item = &Entry> {
        let skip = self.entries.front().map_or(0, |e| since.saturating_sub(e.seq) as usize);
        self.entries.iter().skip(skip)
    }

    /// Entries from `since_ms` on, newest first.
    pub fn recent(&self, since_ms: u64) -> impl Iterator<Item = &Entry> {
        self.entries.iter().rev().take_while(move |e| e.at_ms >= since_ms)
    }

    /// The sequence number the next entry will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The oldest sequence number still held (older entries were dropped).
    pub fn first_seq(&self) -> u64 {
        self.entries.front().map_or(self.next_seq, |e| e.seq)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> PeerId {
        PeerId::parse(s).unwrap()
    }

    #[test]
    fn ring_is_bounded_and_fetched_by_sequence() {
        let mut log = RelayLog::new();
        for t in 0..(LOG_CAPACITY as u64 + 10) {
            log.push(t, Entry::new(Kind::Join, Some(id("v"))));
        }
        assert_eq!(log.len(), LOG_CAPACITY);
        assert_eq!(log.first_seq(), 11);
        assert_eq!(log.next_seq(), LOG_CAPACITY as u64 + 11);
        let tail: Vec<u64> = log.since(LOG_CAPACITY as u64 + 8).map(|e| e.seq).collect();
        assert_eq!(tail, vec![LOG_CAPACITY as u64 + 8, LOG_CAPACITY as u64 + 9, LOG_CAPACITY as u64 + 10]);
        // A cursor older than what is held gets everything held; one from the future, nothing.
        assert_eq!(log.since(0).count(), LOG_CAPACITY);
        assert_eq!(log.since(u64::MAX).count(), 0);
        assert_eq!(log.recent(LOG_CAPACITY as u64 + 5).count(), 5);
    }

    #[test]
    fn a_repair_collects_the_stalls_its_viewers_report() {
        let mut log = RelayLog::new();
        let mut loss = Entry::new(Kind::Loss, Some(id("relay")));
        loss.via = Some(Via::Parent);
        let seq = log.push(1_000, loss);
        // Child `a` already reported a 700 ms gap before the loss was reported; `b` had not.
        log.watch(seq, 1_000, &[id("a"), id("b")], |p| (p.as_str() == "a").then_some(700));
        let stall = |log: &RelayLog| log.since(seq).next().unwrap().stall.unwrap();
        assert_eq!(stall(&log), Stall { viewers: 2, reported: 1, max_gap_ms: 700 });
        log.on_report(1_500, &id("b"), 450);
        log.on_report(1_600, &id("outsider"), 9_000);
        assert_eq!(stall(&log), Stall { viewers: 2, reported: 2, max_gap_ms: 700 });
        log.on_report(2_000, &id("a"), 1_200);
        assert_eq!(stall(&log), Stall { viewers: 2, reported: 2, max_gap_ms: 1_200 });
        // After the window, reports are no longer attributed.
        log.on_report(1_000 + STALL_WINDOW_MS + 1, &id("a"), 5_000);
        assert_eq!(stall(&log).max_gap_ms, 1_200);
        assert!(log.since(seq).next().unwrap().is_repair());
    }

    #[test]
    fn watches_are_bounded() {
        let mut log = RelayLog::new();
        let many: Vec<PeerId> = (0..200).map(|i| id(&format!("v{i}"))).collect();
        for t in 0..(MAX_WATCHED as u64 * 3) {
            let seq = log.push(t, Entry::new(Kind::Standby, Some(id("x"))));
            log.watch(seq, t, &many, |_| None);
        }
        assert_eq!(log.watched.len(), MAX_WATCHED);
        assert!(log.watched.iter().all(|w| w.peers.len() == MAX_AFFECTED));
        let last = log.since(0).last().unwrap();
        assert_eq!(last.stall.unwrap().viewers, MAX_AFFECTED as u32);
    }
}
