//! The discrete-event engine: one real `Coordinator` (behind a root `Viewer`, as in
//! `node::broadcaster`) and one real `Viewer` machine per simulated viewer. The engine plays the
//! browser driver: it carries messages with sampled delays, builds edges (ICE + DTLS set-up),
//! parks and unparks senders, and decides who sees a moving picture.
//!
//! ## Abstractions (and why they do not change what is measured)
//! - **Heartbeats are not simulated one by one** (10^10 of them at 100k viewers over 2 h). A
//!   machine only acts on heartbeats through "last heard" times, which matter only when it ticks.
//!   So, right before every tick, each open edge whose far end is still alive delivers one
//!   synthetic `hb`; a peer that vanishes delivers its last `hb` at the instant it vanishes. The
//!   neighbour's silence check therefore fires exactly `loss_after` after the loss, plus the phase
//!   of the page's 50 ms timer (`tick_phase_ms`), as a per-message simulation would show (the
//!   last real heartbeat is 0..100 ms older, its transit 5..60 ms: these roughly cancel).
//! - **Machines are ticked only when something can be due**: at the machine's next timer
//!   (`Viewer::next_timer_ms`: join retry, leave grace, move timeout, dropped-child grace) and at
//!   `loss_after` / `slow_loss_after` after a neighbour vanished (its silence checks). A tick at
//!   any other instant would find nothing due, so skipping it changes nothing. Because the sim's
//!   pages never freeze, the machine's heartbeat period is set out of the way (it would otherwise
//!   read the sparse ticks as its own page having been frozen and forgive the silence).
//! - **Media is a flag per edge**, not packets: an edge carries picture when it is open, its sender
//!   is unparked (after the activation delay) and its parent has picture. Picture state is kept
//!   per viewer and updated incrementally: a change at one viewer is pushed down its subtree.
//! - **Seed policy**: the coordinator runs `Policy::Seed` (breadth-first fill, fan-out 2, the last
//!   leaf replaces a departed relay, no standbys); viewers run the same machine with
//!   `loss_after` = `slow_loss_after` = the 5.3 s ICE timeout the original waited for; a clean departure is PeerJS's
//!   close channel (230..410 ms), with no `leave` message (the original had none). On a
//!   broadcaster reload the seed run gets the same snapshot restore as treecast (the original's
//!   `reconnect_root` was never implemented; measured: no viewer recovered), so its figures are
//!   optimistic there.

use crate::core::coordinator::{Command, Config, Coordinator, Event, Policy, Rejected};
use crate::node::broadcaster::REJOIN_AFTER_MS;
use crate::node::guard::{Guard, Limits};
use crate::core::ids::PeerId;
use crate::core::outbox;
use crate::core::protocol::{Message, Role};
use crate::core::viewer::{Side, Viewer, ViewerCommand, ViewerConfig, ViewerEvent, ViewerState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::config::SimConfig;
use super::metrics::{Cause, Metrics, Report, RunFacts};
use super::queue::{Ev, Queue};
use super::rng::{mix, Rng};

const NONE: u32 = u32::MAX;
/// Sim index of the broadcaster (its root relay and coordinator).
const BROADCASTER: u32 = 0;
const NEVER: u64 = u64::MAX;

/// One page: the broadcaster (index 0) or a viewer.
struct Peer {
    id: PeerId,
    machine: Option<Box<Viewer>>,
    /// Edges this peer is an end of (either side).
    edges: Vec<u32>,
    /// The peer whose edge the player shows (last `RouteUpstream`).
    routed: u32,
    /// A hint: the live edge from `routed` (checked on use; `live_edge` searches when stale).
    routed_edge: u32,
    arrived_ms: u64,
    first_picture_ms: u64,
    stall_since_ms: u64,
    stall_ms: u64,
    /// What started the current stall.
    stall_cause: Cause,
    state: ViewerState,
    /// The page exists (its machine runs and its edges carry heartbeats).
    alive: bool,
    /// Counted in the audience: from arrival to the end of its session.
    watching: bool,
    picture: bool,
    /// Arrival of the last message through the PeerServer to / from the broadcaster (FIFO).
    last_up_signal_ms: u64,
    last_down_signal_ms: u64,
    /// When the pending timer tick fires (NEVER: none).
    timer_at: u64,
    expire_pending: bool,
    /// How the session ends: a crash (true) or a clean departure.
    crash_on_depart: bool,
}

/// A tree edge: one RTCPeerConnection (+ data channel) from `parent` (the offerer) to `child`.
#[derive(Default)]
struct Edge {
    parent: u32,
    child: u32,
    gen: u32,
    used: bool,
    offered: bool,
    accepted: bool,
    ready_pending: bool,
    open: bool,
    /// The parent's sender is unparked.
    sending: bool,
    /// Frames of an unparked sender reach the child (activation delay elapsed).
    flowing: bool,
    /// The child's machine has been told media flows here (`MediaProgress`).
    media_told: bool,
    /// One end's page vanished without closing it (crash, or the broadcaster reloading).
    dead: bool,
}

pub struct Sim {
    cfg: SimConfig,
    viewer_config: ViewerConfig,
    now: u64,
    queue: Queue,
    /// Delays and timer phases: this policy's own stream.
    rng: Rng,
    /// Arrivals, sessions, capacities, departures: the same for every policy.
    audience: Rng,
    pair_salt: u64,
    peers: Vec<Peer>,
    edges: Vec<Edge>,
    free_edges: Vec<u32>,
    coordinator: Option<Coordinator>,
    /// The page's guard, for its position-trust window only (`node::guard`).
    guard: Guard,
    epoch: u32,
    broadcasting: bool,
    saved_tree: Option<crate::core::coordinator::Snapshot>,
    next_arrival_ms: f64,
    script_next: usize,
    concurrent: u32,
    metrics: Metrics,
    command_buf: Vec<ViewerCommand>,
    coordinator_buf: Vec<Command>,
    root_buf: Vec<ViewerCommand>,
    stack: Vec<u32>,
    scratch: Vec<u32>,
    /// Reused for the neighbours a tick hears from, with the side of the edge.
    scratch_sides: Vec<(u32, Side)>,
    memo_stamp: Vec<u32>,
    memo_depth: Vec<u32>,
    memo_latency: Vec<u32>,
    stamp: u32,
    /// What the event being handled would start if it took a picture away.
    cause: Cause,
    progress: Option<Arc<AtomicU64>>,
    /// `TREECAST_SIM_TRACE=1`: print every event and command on stderr (small runs only).
    trace: bool,
    /// `TREECAST_SIM_WATCH=v12,v345`: print the events, commands and picture changes that
    /// concern these viewers, with the coordinator's view of each (large runs).
    watch: Vec<u32>,
    /// `TREECAST_SIM_LONG_STALLS=<ms>`: print every stall at least this long on stderr.
    report_stalls_from_ms: u64,
    /// `TREECAST_SIM_COUNTS=1`: count events by kind (printed at the end).
    count_events: bool,
    event_counts: std::collections::BTreeMap<String, u64>,
}

impl Sim {
    pub fn new(cfg: SimConfig) -> Sim {
        let defaults = ViewerConfig::default();
        let viewer_config = ViewerConfig {
            loss_after_ms: cfg.loss_after_ms(),
            // Seed: no early switch, the only detector is the ICE timeout.
            suspect_after_ms: match cfg.policy {
                Policy::Treecast => defaults.suspect_after_ms,
                Policy::Seed => cfg.ice_timeout_ms,
            },
            // Seed: ICE `disconnected` is the only detector, on every edge alike.
            slow_loss_after_ms: match cfg.policy {
                Policy::Treecast => defaults.slow_loss_after_ms,
                Policy::Seed => cfg.ice_timeout_ms,
            },
            // Heartbeats are synthetic here (module notes), and sim pages never freeze: the
            // machine's own period only paces sending and its "was I frozen?" check, which the
            // sparse ticks would otherwise trip. Keep it out of the way.
            heartbeat_ms: 1 << 40,
            own_freeze_ms: 1 << 40,
            // Synthetic heartbeats come only before ticks: their gaps say nothing of a parent.
            jitter_factor: 0,
            ..defaults
        };
        let label = match cfg.policy {
            Policy::Treecast => 1,
            Policy::Seed => 2,
        };
        // Both policies see the same audience (its own stream, `audience`) and the same per-pair
        // network delays (`pair_salt`); sampled delays come from the policy's own stream.
        let rng = Rng::fork(cfg.seed, label);
        let pair_salt = mix(cfg.seed ^ 0x7061_6972);
        let me = PeerId::parse("b0").expect("valid id");
        let epoch = 1;
        let mut sim = Sim {
            viewer_config,
            now: 0,
            queue: Queue::default(),
            rng,
            audience: Rng::fork(cfg.seed, 0x6175_6469_656e_6365),
            pair_salt,
            peers: Vec::new(),
            edges: Vec::new(),
            free_edges: Vec::new(),
            coordinator: None,
            guard: Guard::new(Limits::default(), cfg.seed),
            epoch,
            broadcasting: true,
            saved_tree: None,
            next_arrival_ms: 0.0,
            script_next: 0,
            concurrent: 0,
            metrics: Metrics::default(),
            command_buf: Vec::new(),
            coordinator_buf: Vec::new(),
            root_buf: Vec::new(),
            stack: Vec::new(),
            scratch: Vec::new(),
            scratch_sides: Vec::new(),
            memo_stamp: Vec::new(),
            memo_depth: Vec::new(),
            memo_latency: Vec::new(),
            stamp: 0,
            cause: Cause::Other,
            progress: None,
            trace: std::env::var_os("TREECAST_SIM_TRACE").is_some(),
            watch: std::env::var("TREECAST_SIM_WATCH")
                .map(|v| v.split(',').filter_map(|w| w.trim().trim_start_matches('v').parse().ok()).collect())
                .unwrap_or_default(),
            report_stalls_from_ms: std::env::var("TREECAST_SIM_LONG_STALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(u64::MAX),
            count_events: std::env::var_os("TREECAST_SIM_COUNTS").is_some(),
            event_counts: Default::default(),
            cfg,
        };
        sim.coordinator = Some(Coordinator::new(sim.coordinator_config(epoch)));
        sim.guard.clock(0);
        let mut root = sim.new_peer(me.clone());
        root.machine = Some(Box::new(Viewer::new_root(sim.viewer_config.clone(), me)));
        root.picture = true;
        root.state = ViewerState::Playing;
        sim.peers.push(root);
        sim
    }

    fn coordinator_config(&self, epoch: u32) -> Config {
        let mut c = Config::new(self.cfg.policy, self.peers_id0(), epoch);
        c.broadcaster_fanout = self.cfg.broadcaster_fanout;
        // The page's own setting unless told otherwise (`node::broadcaster`).
        c.moves_per_tick = self.cfg.moves_per_tick;
        // The product caps a broadcast at 100k viewers; the sim measures beyond that.
        c.max_viewers = u32::MAX;
        c.seed = mix(self.cfg.seed);
        c
    }

    fn peers_id0(&self) -> PeerId {
        PeerId::parse("b0").expect("valid id")
    }

    fn new_peer(&self, id: PeerId) -> Peer {
        Peer {
            id,
            machine: None,
            edges: Vec::new(),
            routed: NONE,
            routed_edge: NONE,
            arrived_ms: self.now,
            first_picture_ms: NEVER,
            stall_since_ms: 0,
            stall_ms: 0,
            stall_cause: Cause::Other,
            state: ViewerState::Waiting,
            alive: true,
            watching: false,
            picture: false,
            last_up_signal_ms: 0,
            last_down_signal_ms: 0,
            timer_at: NEVER,
            expire_pending: false,
            crash_on_depart: false,
        }
    }

    /// Reports the simulated time (ms) into `progress` while running.
    pub fn with_progress(mut self, progress: Arc<AtomicU64>) -> Sim {
        self.progress = Some(progress);
        self
    }

    pub fn run(mut self) -> Report {
        let started = Instant::now();
        let end = self.cfg.duration_ms;
        if self.cfg.script.is_some() {
            self.schedule_scripted_arrival();
        } else if self.cfg.viewers > 0 {
            self.schedule_arrival();
        }
        self.queue.push(self.cfg.coordinator_tick_ms, Ev::CoordinatorTick);
        self.queue.push(self.cfg.sample_every_ms.min(end), Ev::Sample);
        if let Some(at) = self.cfg.reload_at_ms.filter(|&at| at < end) {
            self.queue.push(at, Ev::ReloadStart);
        }
        while let Some((at, ev)) = self.queue.pop_until(end) {
            self.now = at;
            self.dispatch(ev);
            if self.queue.processed().is_multiple_of(8192) {
                if let Some(p) = &self.progress {
                    p.store(self.now, Ordering::Relaxed);
                }
            }
        }
        self.now = end;
        for v in 1..self.peers.len() as u32 {
            if self.peers[v as usize].watching {
                self.finish_watch(v);
            }
        }
        if let Some(p) = &self.progress {
            p.store(end, Ordering::Relaxed);
        }
        if self.count_events {
            eprintln!("{}: {:?}", policy_name(self.cfg.policy), self.event_counts);
        }
        let stats = self.coordinator.as_ref().map(|c| c.stats()).unwrap_or_default();
        let facts = RunFacts {
            policy: policy_name(self.cfg.policy).to_string(),
            seed: self.cfg.seed,
            viewers: self.cfg.viewers,
            duration_ms: end,
            repairs: stats.repairs,
            moves: stats.moves,
            rejected: stats.rejected,
            events: self.queue.processed(),
            wall_s: started.elapsed().as_secs_f64(),
        };
        self.metrics.report(facts)
    }

    fn dispatch(&mut self, ev: Ev) {
        if self.trace || (!self.watch.is_empty() && self.watched_event(&ev)) {
            eprintln!("{:>9} {ev:?}{}", self.now, self.edge_ends(&ev));
        }
        if self.count_events {
            let name = format!("{ev:?}");
            let key = name.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("").to_string();
            *self.event_counts.entry(key).or_insert(0) += 1;
        }
        self.cause = match &ev {
            Ev::FromCoordinator(..) => Cause::Coordinator,
            Ev::EdgeMessage { message: Message::Leaving {}, .. } => Cause::LeavingNotice,
            Ev::EdgeClosed { .. } => Cause::ClosedByPeer,
            Ev::Tick { .. } => Cause::Timer,
            _ => Cause::Other,
        };
        match ev {
            Ev::Arrive => self.on_arrive(),
            Ev::SignallingOpen(v) => self.viewer_event(v, ViewerEvent::SignallingOpen),
            Ev::Depart(v) => self.on_depart(v),
            Ev::ToCoordinator(v, message) => self.on_to_coordinator(v, message),
            Ev::FromCoordinator(v, message) => self.on_from_coordinator(v, message),
            Ev::EdgeMessage { edge, gen, to, message } => {
                if self.edge_valid(edge, gen) && !self.edges[edge as usize].dead {
                    let from = self.other_end(edge, to);
                    let peer = self.peers[from as usize].id.clone();
                    let side = self.side_for(edge, to);
                    self.viewer_event(to, ViewerEvent::EdgeMessage { peer, side, message });
                }
            }
            Ev::EdgeReady { edge, gen } => self.on_edge_ready(edge, gen),
            Ev::MediaStart { edge, gen } => {
                if self.edge_valid(edge, gen) {
                    let e = &mut self.edges[edge as usize];
                    if e.open && e.sending && !e.dead && !e.flowing {
                        e.flowing = true;
                        self.flow_changed(edge);
                    }
                }
            }
            Ev::MediaArrives { edge, gen } => self.on_media_arrives(edge, gen),
            Ev::EdgeClosed { to, from, edge, side } => {
                if !self.peers[to as usize].alive {
                    return;
                }
                // A newer edge between the pair supersedes the notice about an old one.
                if self.edge_between(to, from).is_some_and(|e| e != edge) {
                    return;
                }
                let peer = self.peers[from as usize].id.clone();
                self.viewer_event(to, ViewerEvent::EdgeClosed { peer, side });
            }
            Ev::Tick { peer, periodic } => self.on_tick(peer, periodic),
            Ev::CoordinatorTick => {
                self.coordinator_event(Event::Tick);
                self.on_tick(BROADCASTER, false);
                self.queue.push(self.now + self.cfg.coordinator_tick_ms, Ev::CoordinatorTick);
            }
            Ev::Expired(v) => {
                self.peers[v as usize].expire_pending = false;
                let peer = self.peers[v as usize].id.clone();
                if self.coordinator.as_ref().is_some_and(|c| c.is_live_peer(&peer)) {
                    self.coordinator_event(Event::Lost { peer });
                }
            }
            Ev::Sample => {
                self.sample();
                self.queue.push(self.now + self.cfg.sample_every_ms, Ev::Sample);
            }
            Ev::ReloadStart => self.on_reload_start(),
            Ev::ReloadEnd => self.on_reload_end(),
        }
    }

    // ----- watching a few viewers (TREECAST_SIM_WATCH) -------------------------------------------

    fn watched_event(&self, ev: &Ev) -> bool {
        let w = |v: u32| self.watch.contains(&v);
        let edge = |e: u32| self.edges.get(e as usize).is_some_and(|e| w(e.parent) || w(e.child));
        match *ev {
            Ev::SignallingOpen(v) | Ev::Depart(v) | Ev::ToCoordinator(v, _) | Ev::FromCoordinator(v, _) | Ev::Expired(v) => w(v),
            Ev::EdgeMessage { edge: e, .. } | Ev::EdgeReady { edge: e, .. } | Ev::MediaStart { edge: e, .. } | Ev::MediaArrives { edge: e, .. } => edge(e),
            Ev::EdgeClosed { to, from, .. } => w(to) || w(from),
            Ev::Tick { peer, .. } => w(peer),
            _ => false,
        }
    }

    /// An edge event's ends, `parent -> child`, for the trace.
    fn edge_ends(&self, ev: &Ev) -> String {
        match *ev {
            Ev::EdgeMessage { edge: e, .. } | Ev::EdgeReady { edge: e, .. } | Ev::MediaStart { edge: e, .. } | Ev::MediaArrives { edge: e, .. } => {
                self.edges.get(e as usize).map(|e| format!("  [v{} -> v{}]", e.parent, e.child)).unwrap_or_default()
            }
            _ => String::new(),
        }
    }

    /// `text` (a command's debug form) names a watched viewer (`v123`).
    fn mentions_watched(&self, text: &str) -> bool {
        text.split(|c: char| !c.is_ascii_alphanumeric())
            .filter_map(|word| word.strip_prefix('v')?.parse::<u32>().ok())
            .any(|v| self.watch.contains(&v))
    }

    fn print_coordinator_view(&self, v: u32) {
        let Some(c) = self.coordinator.as_ref() else { return };
        let id = &self.peers[v as usize].id;
        eprintln!("{:>9}   coordinator's view of v{v}: {:?}", self.now, c.placement(id));
    }

    // ----- sampling helpers -------------------------------------------------------------------

    fn uniform(&mut self, (lo, hi): (u64, u64)) -> u64 {
        self.rng.range(lo, hi)
    }

    /// When a message through the PeerServer between viewer `v` and the broadcaster arrives
    /// (`to_coordinator`: sent by `v`). Each page has one WebSocket to the server, so messages
    /// between the two arrive in the order they were sent: a sampled delay never overtakes.
    fn signalling_arrival(&mut self, v: u32, to_coordinator: bool) -> u64 {
        let at = self.now + self.uniform(self.cfg.signalling_ms);
        let p = &mut self.peers[v as usize];
        let last = if to_coordinator { &mut p.last_up_signal_ms } else { &mut p.last_down_signal_ms };
        *last = (*last).max(at);
        *last
    }

    /// One-way network delay between two pages: fixed per pair (a hash), so both directions and
    /// every message of the pair agree.
    fn one_way(&self, a: u32, b: u32) -> u64 {
        let (x, y) = if a < b { (a, b) } else { (b, a) };
        let (lo, hi) = self.cfg.edge_delay_ms;
        lo + mix(self.pair_salt ^ ((x as u64) << 32 | y as u64)) % (hi - lo + 1).max(1)
    }

    /// A relay's decode + re-encode cost (per relay, a hash).
    fn codec_cost(&self, relay: u32) -> u64 {
        let (lo, hi) = self.cfg.relay_codec_ms;
        lo + mix(self.pair_salt.rotate_left(17) ^ relay as u64) % (hi - lo + 1).max(1)
    }

    // ----- audience ---------------------------------------------------------------------------

    fn schedule_arrival(&mut self) {
        let steady = self.cfg.viewers as f64 / self.cfg.mean_session_ms();
        let burst = self.cfg.burst_share * self.cfg.viewers as f64 / self.cfg.burst_ms.max(1) as f64;
        let mut t = self.next_arrival_ms;
        loop {
            let in_burst = t < self.cfg.burst_ms as f64;
            let rate = steady + if in_burst { burst } else { 0.0 };
            if rate <= 0.0 {
                return;
            }
            let next = t + self.audience.exp(1.0 / rate);
            if in_burst && next > self.cfg.burst_ms as f64 {
                t = self.cfg.burst_ms as f64; // the rate changes here (memoryless: restart)
                continue;
            }
            self.next_arrival_ms = next;
            self.queue.push(next as u64, Ev::Arrive);
            return;
        }
    }

    fn schedule_scripted_arrival(&mut self) {
        let at = self.cfg.script.as_ref().and_then(|s| s.get(self.script_next)).map(|v| v.arrive_ms);
        if let Some(at) = at {
            self.queue.push(at, Ev::Arrive);
        }
    }

    fn on_arrive(&mut self) {
        let v = self.peers.len() as u32;
        let scripted = self.cfg.script.as_ref().and_then(|s| s.get(self.script_next)).cloned();
        // Everything about the viewer itself comes from the audience's stream, drawn here in
        // arrival order: both policies see the very same viewers.
        let (slots, session, crash) = match &scripted {
            Some(s) => (s.slots, s.depart_ms.map(|d| d.saturating_sub(self.now)), s.crash),
            None => {
                let a = &mut self.audience;
                let slots = if a.chance(self.cfg.phone_share) {
                    0
                } else {
                    a.range(self.cfg.relay_slots.0 as u64, self.cfg.relay_slots.1 as u64) as u8
                };
                let session = a.lognormal(self.cfg.session_median_ms, self.cfg.session_sigma);
                let crash = !a.chance(self.cfg.graceful_share);
                (slots, Some(session.max(1.0) as u64), crash)
            }
        };
        let machine_seed = self.audience.next_u64();
        let open_at = self.now + self.audience.range(self.cfg.connect_ms.0, self.cfg.connect_ms.1);
        let id = PeerId::parse(&format!("v{v}")).expect("valid id");
        let mut peer = self.new_peer(id.clone());
        peer.machine = Some(Box::new(Viewer::new(
            self.viewer_config.clone(),
            id,
            self.peers_id0(),
            slots,
            machine_seed,
        )));
        peer.watching = true;
        self.peers.push(peer);
        self.concurrent += 1;
        self.metrics.arrivals += 1;
        self.queue.push(open_at, Ev::SignallingOpen(v));
        if let Some(len) = session {
            if self.now + len <= self.cfg.duration_ms {
                self.queue.push(self.now + len, Ev::Depart(v));
            }
        }
        self.peers[v as usize].crash_on_depart = crash;
        if self.cfg.script.is_some() {
            self.script_next += 1;
            self.schedule_scripted_arrival();
        } else {
            self.schedule_arrival();
        }
    }

    fn on_depart(&mut self, v: u32) {
        if !self.peers[v as usize].alive || !self.peers[v as usize].watching {
            return;
        }
        self.finish_watch(v);
        let crash = self.peers[v as usize].crash_on_depart;
        if crash {
            self.metrics.crashes += 1;
            self.vanish(v, None);
            return;
        }
        self.metrics.graceful += 1;
        match self.cfg.policy {
            Policy::Treecast => {
                // The machine says `leave`, warns its children and keeps feeding them a while.
                self.viewer_event(v, ViewerEvent::LeaveRequested);
            }
            Policy::Seed => {
                let close = self.cfg.seed_close_ms;
                self.vanish(v, Some(close));
            }
        }
    }

    /// The viewer's session ends: close its stall and watch-time accounts.
    fn finish_watch(&mut self, v: u32) {
        let now = self.now;
        let p = &mut self.peers[v as usize];
        p.watching = false;
        self.concurrent -= 1;
        if p.first_picture_ms == NEVER {
            self.metrics.never_played += 1;
            return;
        }
        if !p.picture {
            p.stall_ms += now - p.stall_since_ms;
            if now - p.stall_since_ms >= self.report_stalls_from_ms {
                eprintln!("stall v{v}: {:?}, {} .. {} ms (cut by departure)", p.stall_cause, p.stall_since_ms, now);
            }
            self.metrics.count_stall(p.stall_cause, now - p.stall_since_ms);
        }
        self.metrics.watch_ms_total += now - p.first_picture_ms;
        self.metrics.stall_ms_total += p.stall_ms;
        self.metrics.stall_ms.push(p.stall_ms.min(u32::MAX as u64) as u32);
    }

    /// The page is gone. `close`: its edges close cleanly and neighbours hear of it after this
    /// delay; `None`: it just stops (crash, tab closed), neighbours notice the silence.
    fn vanish(&mut self, v: u32, close: Option<(u64, u64)>) {
        let outer_cause = self.cause;
        self.cause = match close {
            _ if v == BROADCASTER => Cause::Reload,
            Some(_) => Cause::Close,
            None => Cause::Crash,
        };
        let p = &mut self.peers[v as usize];
        p.alive = false;
        p.machine = None;
        let list = std::mem::take(&mut p.edges);
        p.edges = list.clone();
        for e in list {
            let other = self.other_end(e, v);
            let was_dead = self.edges[e as usize].dead;
            let open = self.edges[e as usize].open;
            let other_alive = self.peers[other as usize].alive;
            if close.is_some() || was_dead {
                self.remove_edge(e);
                if let (Some(range), true, false) = (close, other_alive, was_dead) {
                    let at = self.now + self.uniform(range);
                    let side = self.side_for(e, other);
                    self.queue.push(at, Ev::EdgeClosed { to: other, from: v, edge: e, side });
                }
            } else {
                self.edges[e as usize].dead = true;
                if open && other_alive {
                    // Its last heartbeat arrives now; silence from here on.
                    let peer = self.peers[v as usize].id.clone();
                    let side = self.side_for(e, other);
                    self.viewer_event(other, ViewerEvent::EdgeMessage { peer, side, message: Message::Hb { seq: 0 } });
                    // The neighbour's silence checks: its upstream after `suspect_after` (the
                    // standby is asked to send) and `loss_after`, children and standby parents
                    // after `slow_loss_after`. A parent only checks its children (slow); one
                    // tick does when the limits are the same (seed).
                    let phase = self.uniform(self.cfg.tick_phase_ms);
                    let c = &self.viewer_config;
                    let (suspect, fast, slow) = (c.suspect_after_ms, c.loss_after_ms, c.slow_loss_after_ms);
                    if side == Side::Up && fast != slow {
                        for after in [suspect, fast] {
                            self.queue.push(self.now + after + phase, Ev::Tick { peer: other, periodic: false });
                        }
                    }
                    self.queue.push(self.now + slow + phase, Ev::Tick { peer: other, periodic: false });
                }
            }
            self.edge_state_changed(e, other);
        }
        self.set_picture(v, false);
        self.propagate_from(v);
        self.cause = outer_cause;
    }

    // ----- the broadcaster's page -------------------------------------------------------------

    fn coordinator_event(&mut self, event: Event) {
        let Some(c) = self.coordinator.as_mut() else { return };
        let _ = c.handle(self.now, event);
        self.pump();
    }

    /// As `node::broadcaster`: moves commands between the coordinator and the root relay until
    /// both are quiet; coordinator commands for other peers go out through the PeerServer.
    fn pump(&mut self) {
        loop {
            let Some(c) = self.coordinator.as_mut() else { return };
            let epoch = c.epoch();
            let mut from_coordinator = std::mem::take(&mut self.coordinator_buf);
            from_coordinator.extend(c.drain_commands());
            let mut from_root = std::mem::take(&mut self.root_buf);
            if let Some(root) = self.peers[BROADCASTER as usize].machine.as_mut() {
                from_root.extend(root.drain_commands());
            }
            if from_coordinator.is_empty() && from_root.is_empty() {
                self.coordinator_buf = from_coordinator;
                self.root_buf = from_root;
                return;
            }
            for command in from_coordinator.drain(..) {
                let (to, message) = outbox::into_message(command, epoch);
                let t = index_of(&to);
                drop(to);
                if t == BROADCASTER {
                    let src = self.peers[BROADCASTER as usize].id.clone();
                    if let Some(root) = self.peers[BROADCASTER as usize].machine.as_mut() {
                        let _ = root.handle(self.now, ViewerEvent::FromServer { src, message });
                    }
                } else {
                    self.metrics.count_coordinator_message(self.now, false);
                    let at = self.signalling_arrival(t, false);
                    self.queue.push(at, Ev::FromCoordinator(t, message));
                }
            }
            self.coordinator_buf = from_coordinator;
            for command in from_root.drain(..) {
                self.execute(BROADCASTER, command);
            }
            self.root_buf = from_root;
        }
    }

    fn on_to_coordinator(&mut self, v: u32, message: Message) {
        if self.coordinator.is_none() {
            return; // the broadcaster's page is reloading: the PeerServer expires it
        }
        self.metrics.count_coordinator_message(self.now, true);
        let src = self.peers[v as usize].id.clone();
        let Ok(mut event) = Event::from_message(src, message) else { return };
        // As `node::broadcaster`: where a viewer says it sits is believed only in the window after
        // the page started (its rate limits are not modelled: see README).
        if let Event::Join { at, .. } = &mut event {
            if at.is_some() && !self.guard.trusts_positions(self.now) {
                *at = None;
            }
        }
        let Some(c) = self.coordinator.as_mut() else { return };
        if let Err(Rejected::UnknownPeer) = c.handle(self.now, event) {
            // As `node::broadcaster`: a viewer the coordinator forgot (lost while it was only
            // slow) still talks to us; it is told to join again, with where it sits.
            let wait = Message::Wait { epoch: c.epoch(), retry_ms: REJOIN_AFTER_MS };
            self.metrics.count_coordinator_message(self.now, false);
            let at = self.signalling_arrival(v, false);
            self.queue.push(at, Ev::FromCoordinator(v, wait));
        }
        self.pump();
    }

    fn on_from_coordinator(&mut self, v: u32, message: Message) {
        if !self.peers[v as usize].alive {
            // Not connected to the PeerServer: the broadcaster gets EXPIRE.
            if !self.peers[v as usize].expire_pending {
                self.peers[v as usize].expire_pending = true;
                self.queue.push(self.now + self.cfg.expire_ms, Ev::Expired(v));
            }
            return;
        }
        let src = self.peers[BROADCASTER as usize].id.clone();
        self.viewer_event(v, ViewerEvent::FromServer { src, message });
    }

    fn on_reload_start(&mut self) {
        if let Some(c) = &self.coordinator {
            self.saved_tree = Some(c.snapshot());
        }
        self.coordinator = None;
        self.broadcasting = false;
        self.vanish(BROADCASTER, None);
        self.queue.push(self.now + self.cfg.reload_ms, Ev::ReloadEnd);
    }

    fn on_reload_end(&mut self) {
        self.epoch += 1;
        let config = self.coordinator_config(self.epoch);
        let restored = self
            .saved_tree
            .take()
            .and_then(|s| Coordinator::restore(&s, self.now, config.clone()).ok())
            .unwrap_or_else(|| Coordinator::new(config));
        self.coordinator = Some(restored);
        // The reloaded page starts a new guard, and with it a new window of trust in positions.
        self.guard = Guard::new(Limits::default(), self.cfg.seed ^ self.epoch as u64);
        self.guard.clock(self.now);
        let me = self.peers_id0();
        let root = &mut self.peers[BROADCASTER as usize];
        root.alive = true;
        root.machine = Some(Box::new(Viewer::new_root(self.viewer_config.clone(), me)));
        self.broadcasting = true;
        self.set_picture(BROADCASTER, true);
        self.pump();
        self.propagate_from(BROADCASTER);
    }

    // ----- machines ---------------------------------------------------------------------------

    fn viewer_event(&mut self, v: u32, event: ViewerEvent) {
        let Some(machine) = self.peers[v as usize].machine.as_mut() else { return };
        let _ = machine.handle(self.now, event);
        if v == BROADCASTER {
            self.pump();
            return;
        }
        let mut commands = std::mem::take(&mut self.command_buf);
        commands.extend(machine.drain_commands());
        for command in commands.drain(..) {
            self.execute(v, command);
        }
        self.command_buf = commands;
        self.schedule_timer(v);
    }

    /// Schedules a tick for the machine's next timer (join retry, grace periods, move timeout)
    /// unless one at or before it is already pending.
    fn schedule_timer(&mut self, v: u32) {
        let Some(due) = self.peers[v as usize].machine.as_ref().and_then(|m| m.next_timer_ms()) else { return };
        let due = due.max(self.now);
        if due < self.peers[v as usize].timer_at {
            self.peers[v as usize].timer_at = due;
            self.queue.push(due, Ev::Tick { peer: v, periodic: true });
        }
    }

    fn on_tick(&mut self, v: u32, timer: bool) {
        if timer && self.peers[v as usize].timer_at == self.now {
            self.peers[v as usize].timer_at = NEVER;
        }
        if !self.peers[v as usize].alive {
            return;
        }
        // Synthetic heartbeats from every live neighbour (see the module notes).
        let mut around = std::mem::take(&mut self.scratch_sides);
        around.clear();
        for &e in &self.peers[v as usize].edges {
            let edge = &self.edges[e as usize];
            // A vanished page's edges are all dead or removed, so a live edge has a live far end.
            if edge.open && !edge.dead {
                let (other, side) = if edge.parent == v { (edge.child, Side::Down) } else { (edge.parent, Side::Up) };
                debug_assert!(self.peers[other as usize].alive);
                around.push((other, side));
            }
        }
        if let Some(mut machine) = self.peers[v as usize].machine.take() {
            for &(other, side) in &around {
                let peer = self.peers[other as usize].id.clone();
                let _ = machine.handle(self.now, ViewerEvent::EdgeMessage { peer, side, message: Message::Hb { seq: 0 } });
            }
            self.peers[v as usize].machine = Some(machine);
        }
        self.scratch_sides = around;
        self.viewer_event(v, ViewerEvent::Tick);
    }

    /// Carries out one command of `actor`'s machine.
    fn execute(&mut self, actor: u32, command: ViewerCommand) {
        if self.trace || (!self.watch.is_empty() && (self.watch.contains(&actor) || self.mentions_watched(&format!("{command:?}")))) {
            eprintln!("{:>9}   v{actor}: {command:?}", self.now);
        }
        match command {
            ViewerCommand::SendToCoordinator(message) => {
                if actor == BROADCASTER {
                    let src = self.peers[BROADCASTER as usize].id.clone();
                    if let (Some(c), Ok(event)) = (self.coordinator.as_mut(), Event::from_message(src, message)) {
                        let _ = c.handle(self.now, event);
                    }
                } else {
                    let at = self.signalling_arrival(actor, true);
                    self.queue.push(at, Ev::ToCoordinator(actor, message));
                }
            }
            ViewerCommand::SendOnEdge { peer, side, message } => {
                if matches!(message, Message::Hb { .. }) {
                    return; // heartbeats are synthetic (module notes)
                }
                let other = index_of(&peer);
                if let Some(e) = self.edge_on_side(actor, other, side).filter(|&e| self.edges[e as usize].open) {
                    let at = self.now + self.one_way(actor, other);
                    let gen = self.edges[e as usize].gen;
                    self.queue.push(at, Ev::EdgeMessage { edge: e, gen, to: other, message });
                }
            }
            ViewerCommand::OpenEdge { child, role } => {
                let c = index_of(&child);
                let e = self.edge_for(actor, c);
                let edge = &mut self.edges[e as usize];
                edge.offered = true;
                edge.sending = role == Role::Primary;
                // An offer from a parent the child still sits under (e.g. the broadcaster back
                // after a reload) is accepted by the child's driver without a new `assign`.
                if !edge.accepted && self.has_dead_edge(actor, c) {
                    self.edges[e as usize].accepted = true;
                }
                self.maybe_connect(e);
            }
            ViewerCommand::AcceptEdge { parent, .. } => {
                let p = index_of(&parent);
                if p == actor {
                    return;
                }
                let e = self.edge_for(p, actor);
                if self.edges[e as usize].open {
                    // Already up: the driver reports it again.
                    self.edges[e as usize].media_told = false;
                    let gen = self.edges[e as usize].gen;
                    self.queue.push(self.now, Ev::EdgeReady { edge: e, gen });
                    return;
                }
                self.edges[e as usize].accepted = true;
                self.maybe_connect(e);
            }
            ViewerCommand::CloseEdge { peer, side } => {
                let other = index_of(&peer);
                self.close_between(actor, other, side);
            }
            ViewerCommand::RouteUpstream { peer } => {
                let p = index_of(&peer);
                self.peers[actor as usize].routed = p;
                self.peers[actor as usize].routed_edge = self.live_edge(p, actor).unwrap_or(NONE);
                self.refresh_path(actor);
            }
            ViewerCommand::SetSending { child, on } => {
                let c = index_of(&child);
                let Some(e) = self.live_edge(actor, c) else { return };
                let edge = &mut self.edges[e as usize];
                edge.sending = on;
                if !on {
                    edge.flowing = false;
                    edge.media_told = false;
                    self.edge_state_changed(e, c);
                } else if edge.open && !edge.flowing {
                    let gen = edge.gen;
                    let at = self.now + self.uniform(self.cfg.activation_ms) + self.one_way(actor, c);
                    self.queue.push(at, Ev::MediaStart { edge: e, gen });
                }
            }
            ViewerCommand::State(state) => {
                self.peers[actor as usize].state = state;
                if state == ViewerState::Left {
                    self.vanish(actor, Some((0, 0)));
                }
            }
        }
    }

    // ----- edges ------------------------------------------------------------------------------

    fn edge_valid(&self, e: u32, gen: u32) -> bool {
        let edge = &self.edges[e as usize];
        edge.used && edge.gen == gen
    }

    fn other_end(&self, e: u32, v: u32) -> u32 {
        let edge = &self.edges[e as usize];
        if edge.parent == v {
            edge.child
        } else {
            edge.parent
        }
    }

    /// The live (not dead) edge parent -> child (there is at most one: `edge_for`).
    fn live_edge(&self, parent: u32, child: u32) -> Option<u32> {
        let c = &self.peers[child as usize];
        if c.routed == parent && c.routed_edge != NONE {
            let edge = &self.edges[c.routed_edge as usize];
            if edge.used && edge.parent == parent && edge.child == child && !edge.dead {
                return Some(c.routed_edge);
            }
        }
        c.edges.iter().copied().find(|&e| {
            let edge = &self.edges[e as usize];
            edge.parent == parent && edge.child == child && !edge.dead
        })
    }

    /// A live edge between `a` and `b`, either way.
    /// Which side of edge `e` peer `v` sees: `Up` if the edge feeds `v`.
    fn side_for(&self, e: u32, v: u32) -> Side {
        if self.edges[e as usize].child == v { Side::Up } else { Side::Down }
    }

    /// `actor`'s live edge with `other` on `side` (`Up`: `other` feeds `actor`).
    fn edge_on_side(&self, actor: u32, other: u32, side: Side) -> Option<u32> {
        let (parent, child) = if side == Side::Up { (other, actor) } else { (actor, other) };
        self.peers[actor as usize].edges.iter().copied().find(|&e| {
            let edge = &self.edges[e as usize];
            !edge.dead && edge.parent == parent && edge.child == child
        })
    }

    fn edge_between(&self, a: u32, b: u32) -> Option<u32> {
        self.peers[a as usize].edges.iter().copied().find(|&e| {
            let edge = &self.edges[e as usize];
            !edge.dead && ((edge.parent == a && edge.child == b) || (edge.parent == b && edge.child == a))
        })
    }

    fn has_dead_edge(&self, parent: u32, child: u32) -> bool {
        self.peers[child as usize].edges.iter().any(|&e| {
            let edge = &self.edges[e as usize];
            edge.parent == parent && edge.dead
        })
    }

    /// The live edge parent -> child, created (neither side ready) if there is none.
    fn edge_for(&mut self, parent: u32, child: u32) -> u32 {
        if let Some(e) = self.live_edge(parent, child) {
            return e;
        }
        let e = match self.free_edges.pop() {
            Some(e) => e,
            None => {
                self.edges.push(Edge::default());
                (self.edges.len() - 1) as u32
            }
        };
        let gen = self.edges[e as usize].gen.wrapping_add(1);
        self.edges[e as usize] = Edge { parent, child, gen, used: true, ..Edge::default() };
        self.peers[parent as usize].edges.push(e);
        let c = &mut self.peers[child as usize];
        c.edges.push(e);
        if c.routed == parent {
            c.routed_edge = e;
        }
        e
    }

    /// Both sides are ready: ICE + DTLS (+ offer/answer) take the new-connection time.
    fn maybe_connect(&mut self, e: u32) {
        let edge = &self.edges[e as usize];
        if edge.offered && edge.accepted && !edge.open && !edge.ready_pending {
            let gen = edge.gen;
            self.edges[e as usize].ready_pending = true;
            let at = self.now + self.uniform(self.cfg.new_connection_ms);
            self.queue.push(at, Ev::EdgeReady { edge: e, gen });
        }
    }

    fn on_edge_ready(&mut self, e: u32, gen: u32) {
        if !self.edge_valid(e, gen) || self.edges[e as usize].dead {
            return;
        }
        let (p, c) = (self.edges[e as usize].parent, self.edges[e as usize].child);
        if !self.peers[p as usize].alive || !self.peers[c as usize].alive {
            return;
        }
        // The new connection replaces any dead one between the pair.
        let stale: Vec<u32> = self.peers[c as usize]
            .edges
            .iter()
            .copied()
            .filter(|&x| x != e && self.edges[x as usize].parent == p && self.edges[x as usize].dead)
            .collect();
        for x in stale {
            self.remove_edge(x);
        }
        let edge = &mut self.edges[e as usize];
        edge.ready_pending = false;
        edge.open = true;
        edge.flowing = edge.sending;
        let (pid, cid) = (self.peers[p as usize].id.clone(), self.peers[c as usize].id.clone());
        self.viewer_event(p, ViewerEvent::EdgeOpened { peer: cid, side: Side::Down });
        if self.edge_valid(e, gen) {
            self.viewer_event(c, ViewerEvent::EdgeOpened { peer: pid, side: Side::Up });
        }
        if self.edge_valid(e, gen) {
            self.flow_changed(e);
        }
    }

    fn on_media_arrives(&mut self, e: u32, gen: u32) {
        if !self.edge_valid(e, gen) {
            return;
        }
        let edge = &self.edges[e as usize];
        let (p, c) = (edge.parent, edge.child);
        if edge.open && edge.flowing && !edge.dead && self.peers[p as usize].picture {
            let peer = self.peers[p as usize].id.clone();
            self.viewer_event(c, ViewerEvent::MediaProgress { peer });
        } else {
            self.edges[e as usize].media_told = false;
        }
    }

    /// Closes `actor`'s connection with `other`: the dead one if the machine is giving up on a
    /// silent peer, else the live ones. The far end hears of a clean close after the one-way delay.
    fn close_between(&mut self, actor: u32, other: u32, side: Side) {
        let mut matching = std::mem::take(&mut self.scratch);
        matching.clear();
        let (parent, child) = if side == Side::Up { (other, actor) } else { (actor, other) };
        let other_side = if side == Side::Up { Side::Down } else { Side::Up };
        for &e in &self.peers[actor as usize].edges {
            let edge = &self.edges[e as usize];
            if edge.parent == parent && edge.child == child {
                matching.push(e);
            }
        }
        let any_dead = matching.iter().any(|&e| self.edges[e as usize].dead);
        for &e in &matching {
            let dead = self.edges[e as usize].dead;
            if any_dead && !dead {
                continue;
            }
            self.remove_edge(e);
            if !dead && self.peers[other as usize].alive {
                let at = self.now + self.one_way(actor, other);
                self.queue.push(at, Ev::EdgeClosed { to: other, from: actor, edge: e, side: other_side });
            }
            self.edge_state_changed(e, other);
            self.edge_state_changed(e, actor);
        }
        matching.clear();
        self.scratch = matching;
    }

    fn remove_edge(&mut self, e: u32) {
        let (p, c) = (self.edges[e as usize].parent, self.edges[e as usize].child);
        for v in [p, c] {
            let list = &mut self.peers[v as usize].edges;
            if let Some(i) = list.iter().position(|&x| x == e) {
                list.swap_remove(i);
            }
        }
        let edge = &mut self.edges[e as usize];
        edge.used = false;
        edge.open = false;
        edge.flowing = false;
        edge.gen = edge.gen.wrapping_add(1);
        self.free_edges.push(e);
    }

    // ----- picture ----------------------------------------------------------------------------

    /// Edge `e`'s carrying state changed (or it went away): `end` may have to recompute.
    fn edge_state_changed(&mut self, _e: u32, end: u32) {
        if end != BROADCASTER && self.peers[end as usize].alive {
            self.refresh(end);
        }
    }

    /// The edge now carries frames (open, unparked, activation done): tell the child's player
    /// when its parent has picture, and update the child if it shows this edge.
    fn flow_changed(&mut self, e: u32) {
        let edge = &self.edges[e as usize];
        let (p, c) = (edge.parent, edge.child);
        if edge.flowing && !edge.media_told && self.peers[p as usize].picture {
            let gen = edge.gen;
            self.edges[e as usize].media_told = true;
            self.queue.push(self.now, Ev::MediaArrives { edge: e, gen });
        }
        self.refresh(c);
    }

    /// Whether frames from the broadcaster reach `v` along its routed path (walks up; cycles and
    /// broken links give false).
    fn reaches_source(&self, v: u32) -> bool {
        let mut x = v;
        for _ in 0..100_000 {
            if x == BROADCASTER {
                return self.broadcasting;
            }
            let p = &self.peers[x as usize];
            if !p.alive || p.routed == NONE {
                return false;
            }
            let u = p.routed;
            match self.live_edge(u, x) {
                Some(e) if self.edges[e as usize].open && self.edges[e as usize].flowing => x = u,
                _ => return false,
            }
        }
        false
    }

    /// Recomputes `v` from its routed edge and its parent's (current) picture, and pushes a
    /// change down to the viewers it feeds. Routed pointers only change in `RouteUpstream`, which
    /// uses `refresh_path` (a full walk) so a cycle can never keep a stale picture alive.
    fn refresh(&mut self, v: u32) {
        if v == BROADCASTER {
            return;
        }
        let p = &self.peers[v as usize];
        let u = p.routed;
        let now = p.alive
            && u != NONE
            && self.peers[u as usize].picture
            && self.live_edge(u, v).is_some_and(|e| self.edges[e as usize].open && self.edges[e as usize].flowing);
        if now != self.peers[v as usize].picture {
            self.set_picture(v, now);
            self.propagate_from(v);
        }
    }

    /// `refresh` with a walk up the whole routed path (after the route changed).
    fn refresh_path(&mut self, v: u32) {
        if v == BROADCASTER {
            return;
        }
        let now = self.reaches_source(v);
        if now != self.peers[v as usize].picture {
            self.set_picture(v, now);
            self.propagate_from(v);
        }
    }

    fn propagate_from(&mut self, v: u32) {
        let mut stack = std::mem::take(&mut self.stack);
        stack.push(v);
        while let Some(x) = stack.pop() {
            let has = self.peers[x as usize].picture;
            for i in 0..self.peers[x as usize].edges.len() {
                let e = self.peers[x as usize].edges[i];
                let edge = &self.edges[e as usize];
                if edge.parent != x || edge.dead || !edge.open || !edge.flowing {
                    continue;
                }
                let c = edge.child;
                if has && !edge.media_told {
                    let gen = edge.gen;
                    self.edges[e as usize].media_told = true;
                    self.queue.push(self.now, Ev::MediaArrives { edge: e, gen });
                }
                let child = &self.peers[c as usize];
                if child.routed == x && child.alive && child.picture != has {
                    self.set_picture(c, has);
                    stack.push(c);
                }
            }
        }
        self.stack = stack;
    }

    fn set_picture(&mut self, v: u32, on: bool) {
        let now = self.now;
        let p = &mut self.peers[v as usize];
        if p.picture == on {
            return;
        }
        p.picture = on;
        if self.trace || self.watch.contains(&v) {
            eprintln!("{:>9}   picture v{v} {on} (routed {})", now, self.peers[v as usize].routed);
            if !on {
                self.print_coordinator_view(v);
            }
        }
        let p = &mut self.peers[v as usize];
        if !p.watching {
            return;
        }
        if on {
            if p.first_picture_ms == NEVER {
                p.first_picture_ms = now;
                self.metrics.startup_ms.push((now - p.arrived_ms) as u32);
            } else {
                p.stall_ms += now - p.stall_since_ms;
                if now - p.stall_since_ms >= self.report_stalls_from_ms {
                    eprintln!("stall v{v}: {:?}, {} .. {} ms (routed from v{})", p.stall_cause, p.stall_since_ms, now, p.routed);
                }
                self.metrics.count_stall(p.stall_cause, now - p.stall_since_ms);
            }
        } else if p.first_picture_ms != NEVER {
            p.stall_since_ms = now;
            p.stall_cause = self.cause;
        }
    }

    // ----- samples ----------------------------------------------------------------------------

    fn sample(&mut self) {
        self.metrics.concurrent_samples.push(self.concurrent);
        if let Some(c) = &self.coordinator {
            if self.cfg.policy == Policy::Treecast {
                self.metrics.standby_coverage_samples.push(c.stats().standby_coverage);
            }
        }
        let root_edges = self.peers[BROADCASTER as usize]
            .edges
            .iter()
            .filter(|&&e| self.edges[e as usize].open && !self.edges[e as usize].dead)
            .count();
        self.metrics.root_edge_samples.push(root_edges as u32);
        // Depth and latency of every viewer with picture, memoised along routed paths.
        self.stamp = self.stamp.wrapping_add(1);
        let n = self.peers.len();
        self.memo_stamp.resize(n, 0);
        self.memo_depth.resize(n, 0);
        self.memo_latency.resize(n, 0);
        let (mut needing, mut backed) = (0u64, 0u64);
        let mut path = std::mem::take(&mut self.stack);
        for v in 1..n as u32 {
            let p = &self.peers[v as usize];
            if !p.watching || !p.picture {
                continue;
            }
            // Walk up to the broadcaster or a memoised node, then fill in on the way down.
            path.clear();
            let mut x = v;
            while x != BROADCASTER && self.memo_stamp[x as usize] != self.stamp {
                path.push(x);
                x = self.peers[x as usize].routed;
            }
            let (mut depth, mut latency) =
                if x == BROADCASTER { (0, 0) } else { (self.memo_depth[x as usize], self.memo_latency[x as usize]) };
            let mut up = x;
            while let Some(y) = path.pop() {
                let hop = if up == BROADCASTER { self.cfg.first_hop_ms } else { self.codec_cost(up) };
                depth += 1;
                latency += (hop + self.one_way(up, y)) as u32;
                self.memo_stamp[y as usize] = self.stamp;
                self.memo_depth[y as usize] = depth;
                self.memo_latency[y as usize] = latency;
                up = y;
            }
            let (d, l) = (self.memo_depth[v as usize], self.memo_latency[v as usize]);
            self.metrics.note_depth_latency(d, l as u64);
            if d >= 2 {
                needing += 1;
                let routed = self.peers[v as usize].routed;
                let has_standby = self.peers[v as usize].edges.iter().any(|&e| {
                    let edge = &self.edges[e as usize];
                    edge.child == v && edge.parent != routed && edge.open && !edge.dead
                });
                backed += has_standby as u64;
            }
        }
        self.stack = path;
        if needing > 0 {
            self.metrics.standby_measured_samples.push(backed as f64 / needing as f64);
        }
    }
}

/// Sim index from a peer id (`b0` is the broadcaster, `v<n>` viewer n).
fn index_of(id: &PeerId) -> u32 {
    id.as_str()[1..].parse().expect("sim ids are a letter and a number")
}

pub fn policy_name(p: Policy) -> &'static str {
    match p {
        Policy::Treecast => "treecast",
        Policy::Seed => "seed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signalling_between_two_pages_keeps_its_order() {
        // Delays 20..80 ms sampled per message: without FIFO a later message often overtakes.
        let mut sim = Sim::new(SimConfig::new(Policy::Treecast, 0, 60_000, 3));
        sim.peers.push(sim.new_peer(PeerId::parse("v1").unwrap()));
        for to_coordinator in [false, true] {
            let mut last = 0;
            for step in 0..200 {
                sim.now = step * 5;
                let at = sim.signalling_arrival(1, to_coordinator);
                assert!(at >= last && at >= sim.now + 20, "{at} after {last}");
                last = at;
            }
        }
    }
}
