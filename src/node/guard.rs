//! Rate limits in front of the coordinator. Any peer on the PeerServer can send the broadcaster's
//! page anything, from as many ids as it can register; the coordinator checks that each message is
//! well formed and consistent with the tree, but a consistent lie (a loss report about a real
//! child, an endless `parent_lost`, joins from thousands of fresh ids) still moves viewers. The
//! guard bounds that churn and the page's work and memory, whatever the senders do:
//!
//! - every peer has a token bucket for its messages to the coordinator, checked before decoding;
//! - messages that move viewers (loss reports, capacity changes, re-joins of a placed viewer) draw
//!   on a second, much slower bucket per peer;
//! - joins from ids the coordinator does not know draw on one global bucket: a flood of new ids
//!   is admitted at a fixed rate and the rest are told to `wait`;
//! - each tree edge's data channel has its own bucket (heartbeats come ten times a second);
//! - the table of buckets is bounded: entries whose buckets are full again carry no information
//!   and are swept; when it is still full, unknown senders are refused;
//! - `join {at}` (where a viewer says it already sits) is believed only for a short while after
//!   this page started, when a restarted broadcaster rebuilds its tree from such reports; later a
//!   new id could use it to claim a slot under any relay without that relay ever hearing of it;
//! - warnings about dropped messages are themselves rate-limited (a flood must not turn into a
//!   flood of console output).
//!
//! Time is passed in (milliseconds); nothing here reads a clock.

use std::collections::HashMap;
use std::hash::BuildHasher;

use crate::core::ids::PeerId;
use crate::core::viewer::Side;

/// A refill rate and a burst: one token every `every_ms`, at most `burst` saved up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub every_ms: u32,
    pub burst: u32,
}

impl Rate {
    pub const fn new(every_ms: u32, burst: u32) -> Rate {
        Rate { every_ms, burst }
    }
}

/// The guard's limits (defaults: see `Limits::default`).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Messages one peer may send the coordinator.
    pub messages: Rate,
    /// Of those, messages that move viewers (loss reports, capacity, re-joins of a placed viewer).
    pub churn: Rate,
    /// Joins from ids the coordinator does not know, all senders together.
    pub new_joins: Rate,
    /// Messages on one tree edge of the broadcaster's own (heartbeats: 10 a second).
    pub edge: Rate,
    /// Most peers tracked at once (each entry is a few dozen bytes).
    pub max_tracked: usize,
    /// How long after this page started `join {at}` reports are believed.
    pub trust_positions_ms: u64,
    /// Warnings logged per second; the rest are counted and summed up once a second.
    pub warnings_per_second: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // An honest viewer sends a join (retries back off from 250 ms), a loss report now and
            // then, a capacity change when its user asks, a leave: 2 a second with 10 saved up
            // is far above that.
            messages: Rate::new(500, 10),
            // Honest loss reports follow real departures: a few at once when a neighbourhood
            // crashes, then one every few seconds at most.
            churn: Rate::new(5_000, 6),
            // A popular program's first minute: 1,200 newcomers a minute; a flood of fake ids is
            // admitted at that pace and no faster.
            new_joins: Rate::new(50, 40),
            edge: Rate::new(40, 60),
            max_tracked: 16_384,
            trust_positions_ms: 30_000,
            warnings_per_second: 20,
        }
    }
}

/// A token bucket, counted in milliseconds of refill (one token = `every_ms` of them), so integer
/// arithmetic is exact however often it is asked and gives the same answer on every platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    saved_ms: u64,
    at_ms: u64,
}

impl Bucket {
    pub fn full(rate: Rate, now_ms: u64) -> Bucket {
        Bucket { saved_ms: Self::capacity(rate), at_ms: now_ms }
    }

    fn capacity(rate: Rate) -> u64 {
        rate.burst as u64 * rate.every_ms.max(1) as u64
    }

    fn refill(&mut self, rate: Rate, now_ms: u64) {
        // A clock that goes backwards refills nothing.
        let elapsed = now_ms.saturating_sub(self.at_ms);
        self.saved_ms = self.saved_ms.saturating_add(elapsed).min(Self::capacity(rate));
        self.at_ms = self.at_ms.max(now_ms);
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, rate: Rate, now_ms: u64) -> bool {
        self.refill(rate, now_ms);
        let token = rate.every_ms.max(1) as u64;
        if self.saved_ms >= token {
            self.saved_ms -= token;
            true
        } else {
            false
        }
    }

    /// Full again: indistinguishable from a fresh bucket, so its entry can be forgotten.
    pub fn is_full(&self, rate: Rate, now_ms: u64) -> bool {
        let mut b = *self;
        b.refill(rate, now_ms);
        b.saved_ms >= Self::capacity(rate)
    }

    /// Milliseconds until the next token.
    pub fn wait_ms(&self, rate: Rate, now_ms: u64) -> u64 {
        let mut b = *self;
        b.refill(rate, now_ms);
        (rate.every_ms.max(1) as u64).saturating_sub(b.saved_ms)
    }
}

#[derive(Debug, Clone)]
struct PeerBudget {
    messages: Bucket,
    churn: Bucket,
    up_edge: Bucket,
    down_edge: Bucket,
}

/// SipHash keyed with the page's randomness: senders choose their ids, so a fixed hash would let
/// them pick ids that collide and make every lookup in the table a long probe.
#[derive(Clone, Copy)]
struct Keyed(u64, u64);

impl BuildHasher for Keyed {
    #[allow(deprecated)]
    type Hasher = std::hash::SipHasher;
    #[allow(deprecated)]
    fn build_hasher(&self) -> Self::Hasher {
        std::hash::SipHasher::new_with_keys(self.0, self.1)
    }
}

/// What the guard decided about one message to the coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Over the sender's own budget (or the table is full): drop it.
    Drop,
    /// A join from a new id over the global admission rate: tell it to wait this long.
    Wait { retry_ms: u32 },
}

/// Counters for the stats (and for tests).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GuardStats {
    /// Messages to the coordinator dropped for a sender over its budget.
    pub rate_limited: u64,
    /// Of those, messages that would have moved viewers.
    pub churn_limited: u64,
    /// Joins from new ids told to wait (global admission rate).
    pub joins_deferred: u64,
    /// Edge messages dropped (over the edge's budget).
    pub edge_limited: u64,
    /// Messages dropped as malformed or not for the coordinator.
    pub invalid: u64,
    /// `join {at}` reports stripped (outside the restart window).
    pub positions_ignored: u64,
    /// Peers in the table now.
    pub tracked: u64,
    /// Senders refused because the table was full.
    pub table_full: u64,
}

pub struct Guard {
    limits: Limits,
    peers: HashMap<PeerId, PeerBudget, Keyed>,
    new_joins: Bucket,
    started_ms: Option<u64>,
    /// When the table may next be swept (sweeping is O(table); at most once per second).
    next_sweep_ms: u64,
    stats: GuardStats,
    warnings: WarningBudget,
}

impl Guard {
    /// `seed`: the page's randomness (keys the table's hash).
    pub fn new(limits: Limits, seed: u64) -> Guard {
        let keys = Keyed(seed ^ 0x736f_6d65_7073_6575, seed.rotate_left(29) ^ 0x646f_7261_6e64_6f6d);
        let warnings = WarningBudget::new(limits.warnings_per_second);
        Guard {
            new_joins: Bucket::full(limits.new_joins, 0),
            limits,
            peers: HashMap::with_hasher(keys),
            started_ms: None,
            next_sweep_ms: 0,
            stats: GuardStats::default(),
            warnings,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Notes the first instant this page saw (the start of the position-trust window).
    pub fn clock(&mut self, now_ms: u64) {
        if self.started_ms.is_none() {
            self.started_ms = Some(now_ms);
            self.new_joins.at_ms = now_ms;
        }
    }

    /// Within the window after start where `join {at}` reports rebuild the tree.
    pub fn trusts_positions(&self, now_ms: u64) -> bool {
        self.started_ms.is_some_and(|t| now_ms < t + self.limits.trust_positions_ms)
    }

    pub fn note_position_ignored(&mut self) {
        self.stats.positions_ignored += 1;
    }

    pub fn note_invalid(&mut self) {
        self.stats.invalid += 1;
    }

    fn budget(&mut self, peer: &PeerId, now_ms: u64) -> Option<&mut PeerBudget> {
        if !self.peers.contains_key(peer) {
            if self.peers.len() >= self.limits.max_tracked {
                self.sweep(now_ms);
            }
            if self.peers.len() >= self.limits.max_tracked {
                self.stats.table_full += 1;
                return None;
            }
            let l = &self.limits;
            let fresh = PeerBudget {
                messages: Bucket::full(l.messages, now_ms),
                churn: Bucket::full(l.churn, now_ms),
                up_edge: Bucket::full(l.edge, now_ms),
                down_edge: Bucket::full(l.edge, now_ms),
            };
            self.peers.insert(peer.clone(), fresh);
        }
        self.peers.get_mut(peer)
    }

    /// Forgets entries whose buckets are all full again (at most once a second).
    fn sweep(&mut self, now_ms: u64) {
        if now_ms < self.next_sweep_ms {
            return;
        }
        self.next_sweep_ms = now_ms + 1_000;
        let l = self.limits.clone();
        self.peers.retain(|_, b| {
            !(b.messages.is_full(l.messages, now_ms)
                && b.churn.is_full(l.churn, now_ms)
                && b.up_edge.is_full(l.edge, now_ms)
                && b.down_edge.is_full(l.edge, now_ms))
        });
    }

    /// Any message from `peer` to the coordinator, before it is decoded.
    pub fn admit_message(&mut self, peer: &PeerId, now_ms: u64) -> bool {
        let rate = self.limits.messages;
        let ok = self.budget(peer, now_ms).is_some_and(|b| b.messages.take(rate, now_ms));
        if !ok {
            self.stats.rate_limited += 1;
        }
        ok
    }

    /// A decoded message that would move viewers (a loss report, a capacity change, a re-join of
    /// a placed viewer).
    pub fn admit_churn(&mut self, peer: &PeerId, now_ms: u64) -> bool {
        let rate = self.limits.churn;
        let ok = self.budget(peer, now_ms).is_some_and(|b| b.churn.take(rate, now_ms));
        if !ok {
            self.stats.rate_limited += 1;
            self.stats.churn_limited += 1;
        }
        ok
    }

    /// A join from an id the coordinator does not know.
    pub fn admit_new_join(&mut self, now_ms: u64) -> Verdict {
        let rate = self.limits.new_joins;
        if self.new_joins.take(rate, now_ms) {
            return Verdict::Pass;
        }
        self.stats.joins_deferred += 1;
        // Spread the retries over a second or two beyond the next free token.
        let wait = self.new_joins.wait_ms(rate, now_ms) + 1_000;
        Verdict::Wait { retry_ms: wait.min(crate::core::protocol::MAX_RETRY_MS as u64) as u32 }
    }

    /// A message on the data channel of one of the broadcaster's own edges.
    pub fn admit_edge(&mut self, peer: &PeerId, side: Side, now_ms: u64) -> bool {
        let rate = self.limits.edge;
        let ok = self.budget(peer, now_ms).is_some_and(|b| match side {
            Side::Up => b.up_edge.take(rate, now_ms),
            Side::Down => b.down_edge.take(rate, now_ms),
        });
        if !ok {
            self.stats.edge_limited += 1;
        }
        ok
    }

    /// Whether a warning may be logged now; a summary of the suppressed ones when one is due.
    pub fn warning(&mut self, now_ms: u64) -> (bool, Option<String>) {
        self.warnings.take(now_ms)
    }

    pub fn stats(&self) -> GuardStats {
        GuardStats { tracked: self.peers.len() as u64, ..self.stats.clone() }
    }

    pub fn tracked(&self) -> usize {
        self.peers.len()
    }
}

/// At most `per_second` warnings a second; the suppressed ones are summed up in the next second.
struct WarningBudget {
    per_second: u32,
    window_start_ms: u64,
    used: u32,
    suppressed: u64,
}

impl WarningBudget {
    fn new(per_second: u32) -> WarningBudget {
        WarningBudget { per_second, window_start_ms: 0, used: 0, suppressed: 0 }
    }

    fn take(&mut self, now_ms: u64) -> (bool, Option<String>) {
        let mut summary = None;
        if now_ms >= self.window_start_ms + 1_000 {
            if self.suppressed > 0 {
                summary = Some(format!("{} more dropped messages not logged", self.suppressed));
            }
            self.window_start_ms = now_ms;
            self.used = 0;
            self.suppressed = 0;
        }
        if self.used < self.per_second {
            self.used += 1;
            (true, summary)
        } else {
            self.suppressed += 1;
            (false, summary)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> PeerId {
        PeerId::parse(s).unwrap()
    }

    #[test]
    fn bucket_spends_its_burst_then_refills_at_its_rate() {
        let rate = Rate::new(100, 3);
        let mut b = Bucket::full(rate, 0);
        assert!(b.take(rate, 0) && b.take(rate, 0) && b.take(rate, 0));
        assert!(!b.take(rate, 0));
        assert!(!b.take(rate, 99));
        assert!(b.take(rate, 100));
        assert!(!b.take(rate, 150));
        assert_eq!(b.wait_ms(rate, 150), 50);
        assert!(!b.is_full(rate, 250));
        assert!(b.is_full(rate, 400));
        // A clock that goes backwards refills nothing.
        assert!(!b.take(rate, 10));
        assert_eq!(b.wait_ms(rate, 10), 50);
        // Frequent asking loses no refill to rounding.
        let slow = Rate::new(5_000, 1);
        let mut s = Bucket::full(slow, 0);
        assert!(s.take(slow, 0));
        assert!((1..5_000).all(|t| !s.take(slow, t)));
        assert!(s.take(slow, 5_000));
    }

    #[test]
    fn peers_have_separate_budgets() {
        let mut g = Guard::new(Limits::default(), 1);
        let (a, b) = (id("a"), id("b"));
        let burst = g.limits().messages.burst;
        for _ in 0..burst {
            assert!(g.admit_message(&a, 0));
        }
        assert!(!g.admit_message(&a, 0));
        assert!(g.admit_message(&b, 0));
        assert_eq!(g.stats().rate_limited, 1);
        // After a second, two more for a.
        assert!(g.admit_message(&a, 1_000) && g.admit_message(&a, 1_000));
        assert!(!g.admit_message(&a, 1_000));
    }

    #[test]
    fn new_ids_are_admitted_at_the_global_rate() {
        let mut g = Guard::new(Limits::default(), 1);
        g.clock(0);
        let l = g.limits().new_joins;
        let admitted = (0..1_000).filter(|_| g.admit_new_join(0) == Verdict::Pass).count();
        assert_eq!(admitted, l.burst as usize);
        match g.admit_new_join(0) {
            Verdict::Wait { retry_ms } => assert!(retry_ms >= 1_000 && retry_ms <= 1_000 + l.every_ms),
            v => panic!("{v:?}"),
        }
        // Ten seconds later: 10 s / every_ms more (the burst refilled, capped).
        let later = (0..1_000).filter(|_| g.admit_new_join(10_000) == Verdict::Pass).count();
        assert_eq!(later, l.burst as usize);
    }

    #[test]
    fn table_is_bounded_and_swept() {
        let limits = Limits { max_tracked: 8, ..Limits::default() };
        let mut g = Guard::new(limits, 7);
        for i in 0..8 {
            assert!(g.admit_message(&id(&format!("p{i}")), 0));
        }
        // Full, and nobody's bucket has refilled yet: a new sender is refused.
        assert!(!g.admit_message(&id("late"), 0));
        assert_eq!(g.stats().table_full, 1);
        assert_eq!(g.tracked(), 8);
        // Once the buckets are full again the entries carry nothing and are swept.
        assert!(g.admit_message(&id("late"), 10_000));
        assert_eq!(g.tracked(), 1);
    }

    #[test]
    fn positions_are_trusted_only_after_start() {
        let mut g = Guard::new(Limits::default(), 1);
        assert!(!g.trusts_positions(0));
        g.clock(5_000);
        assert!(g.trusts_positions(5_000));
        assert!(g.trusts_positions(34_999));
        assert!(!g.trusts_positions(35_000));
    }

    #[test]
    fn warnings_are_rate_limited_and_summed_up() {
        let mut g = Guard::new(Limits { warnings_per_second: 2, ..Limits::default() }, 1);
        let logged: Vec<bool> = (0..5).map(|_| g.warning(0).0).collect();
        assert_eq!(logged, [true, true, false, false, false]);
        let (ok, summary) = g.warning(1_000);
        assert!(ok);
        assert_eq!(summary.as_deref(), Some("3 more dropped messages not logged"));
    }
}
