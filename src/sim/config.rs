//! Every knob of the model, with its default and where the default comes from.
//!
//! Times are milliseconds of simulated time. `[lo, hi]` pairs are sampled uniformly.
//!
//! | part | default | source |
//! |---|---|---|
//! | audience | `viewers` = steady concurrent audience; Poisson arrivals at `viewers / mean session` (Little's law) | Sripanidkulchai, Maggs, Zhang, "An analysis of live streaming workloads on the Internet", IMC 2004: inter-arrivals within short windows are exponential |
//! | start burst | `viewers` extra arrivals spread over the first 3 min (the audience starts near `viewers`) | assumption: followers are notified when a program starts |
//! | session length | log-normal, median 10 min, sigma 1.5 (mean 31 min), capped at the program | heavy-tailed / log-normal sessions: Sripanidkulchai et al. IMC 2004; Veloso et al., "A hierarchical characterization of a live streaming media workload", IEEE/ACM ToN 2006; Li, Kaafar, Salamatian, Xie, "Characterizing and modeling user behavior in a large-scale mobile live streaming system" (PPTV), IEEE TCSVT 2017. The parameters are approximate, chosen inside the reported ranges, not our own fit |
//! | departures | 50 % graceful, 50 % crash-like (tab closed, renderer or network gone) | assumption; NOTES: a closed page looks like a crash to its peers (no close for 5.3 s) |
//! | relay capacity | 40 % watch-only phones (0 slots); the rest 1..=4 slots uniformly | assumption (the share of smartphone viewers on Niconico is about half) |
//! | edge one-way delay | per pair, uniform 5..60 ms (hash of the pair) | domestic RTTs 10..120 ms |
//! | relay decode + encode | 12..15 ms per relaying hop, 17 ms glass-to-glass at depth 1 | NOTES, media benchmark (loopback) |
//! | signalling one-way (via PeerServer) | 20..80 ms | brief; a WebSocket hop to a server and back out |
//! | PeerServer connect | 200..1000 ms after the page opens | assumption |
//! | new connection (both sides ready to first frame) | 150..600 ms | NOTES: 90..125 ms on loopback is the floor; ICE + DTLS + offer/answer add round trips |
//! | standby activation (unpark to first frame) | 65..75 ms + one-way delay | NOTES: pre-connected idle sender, loopback |
//! | loss detection, treecast | heartbeat silence 600 ms (`ViewerConfig` default) | core |
//! | loss detection, seed | ICE `disconnected` after 5.3 s | NOTES |
//! | graceful close, seed | PeerJS close channel 230..410 ms | seed/SUMMARY.md |
//! | PeerServer EXPIRE | 5 s | NOTES |
//! | coordinator clock | a tick every 250 ms, at most 2 depth-restoring moves a tick; a viewer it does not know is told to `wait` 200 ms | `node::broadcaster` (the page's own settings) |
//! | broadcaster reload | off (`--reload-at` turns it on), page back after 3 s | assumption |

use crate::core::coordinator::Policy;

#[derive(Debug, Clone, serde::Serialize)]
pub struct SimConfig {
    pub policy: Policy,
    pub seed: u64,
    /// Steady concurrent audience (arrival rate = viewers / mean session length).
    pub viewers: u64,
    pub duration_ms: u64,
    /// Extra arrivals at the start, as a share of `viewers`, spread over `burst_ms`.
    pub burst_share: f64,
    pub burst_ms: u64,
    pub session_median_ms: f64,
    pub session_sigma: f64,
    pub graceful_share: f64,
    pub phone_share: f64,
    pub relay_slots: (u8, u8),
    pub edge_delay_ms: (u64, u64),
    pub relay_codec_ms: (u64, u64),
    pub first_hop_ms: u64,
    pub signalling_ms: (u64, u64),
    pub connect_ms: (u64, u64),
    pub new_connection_ms: (u64, u64),
    pub activation_ms: (u64, u64),
    /// Loss detection for the treecast viewer machine (heartbeat silence).
    pub heartbeat_loss_ms: u64,
    /// Loss detection the original relied on (ICE `disconnected`).
    pub ice_timeout_ms: u64,
    pub seed_close_ms: (u64, u64),
    pub expire_ms: u64,
    /// The page's timer (the driver ticks at 50 ms; the sim ticks only machines that wait for
    /// something, at this period).
    pub viewer_tick_ms: u64,
    /// Where in the page's 50 ms timer period a silence is noticed (sampled per detection).
    pub tick_phase_ms: (u64, u64),
    pub coordinator_tick_ms: u64,
    /// Depth-restoring moves the coordinator may order per tick.
    pub moves_per_tick: u32,
    pub sample_every_ms: u64,
    pub reload_at_ms: Option<u64>,
    pub reload_ms: u64,
    /// Broadcaster fan-out (1, as the original: spares the streamer's uplink).
    pub broadcaster_fanout: u8,
    /// Fixed arrivals instead of the random audience (for hand-checked cases).
    pub script: Option<Vec<ScriptedViewer>>,
}

/// One viewer of a scripted run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScriptedViewer {
    pub arrive_ms: u64,
    pub slots: u8,
    /// When it leaves (None: stays to the end) and whether it crashes rather than leaving cleanly.
    pub depart_ms: Option<u64>,
    pub crash: bool,
}

impl SimConfig {
    pub fn new(policy: Policy, viewers: u64, duration_ms: u64, seed: u64) -> SimConfig {
        SimConfig {
            policy,
            seed,
            viewers,
            duration_ms,
            burst_share: 1.0,
            burst_ms: 180_000,
            session_median_ms: 600_000.0,
            session_sigma: 1.5,
            graceful_share: 0.5,
            phone_share: 0.4,
            relay_slots: (1, 4),
            edge_delay_ms: (5, 60),
            relay_codec_ms: (12, 15),
            first_hop_ms: 17,
            signalling_ms: (20, 80),
            connect_ms: (200, 1_000),
            new_connection_ms: (150, 600),
            activation_ms: (65, 75),
            heartbeat_loss_ms: 600,
            ice_timeout_ms: 5_300,
            seed_close_ms: (230, 410),
            expire_ms: 5_000,
            viewer_tick_ms: 100,
            tick_phase_ms: (0, 50),
            coordinator_tick_ms: crate::node::broadcaster::COORDINATOR_TICK_MS,
            moves_per_tick: crate::node::broadcaster::MOVES_PER_TICK,
            sample_every_ms: 30_000,
            reload_at_ms: None,
            reload_ms: 3_000,
            broadcaster_fanout: 1,
            script: None,
        }
    }

    /// Mean of the log-normal session length.
    pub fn mean_session_ms(&self) -> f64 {
        self.session_median_ms * (self.session_sigma * self.session_sigma / 2.0).exp()
    }

    /// How long a viewer's machine waits before declaring a silent neighbour lost.
    pub fn loss_after_ms(&self) -> u64 {
        match self.policy {
            Policy::Treecast => self.heartbeat_loss_ms,
            Policy::Seed => self.ice_timeout_ms,
        }
    }
}

/// Parses `90s`, `30m`, `2h`, `1500ms` or plain seconds.
pub fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1_000.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60_000.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3_600_000.0)
    } else {
        (t, 1_000.0)
    };
    let value: f64 = num.trim().parse().map_err(|_| format!("not a duration: {text:?}"))?;
    if !(value.is_finite() && value >= 0.0) {
        return Err(format!("not a duration: {text:?}"));
    }
    Ok((value * scale).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("2h"), Ok(7_200_000));
        assert_eq!(parse_duration_ms("30m"), Ok(1_800_000));
        assert_eq!(parse_duration_ms("90s"), Ok(90_000));
        assert_eq!(parse_duration_ms("250ms"), Ok(250));
        assert_eq!(parse_duration_ms("12"), Ok(12_000));
        assert!(parse_duration_ms("x").is_err());
    }
}
