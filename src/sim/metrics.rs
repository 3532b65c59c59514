//! What viewers experienced, accumulated during a run and summarised into a `Report`.
//!
//! Continuity counts a viewer's seconds from its first frame to its departure (start-up is
//! reported separately): the share of those seconds with a moving picture. A stall is a maximal
//! interval without picture after the first frame; one cut short by the viewer leaving counts.

use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub mean: f64,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Summary {
    /// From values sorted ascending.
    pub fn of_sorted(sorted: &[f64]) -> Summary {
        if sorted.is_empty() {
            return Summary::default();
        }
        let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
        Summary { mean, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted[sorted.len() - 1] }
    }

    /// From a histogram of integer values (`counts[v]` = how often `v` was seen).
    pub fn of_histogram(counts: &[u64]) -> Summary {
        let n: u64 = counts.iter().sum();
        if n == 0 {
            return Summary::default();
        }
        let sum: f64 = counts.iter().enumerate().map(|(v, c)| v as f64 * *c as f64).sum();
        let at = |q: f64| {
            let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
            let mut seen = 0;
            for (v, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return v as f64;
                }
            }
            (counts.len() - 1) as f64
        };
        let max = counts.iter().rposition(|c| *c > 0).unwrap_or(0) as f64;
        Summary { mean: sum / n as f64, p50: at(0.5), p99: at(0.99), max }
    }
}

/// Nearest-rank quantile of values sorted ascending.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// What started a stall: the event that took the picture away where the loss began (viewers
/// below inherit it). A stall keeps its first cause even if later events prolong it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// An upstream page vanished without closing (crash, tab closed): found by silence.
    Crash,
    /// An upstream page closed its connections (seed's clean departure; treecast's leaving relay
    /// once its grace ends with a child still on it).
    Close,
    /// Treecast: the parent's `leaving` notice; the child switched to its standby.
    LeavingNotice,
    /// The coordinator's order (assign: a move or a standby promoted; drop; wait).
    Coordinator,
    /// A connection closed by the peer at its other end (dropped, replaced, given up).
    ClosedByPeer,
    /// The viewer's own timer (a move that timed out, a dropped child's grace ending).
    Timer,
    /// The broadcaster's page reloaded.
    Reload,
    Other,
}

impl Cause {
    pub const ALL: [Cause; 8] = [
        Cause::Crash,
        Cause::Close,
        Cause::LeavingNotice,
        Cause::Coordinator,
        Cause::ClosedByPeer,
        Cause::Timer,
        Cause::Reload,
        Cause::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Cause::Crash => "upstream crash",
            Cause::Close => "upstream closed",
            Cause::LeavingNotice => "leaving notice",
            Cause::Coordinator => "coordinator order",
            Cause::ClosedByPeer => "edge closed by peer",
            Cause::Timer => "own timer",
            Cause::Reload => "broadcaster reload",
            Cause::Other => "other",
        }
    }
}

/// Stall time and counts started by one cause.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CauseTotals {
    pub cause: &'static str,
    pub stalls: u64,
    /// Stalls of 1 s or more.
    pub long_stalls: u64,
    /// Seconds of stall, summed over viewers.
    pub stall_s: f64,
    /// Share of all stall time.
    pub share: f64,
    /// Seconds per viewer that had a first frame (adds up to the mean stall per viewer).
    pub per_viewer_s: f64,
    /// Longest single stall, seconds.
    pub max_s: f64,
}

/// Running totals of one policy run.
#[derive(Debug, Default)]
pub struct Metrics {
    pub arrivals: u64,
    pub crashes: u64,
    pub graceful: u64,
    /// Per finished viewer that had a first frame: total stall time.
    pub stall_ms: Vec<u32>,
    pub watch_ms_total: u64,
    pub stall_ms_total: u64,
    pub stalls: u64,
    pub long_stalls: u64,
    /// Per cause (index: position in `Cause::ALL`): stall ms, stalls, stalls >= 1 s, longest.
    pub cause_ms: [u64; 8],
    pub cause_stalls: [u64; 8],
    pub cause_long: [u64; 8],
    pub cause_max_ms: [u64; 8],
    /// Stall ms in stalls shorter than 1 s, of 1 to 10 s, of 10 s or more.
    pub length_ms: [u64; 3],
    pub startup_ms: Vec<u32>,
    pub never_played: u64,
    /// Sampled depth of every playing viewer (index = depth).
    pub depth_hist: Vec<u64>,
    /// Sampled glass-to-glass latency of every playing viewer (index = ms).
    pub latency_hist: Vec<u64>,
    /// Signalling messages the broadcaster's page received and sent, per second of the program.
    pub coordinator_msgs: Vec<u32>,
    pub coordinator_in: u64,
    pub coordinator_out: u64,
    pub concurrent_samples: Vec<u32>,
    pub standby_coverage_samples: Vec<f64>,
    pub standby_measured_samples: Vec<f64>,
    pub root_edge_samples: Vec<u32>,
}

impl Metrics {
    /// One stall of `d` ms (if any) that `cause` started.
    pub fn count_stall(&mut self, cause: Cause, d: u64) {
        if d == 0 {
            return;
        }
        let i = cause as usize;
        self.stalls += 1;
        self.cause_ms[i] += d;
        self.cause_stalls[i] += 1;
        self.cause_max_ms[i] = self.cause_max_ms[i].max(d);
        if d >= 1000 {
            self.long_stalls += 1;
            self.cause_long[i] += 1;
        }
        self.length_ms[if d < 1_000 { 0 } else if d < 10_000 { 1 } else { 2 }] += d;
    }

    pub fn count_coordinator_message(&mut self, now_ms: u64, inbound: bool) {
        let s = (now_ms / 1000) as usize;
        if self.coordinator_msgs.len() <= s {
            self.coordinator_msgs.resize(s + 1, 0);
        }
        self.coordinator_msgs[s] += 1;
        if inbound {
            self.coordinator_in += 1;
        } else {
            self.coordinator_out += 1;
        }
    }

    pub fn note_depth_latency(&mut self, depth: u32, latency_ms: u64) {
        let d = depth as usize;
        if self.depth_hist.len() <= d {
            self.depth_hist.resize(d + 1, 0);
        }
        self.depth_hist[d] += 1;
        let l = latency_ms.min(10_000) as usize;
        if self.latency_hist.len() <= l {
            self.latency_hist.resize(l + 1, 0);
        }
        self.latency_hist[l] += 1;
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub policy: String,
    pub seed: u64,
    pub viewers: u64,
    pub duration_s: f64,
    pub arrivals: u64,
    pub departures_graceful: u64,
    pub departures_crash: u64,
    pub peak_concurrent: u32,
    pub mean_concurrent: f64,
    /// Share of viewer-seconds (first frame to departure) with a moving picture.
    pub continuity_index: f64,
    /// Total stall time per viewer (viewers that had a first frame), seconds.
    pub stall_per_viewer_s: Summary,
    pub stalls_per_viewer_hour: f64,
    /// Stalls of 1 s or more, per viewer-hour.
    pub long_stalls_per_viewer_hour: f64,
    /// Where the stall time came from (what started each stall).
    pub stall_causes: Vec<CauseTotals>,
    /// Stall seconds per viewer in stalls shorter than 1 s, of 1 to 10 s, of 10 s or more.
    pub stall_by_length_per_viewer_s: [f64; 3],
    /// Page open to first frame, seconds.
    pub startup_s: Summary,
    pub never_played: u64,
    pub depth: Summary,
    pub depth_histogram: Vec<u64>,
    pub latency_ms: Summary,
    /// Signalling messages in + out of the broadcaster's page, per second.
    pub coordinator_msgs_per_s: Summary,
    pub coordinator_msgs_in: u64,
    pub coordinator_msgs_out: u64,
    /// Heartbeats on the broadcaster's own edges (both directions, 10/s each way per edge).
    pub root_heartbeats_per_s: f64,
    /// Coordinator's view: viewers at depth >= 2 that have a standby parent (mean, min over samples).
    pub standby_coverage_mean: f64,
    pub standby_coverage_min: f64,
    /// Sim's view: playing viewers at depth >= 2 with an open standby edge (mean over samples).
    pub standby_edges_mean: f64,
    pub repairs: u64,
    pub moves: u64,
    pub rejected: u64,
    /// Per-viewer stall time (s) at percentiles 0, 1, ..., 100 (for the CDF chart).
    pub stall_percentiles_s: Vec<f64>,
    /// Latency (ms) at percentiles 0, 1, ..., 100.
    pub latency_percentiles_ms: Vec<f64>,
    pub events: u64,
    pub wall_s: f64,
}

fn percentiles(sorted: &[f64]) -> Vec<f64> {
    (0..=100).map(|p| if p == 0 { sorted.first().copied().unwrap_or(0.0) } else { quantile(sorted, p as f64 / 100.0) }).collect()
}

fn histogram_percentiles(counts: &[u64]) -> Vec<f64> {
    let n: u64 = counts.iter().sum();
    if n == 0 {
        return vec![0.0; 101];
    }
    (0..=100)
        .map(|p| {
            let rank = ((p as f64 / 100.0 * n as f64).ceil() as u64).clamp(1, n);
            let mut seen = 0;
            for (v, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return v as f64;
                }
            }
            0.0
        })
        .collect()
}

/// Figures the run itself supplies (not accumulated in `Metrics`).
pub struct RunFacts {
    pub policy: String,
    pub seed: u64,
    pub viewers: u64,
    pub duration_ms: u64,
    pub repairs: u64,
    pub moves: u64,
    pub rejected: u64,
    pub events: u64,
    pub wall_s: f64,
}

impl Metrics {
    pub fn report(&self, facts: RunFacts) -> Report {
        let mut stall: Vec<f64> = self.stall_ms.iter().map(|&ms| ms as f64 / 1000.0).collect();
        stall.sort_by(f64::total_cmp);
        let mut startup: Vec<f64> = self.startup_ms.iter().map(|&ms| ms as f64 / 1000.0).collect();
        startup.sort_by(f64::total_cmp);
        let mut msgs: Vec<f64> = self.coordinator_msgs.iter().map(|&c| c as f64).collect();
        let secs = (facts.duration_ms / 1000).max(1) as usize;
        msgs.resize(secs, 0.0);
        msgs.sort_by(f64::total_cmp);
        let watch_h = self.watch_ms_total as f64 / 3_600_000.0;
        let mean_of = |v: &[f64]| if v.is_empty() { 1.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
        Report {
            policy: facts.policy,
            seed: facts.seed,
            viewers: facts.viewers,
            duration_s: facts.duration_ms as f64 / 1000.0,
            arrivals: self.arrivals,
            departures_graceful: self.graceful,
            departures_crash: self.crashes,
            peak_concurrent: self.concurrent_samples.iter().copied().max().unwrap_or(0),
            mean_concurrent: mean_of(&self.concurrent_samples.iter().map(|&c| c as f64).collect::<Vec<_>>()),
            continuity_index: if self.watch_ms_total > 0 {
                1.0 - self.stall_ms_total as f64 / self.watch_ms_total as f64
            } else {
                1.0
            },
            stall_per_viewer_s: Summary::of_sorted(&stall),
            stalls_per_viewer_hour: if watch_h > 0.0 { self.stalls as f64 / watch_h } else { 0.0 },
            long_stalls_per_viewer_hour: if watch_h > 0.0 { self.long_stalls as f64 / watch_h } else { 0.0 },
            stall_by_length_per_viewer_s: self.length_ms.map(|ms| ms as f64 / 1000.0 / self.stall_ms.len().max(1) as f64),
            stall_causes: Cause::ALL
                .iter()
                .map(|&c| {
                    let i = c as usize;
                    let all: u64 = self.cause_ms.iter().sum();
                    CauseTotals {
                        cause: c.name(),
                        stalls: self.cause_stalls[i],
                        long_stalls: self.cause_long[i],
                        stall_s: self.cause_ms[i] as f64 / 1000.0,
                        share: if all > 0 { self.cause_ms[i] as f64 / all as f64 } else { 0.0 },
                        per_viewer_s: self.cause_ms[i] as f64 / 1000.0 / self.stall_ms.len().max(1) as f64,
                        max_s: self.cause_max_ms[i] as f64 / 1000.0,
                    }
                })
                .collect(),
            startup_s: Summary::of_sorted(&startup),
            never_played: self.never_played,
            depth: Summary::of_histogram(&self.depth_hist),
            depth_histogram: self.depth_hist.clone(),
            latency_ms: Summary::of_histogram(&self.latency_hist),
            coordinator_msgs_per_s: Summary::of_sorted(&msgs),
            coordinator_msgs_in: self.coordinator_in,
            coordinator_msgs_out: self.coordinator_out,
            root_heartbeats_per_s: 20.0 * mean_of(&self.root_edge_samples.iter().map(|&c| c as f64).collect::<Vec<_>>()),
            standby_coverage_mean: mean_of(&self.standby_coverage_samples),
            standby_coverage_min: self.standby_coverage_samples.iter().copied().fold(1.0, f64::min),
            standby_edges_mean: mean_of(&self.standby_measured_samples),
            repairs: facts.repairs,
            moves: facts.moves,
            rejected: facts.rejected,
            stall_percentiles_s: percentiles(&stall),
            latency_percentiles_ms: histogram_percentiles(&self.latency_hist),
            events: facts.events,
            wall_s: facts.wall_s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        let v: Vec<f64> = (1..=100).map(|x| x as f64).collect();
        let s = Summary::of_sorted(&v);
        assert_eq!((s.p50, s.p99, s.max), (50.0, 99.0, 100.0));
        let mut h = vec![0u64; 5];
        h[2] = 3;
        h[4] = 1;
        let s = Summary::of_histogram(&h);
        assert_eq!((s.mean, s.p50, s.max), (2.5, 2.0, 4.0));
    }
}
