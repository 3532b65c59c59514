//! The viewer/relay state machine (sans-IO): the driver reports signalling, edges, heartbeats and
//! media progress; the machine answers with commands. Time and randomness are passed in.
//!
//! States: `Waiting` (no broadcaster yet / told to wait) -> `Joining` (join sent) -> `Playing`;
//! `Repairing` while it has no upstream media; `Left` at the end.
//!
//! Every switch of upstream is make-before-break: the machine keeps routing the old parent's
//! media until the new edge's media flows, and only then routes the new one and closes the old.
//! A parent that says `leaving`, or that goes quiet (neither a heartbeat nor media progress for
//! `suspect_after_ms`), makes the machine ask its standby to send at once, with no coordinator
//! round trip (a *failover*); a quiet parent that speaks again before the standby's media flows
//! is kept and the standby parked again, so a slow parent causes no flapping. A parent that stays
//! silent for `loss_after_ms`, or whose edge closes, is lost: the machine routes the best
//! candidate at once (the player keeps the last frame until its media arrives) and never flips
//! back.

use crate::core::health::{Figures, HealthRelay};
use crate::core::ids::PeerId;
use crate::core::protocol::{Message, Position, Role};

/// How long a standby the coordinator replaced while moving us stays (see `standby_after_move`).
pub const KEEP_REPLACED_STANDBY_MS: u64 = 300;

#[derive(Debug, Clone)]
pub struct ViewerConfig {
    pub heartbeat_ms: u64,
    /// Silence after which the standby is asked to send in parallel (the switch happens when its
    /// media flows; a parent heard again before that is kept).
    pub suspect_after_ms: u64,
    /// Silence after which the primary parent is lost for good.
    pub loss_after_ms: u64,
    /// Both silences grow to this many times the longest recent gap between two signs of life
    /// from the parent (0: fixed), so a parent whose page is often busy is not taken for lost.
    pub jitter_factor: u64,
    /// A gap between two ticks longer than this means our own page was frozen: the silence of
    /// that stretch says nothing about our neighbours.
    pub own_freeze_ms: u64,
    /// Silence after which a child or a standby parent counts as lost. Longer: detecting them
    /// late costs no picture, while cutting a live but busy peer would cost its subtree one.
    pub slow_loss_after_ms: u64,
    pub join_retry_min_ms: u64,
    pub join_retry_max_ms: u64,
    /// A leaving relay keeps feeding its children this long (they switch to standbys meanwhile).
    pub leave_grace_ms: u64,
    /// A dropped child is still fed this long unless it closes the edge first (make-before-break).
    pub drop_grace_ms: u64,
    /// A move to a new parent is abandoned if its media does not flow within this.
    pub switch_timeout_ms: u64,
    /// A parent whose edge is up but whose media never flowed this long after it was assigned is
    /// given up (reported lost): whatever went wrong between it, us and the coordinator, we are
    /// re-homed instead of waiting for ever.
    pub first_media_timeout_ms: u64,
    /// Most children edges kept (bounds memory whatever the coordinator asks).
    pub max_children: usize,
}

impl Default for ViewerConfig {
    fn default() -> Self {
        ViewerConfig {
            heartbeat_ms: 100,
            suspect_after_ms: 250,
            loss_after_ms: 600,
            jitter_factor: 2,
            own_freeze_ms: 150,
            slow_loss_after_ms: 3_000,
            join_retry_min_ms: 250,
            join_retry_max_ms: 5_000,
            leave_grace_ms: 1_500,
            drop_grace_ms: 3_000,
            switch_timeout_ms: 5_000,
            first_media_timeout_ms: 10_000,
            max_children: 48,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewerState {
    Waiting,
    Joining,
    Playing,
    Repairing,
    Left,
}

/// Which of our edges with a peer: the one it feeds us on (`Up`: our parent, standby, or a parent
/// we are moving to) or the one we feed it on (`Down`: a child). Two peers can have both at once
/// (a child moved above its former parent), so an edge is named by peer *and* side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Up,
    Down,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewerEvent {
    /// The PeerServer socket is open (again).
    SignallingOpen,
    /// A decoded message that came through the PeerServer from `src` (set by the server).
    FromServer { src: PeerId, message: Message },
    EdgeOpened { peer: PeerId, side: Side },
    EdgeClosed { peer: PeerId, side: Side },
    /// A decoded message on the data channel of the edge with `peer`.
    EdgeMessage { peer: PeerId, side: Side, message: Message },
    /// Inbound media on the edge from `peer` advanced (frames decoded since the last report).
    MediaProgress { peer: PeerId },
    Tick,
    LeaveRequested,
    CapacityChanged { slots: u8 },
    /// The player's picture since the previous sample (about once a second): frames presented
    /// in the last second, longest gap between frames, stalls. Sent up to the primary parent
    /// with what the subtree reported (`core::health`).
    HealthSample { fps: u32, gap_ms: u32, stalls: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewerCommand {
    SendToCoordinator(Message),
    SendOnEdge { peer: PeerId, side: Side, message: Message },
    /// Create the edge to `child` and offer (the parent initiates); `Standby`: tracks parked.
    OpenEdge { child: PeerId, role: Role },
    /// Accept an offer from `parent` (offers from anyone else are refused).
    AcceptEdge { parent: PeerId, role: Role },
    CloseEdge { peer: PeerId, side: Side },
    /// Play and relay the tracks received on the edge from `peer` (replaceTrack on all active
    /// child senders and the player).
    RouteUpstream { peer: PeerId },
    /// Park (false) or unpark (true) the sender tracks on the edge to `child`.
    SetSending { child: PeerId, on: bool },
    State(ViewerState),
}

/// Why an event was ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored {
    NotFromCoordinator,
    NotAnEdgePeer,
    UnexpectedMessage,
    AfterLeave,
}

#[derive(Debug, Clone)]
struct Upstream {
    id: PeerId,
    open: bool,
    last_heard_ms: u64,
    media: bool,
    /// It announced its leave (it told the coordinator itself: no loss report).
    leaving: bool,
    /// Its parent may hold our edge parked (set up as a standby edge, or as another child's
    /// standby before the coordinator made it our parent): we send `activate` once it opens.
    parked: bool,
    /// When we began to count on it: a parent whose media never flows is given up.
    since_ms: u64,
    /// Silent past `loss_after_ms` with no standby to go to: reported lost (the coordinator
    /// re-homes us), but its edge is kept for `slow_loss_after_ms` in case it was only busy.
    reported_lost: bool,
    /// The longest recent gap between two signs of life, decaying by 1 ms every 20 ms.
    gap_peak_ms: u64,
}

impl Upstream {
    fn heard(&mut self, now_ms: u64) {
        let gap = now_ms.saturating_sub(self.last_heard_ms);
        // Only the steady state counts: setting an edge up is no sign of a busy parent.
        if self.media {
            self.gap_peak_ms = gap.max(self.gap_peak_ms.saturating_sub(gap / 20));
        }
        self.last_heard_ms = self.last_heard_ms.max(now_ms);
    }

    /// Asks a parked edge's parent to send (once the edge is open).
    fn unpark(&mut self, out: &mut Vec<ViewerCommand>) {
        if self.parked && self.open {
            self.parked = false;
            out.push(ViewerCommand::SendOnEdge { peer: self.id.clone(), side: Side::Up, message: Message::Activate {} });
        }
    }

    /// Stops a parent we had asked to send (it goes back to standing by).
    fn park(&mut self, out: &mut Vec<ViewerCommand>) {
        self.parked = true;
        out.push(ViewerCommand::SendOnEdge { peer: self.id.clone(), side: Side::Up, message: Message::Park {} });
    }
}

/// Why the standby was asked to send before the parent is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    /// The parent said `leaving`.
    Leaving,
    /// The parent went quiet: if it stays so, it is reported lost when we switch.
    Suspected,
    /// The coordinator made the standby our parent.
    Assigned,
}

/// Our standby, asked to send; we switch to it when its media flows.
#[derive(Debug, Clone)]
struct Failover {
    to: Upstream,
    since_ms: u64,
    reason: Reason,
}

#[derive(Debug, Clone)]
struct Child {
    id: PeerId,
    role: Role,
    open: bool,
    last_heard_ms: u64,
    dropped_at: Option<u64>,
    /// Made a standby while we feed it: we keep sending until it parks us (it still plays us
    /// until its new parent's media flows), or until the drop grace passes.
    demoted_at: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ViewerStats {
    pub state: ViewerState,
    pub parent: Option<PeerId>,
    pub standby: Option<PeerId>,
    pub depth: u32,
    pub children: Vec<PeerId>,
    pub failovers: u32,
}

pub struct Viewer {
    config: ViewerConfig,
    me: PeerId,
    coordinator: PeerId,
    slots: u8,
    state: ViewerState,
    epoch: Option<u32>,
    depth: u32,
    /// The edge media is routed from now.
    upstream: Option<Upstream>,
    standby: Option<Upstream>,
    /// The standby, activated ahead of a switch (make-before-break).
    failover: Option<Failover>,
    /// A new parent the coordinator moves us to, once its media flows (make-before-break).
    moving_to: Option<(Upstream, u64)>,
    /// A standby the coordinator named that is busy as our upstream (or the one we switch to):
    /// once we switch away from it, it stays connected as our standby, parked.
    standby_next: Option<PeerId>,
    /// A standby the coordinator replaced while it also moved us: the old one stays until the
    /// move is over or `KEEP_REPLACED_STANDBY_MS` passed (the new standby to take then, and when).
    /// The coordinator may hear of our parent's leave before we do and move us at once; letting
    /// the old standby go right then left us with nowhere to switch when the leave notice came
    /// (the standby test, once in ten runs). Not longer: the coordinator no longer keeps the old
    /// one's rules (it may be moved below us), and keeping it until every move was over cost
    /// the simulator 2-4 times the stalls of 1 s or more.
    standby_after_move: Option<(Option<PeerId>, u64)>,
    children: Vec<Child>,
    placed: bool,
    signalling: bool,
    next_join_ms: u64,
    backoff_ms: u64,
    next_hb_ms: u64,
    hb_seq: u32,
    leaving_since: Option<u64>,
    /// The previous tick, to notice when this page itself was frozen.
    last_tick_ms: Option<u64>,
    failovers: u32,
    /// Our children's health reports, folded into ours (not kept by the root: see `node::dashboard`).
    health: HealthRelay,
    /// The broadcaster's own edge machine: no upstream, never joins.
    is_root: bool,
    rng: u64,
    out: Vec<ViewerCommand>,
}

impl Viewer {
    /// `random_seed`: caller-provided randomness for the join back-off jitter.
    pub fn new(config: ViewerConfig, me: PeerId, coordinator: PeerId, slots: u8, random_seed: u64) -> Viewer {
        let backoff_ms = config.join_retry_min_ms;
        Viewer {
            config,
            me,
            coordinator,
            slots,
            state: ViewerState::Waiting,
            epoch: None,
            depth: 0,
            upstream: None,
            standby: None,
            failover: None,
            moving_to: None,
            standby_next: None,
            standby_after_move: None,
            children: Vec::new(),
            placed: false,
            signalling: false,
            next_join_ms: 0,
            backoff_ms,
            next_hb_ms: 0,
            hb_seq: 0,
            leaving_since: None,
            last_tick_ms: None,
            failovers: 0,
            health: HealthRelay::new(),
            is_root: false,
            rng: random_seed | 1,
            out: Vec::new(),
        }
    }

    /// The broadcaster's own relay: the root of the tree. It never joins and has no upstream (its
    /// media is the local source); it feeds the children its own coordinator names and reports
    /// their loss to it, with the same edge logic every relay runs.
    pub fn new_root(config: ViewerConfig, me: PeerId) -> Viewer {
        let mut root = Viewer::new(config, me.clone(), me, 0, 1);
        root.is_root = true;
        root.placed = true;
        root.state = ViewerState::Playing;
        root
    }

    pub fn id(&self) -> &PeerId {
        &self.me
    }

    pub fn state(&self) -> ViewerState {
        self.state
    }

    pub fn commands(&self) -> &[ViewerCommand] {
        &self.out
    }

    pub fn drain_commands(&mut self) -> std::vec::Drain<'_, ViewerCommand> {
        self.out.drain(..)
    }

    /// The earliest instant a `Tick` has work other than silence checks (join retry, leave
    /// grace, pending-move timeout, dropped- or demoted-child grace); `None` when nothing is pending. Lets a
    /// driver that tracks silence itself (the simulator) tick only when something is due.
    pub fn next_timer_ms(&self) -> Option<u64> {
        if let Some(since) = self.leaving_since {
            // A leaving relay's tick only checks whether it may go (see `on_tick`).
            let all_gone = self.children.iter().all(|c| !c.open);
            return Some(if all_gone { since } else { since + self.config.leave_grace_ms });
        }
        let join = (self.signalling && (self.unhomed() || !self.placed)).then_some(self.next_join_ms);
        let moving = self.moving_to.as_ref().map(|(_, since)| since + self.config.switch_timeout_ms);
        let failover = self.failover.as_ref().map(|f| f.since_ms + self.config.switch_timeout_ms);
        let dropped = self.children.iter().flat_map(|c| [c.dropped_at, c.demoted_at]).flatten().min();
        let dropped = dropped.map(|t| t + self.config.drop_grace_ms);
        let replaced_standby = self.standby_after_move.as_ref().map(|(_, until)| *until);
        [join, moving, failover, dropped, replaced_standby].into_iter().flatten().min()
    }

    pub fn stats(&self) -> ViewerStats {
        ViewerStats {
            state: self.state,
            parent: self.upstream.as_ref().map(|u| u.id.clone()),
            standby: self.standby_id(),
            depth: self.depth,
            children: self.children.iter().filter(|c| c.dropped_at.is_none()).map(|c| c.id.clone()).collect(),
            failovers: self.failovers,
        }
    }

    pub fn handle(&mut self, now_ms: u64, event: ViewerEvent) -> Result<(), Ignored> {
        let result = self.dispatch(now_ms, event);
        self.end_deferred_standby(now_ms);
        result
    }

    fn dispatch(&mut self, now_ms: u64, event: ViewerEvent) -> Result<(), Ignored> {
        if self.state == ViewerState::Left {
            return Err(Ignored::AfterLeave);
        }
        match event {
            ViewerEvent::SignallingOpen => {
                self.signalling = true;
                if !self.placed && !self.is_root && self.leaving_since.is_none() {
                    self.send_join(now_ms);
                }
                Ok(())
            }
            ViewerEvent::FromServer { src, message } => {
                if src != self.coordinator || !message.is_from_coordinator() {
                    return Err(Ignored::NotFromCoordinator);
                }
                self.on_coordinator(now_ms, message);
                Ok(())
            }
            ViewerEvent::EdgeOpened { peer, side } => self.on_edge_opened(now_ms, &peer, side),
            ViewerEvent::EdgeClosed { peer, side } => self.on_edge_closed(now_ms, &peer, side),
            ViewerEvent::EdgeMessage { peer, side, message } => self.on_edge_message(now_ms, &peer, side, message),
            ViewerEvent::MediaProgress { peer } => self.on_media(now_ms, &peer),
            ViewerEvent::Tick => {
                self.on_tick(now_ms);
                Ok(())
            }
            ViewerEvent::LeaveRequested => {
                self.leave(now_ms);
                Ok(())
            }
            ViewerEvent::CapacityChanged { slots } => {
                self.slots = slots.min(crate::core::protocol::MAX_SLOTS);
                if self.placed {
                    self.out.push(ViewerCommand::SendToCoordinator(Message::Capacity { slots: self.slots }));
                }
                Ok(())
            }
            ViewerEvent::HealthSample { fps, gap_ms, stalls } => {
                self.report_health(now_ms, fps, gap_ms, stalls);
                Ok(())
            }
        }
    }

    fn set_state(&mut self, state: ViewerState) {
        if self.state != state {
            self.state = state;
            self.out.push(ViewerCommand::State(state));
        }
    }

    /// Our standby parent, parked or already asked to send.
    fn standby_id(&self) -> Option<PeerId> {
        self.standby.as_ref().or(self.failover.as_ref().map(|f| &f.to)).map(|u| u.id.clone())
    }

    fn position(&self) -> Option<Position> {
        let parent = self.upstream.as_ref().filter(|u| !u.reported_lost).map(|u| u.id.clone());
        let standby = self.standby_id();
        (parent.is_some() || !self.children.is_empty()).then_some(Position { parent, standby })
    }

    fn send_join(&mut self, now_ms: u64) {
        let at = self.position();
        self.out.push(ViewerCommand::SendToCoordinator(Message::Join { slots: self.slots, at }));
        if self.state == ViewerState::Waiting {
            self.set_state(ViewerState::Joining);
        }
        // Exponential back-off with jitter in [backoff/2, backoff].
        let jitter = self.next_random() % (self.backoff_ms / 2 + 1);
        self.next_join_ms = now_ms + self.backoff_ms / 2 + jitter;
        self.backoff_ms = (self.backoff_ms * 2).min(self.config.join_retry_max_ms);
    }

    fn next_random(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn note_epoch(&mut self, now_ms: u64, epoch: u32) {
        if self.epoch == Some(epoch) {
            return;
        }
        let had = self.epoch.replace(epoch);
        if !self.is_root && (had.is_some() || self.upstream.is_some()) {
            // The broadcaster restarted: tell our children and report where we sit.
            for c in &self.children {
                if c.open && c.dropped_at.is_none() {
                    self.out.push(ViewerCommand::SendOnEdge { peer: c.id.clone(), side: Side::Down, message: Message::Epoch { epoch } });
                }
            }
            self.backoff_ms = self.config.join_retry_min_ms;
            self.send_join(now_ms);
        }
    }

    fn on_coordinator(&mut self, now_ms: u64, message: Message) {
        match message {
            Message::Assign { epoch, parent, standby, depth } => {
                self.note_epoch(now_ms, epoch);
                self.placed = true;
                self.depth = depth;
                self.backoff_ms = self.config.join_retry_min_ms;
                self.apply_assign(now_ms, parent, standby);
            }
            Message::Feed { epoch, child, role } => {
                self.note_epoch(now_ms, epoch);
                self.feed(now_ms, child, role);
            }
            Message::Drop { epoch, child } => {
                self.note_epoch(now_ms, epoch);
                if let Some(c) = self.children.iter_mut().find(|c| c.id == child) {
                    c.dropped_at.get_or_insert(now_ms);
                }
            }
            Message::Wait { epoch, retry_ms } => {
                // No place now, or the coordinator does not know us (it lost us while we were
                // only slow): join again after `retry_ms`, reporting where we sit. Media keeps
                // flowing from the upstream we have meanwhile.
                self.epoch = Some(epoch);
                self.next_join_ms = now_ms + retry_ms as u64;
                self.placed = false;
                if self.upstream.is_none() {
                    self.set_state(ViewerState::Waiting);
                }
            }
            _ => {}
        }
    }

    fn fresh(id: PeerId, now_ms: u64) -> Upstream {
        Upstream { id, open: false, last_heard_ms: now_ms, media: false, leaving: false, parked: false, gap_peak_ms: 0, since_ms: now_ms, reported_lost: false }
    }

    fn apply_assign(&mut self, now_ms: u64, parent: PeerId, standby: Option<PeerId>) {
        let current = self.upstream.as_ref().map(|u| u.id.clone());
        let failing_over_to = self.failover.as_ref().map(|f| f.to.id.clone());
        if current.as_ref() != Some(&parent) && failing_over_to.as_ref() != Some(&parent) {
            if self.standby.as_ref().is_some_and(|s| s.id == parent) {
                // Our standby becomes our parent: ask it to send (once its edge is open), switch
                // when its media flows. A failover of our own to another peer gives way: that
                // peer is no longer ours (it goes back to standing by, or is closed below).
                if let Some(mut f) = self.failover.take() {
                    let reason = f.reason;
                    f.to.park(&mut self.out);
                    let s = self.standby.replace(f.to);
                    self.failover = s.map(|mut to| {
                        to.unpark(&mut self.out);
                        Failover { to, since_ms: now_ms, reason }
                    });
                } else {
                    self.begin_failover(now_ms, Reason::Assigned);
                }
            } else if self.upstream.is_none() {
                self.out.push(ViewerCommand::AcceptEdge { parent: parent.clone(), role: Role::Primary });
                // The edge may already exist, parked (the parent backed us before): ask to send.
                self.upstream = Some(Upstream { parked: true, ..Self::fresh(parent.clone(), now_ms) });
            } else if self.moving_to.as_ref().is_none_or(|(m, _)| m.id != parent) {
                if let Some((old, _)) = self.moving_to.take() {
                    self.out.push(ViewerCommand::CloseEdge { peer: old.id, side: Side::Up });
                }
                self.out.push(ViewerCommand::AcceptEdge { parent: parent.clone(), role: Role::Primary });
                self.moving_to = Some((Upstream { parked: true, ..Self::fresh(parent.clone(), now_ms) }, now_ms));
            }
        }
        // Standby.
        self.standby_after_move = None;
        let keep = |id: &PeerId| Some(id) == standby.as_ref();
        if let Some(old) = self.standby.take() {
            if keep(&old.id) {
                self.standby = Some(old);
            } else if self.moving_to.is_some() && old.id != parent && self.leaving_since.is_none() && !self.is_upstream_edge(standby.as_ref()) {
                // Moved while our parent still plays: it may be leaving (see the field).
                self.standby = Some(old);
                self.standby_next = None;
                self.standby_after_move = Some((standby, now_ms + KEEP_REPLACED_STANDBY_MS));
                return self.note_playing();
            } else if old.id != parent {
                self.out.push(ViewerCommand::CloseEdge { peer: old.id, side: Side::Up });
            }
        }
        self.standby_next = None;
        self.take_standby(now_ms, standby);
        self.note_playing();
    }

    /// A move is over (or gave way to a failover that is over), or the replaced standby was kept
    /// long enough: it goes, the one named then comes.
    fn end_deferred_standby(&mut self, now_ms: u64) {
        let Some((_, until)) = self.standby_after_move else { return };
        if self.leaving_since.is_some() {
            self.standby_after_move = None; // we go: no new standby
            return;
        }
        let moving = self.moving_to.is_some() || self.failover.is_some();
        if (moving && now_ms < until) || self.state == ViewerState::Left {
            return;
        }
        let Some((next, _)) = self.standby_after_move.take() else { return };
        if let Some(old) = self.standby.take() {
            if Some(&old.id) == next.as_ref() {
                self.standby = Some(old);
                return;
            }
            self.out.push(ViewerCommand::CloseEdge { peer: old.id, side: Side::Up });
        }
        self.take_standby(now_ms, next);
    }

    /// Whether `peer` is our parent, the standby we fail over to, or the parent we move to.
    fn is_upstream_edge(&self, peer: Option<&PeerId>) -> bool {
        let Some(peer) = peer else { return false };
        self.upstream.as_ref().is_some_and(|u| u.id == *peer)
            || self.failover.as_ref().is_some_and(|f| f.to.id == *peer)
            || self.moving_to.as_ref().is_some_and(|(m, _)| m.id == *peer)
    }

    /// Connects `standby` (parked) unless it is already one of our upstream edges.
    fn take_standby(&mut self, now_ms: u64, standby: Option<PeerId>) {
        if let Some(s) = standby {
            let busy = self.is_upstream_edge(Some(&s));
            if busy && self.standby.is_none() {
                self.standby_next = Some(s.clone());
            }
            if self.standby.is_none() && !busy && s != self.me {
                self.out.push(ViewerCommand::AcceptEdge { parent: s.clone(), role: Role::Standby });
                self.standby = Some(Upstream { parked: true, ..Self::fresh(s, now_ms) });
            }
        }
    }

    fn note_playing(&mut self) {
        if self.upstream.as_ref().is_some_and(|u| u.media) {
            self.set_state(ViewerState::Playing);
        } else if self.state == ViewerState::Waiting {
            self.set_state(ViewerState::Joining);
        }
    }

    /// Routes media from `to` and closes the previous upstream (never flips back). `report`: the
    /// previous upstream went quiet, so the coordinator hears that we left it.
    fn switch_to(&mut self, now_ms: u64, mut to: Upstream, report: bool) {
        to.since_ms = now_ms;
        // A parked standby taken over without warning: ask it to send now (or once it opens).
        to.unpark(&mut self.out);
        self.out.push(ViewerCommand::RouteUpstream { peer: to.id.clone() });
        if let Some(mut old) = self.upstream.replace(to) {
            if self.upstream.as_ref().is_some_and(|u| u.id != old.id) {
                // Report before closing: the old parent reports the closed edge as a lost child.
                if report && !old.leaving && !old.reported_lost {
                    self.report(Message::ParentLost { parent: old.id.clone() });
                }
                let keep = !report && !old.leaving && self.standby.is_none() && self.standby_next.as_ref() == Some(&old.id);
                if keep {
                    // The coordinator made our old parent our standby: it stays connected, parked.
                    self.standby_next = None;
                    old.park(&mut self.out);
                    self.standby = Some(old);
                } else {
                    self.out.push(ViewerCommand::CloseEdge { peer: old.id, side: Side::Up });
                }
            }
        }
        self.set_state(ViewerState::Playing);
    }

    /// Asks the standby to send (make-before-break): we switch when its media flows. Without an
    /// open standby, a leaving parent is played until its edge closes.
    fn begin_failover(&mut self, now_ms: u64, reason: Reason) {
        if reason == Reason::Leaving {
            if let Some(u) = self.upstream.as_mut() {
                u.leaving = true;
            }
        }
        if let Some(f) = self.failover.as_mut() {
            if reason == Reason::Leaving {
                f.reason = Reason::Leaving;
            }
            return;
        }
        if self.moving_to.as_ref().is_some_and(|(m, _)| m.media) {
            // A move the coordinator ordered already delivers: take it now.
            let (to, _) = self.moving_to.take().expect("checked");
            self.switch_to(now_ms, to, reason == Reason::Suspected);
            return;
        }
        // The coordinator's choice is followed even before the standby's edge is open.
        let Some(mut to) = self.standby.take_if(|s| s.open || reason == Reason::Assigned) else { return };
        to.unpark(&mut self.out);
        self.failover = Some(Failover { to, since_ms: now_ms, reason });
    }

    /// A quiet parent spoke again before the standby's media flowed: keep it, park the standby.
    fn cancel_suspicion(&mut self) {
        if !self.failover.as_ref().is_some_and(|f| f.reason == Reason::Suspected) {
            return;
        }
        let mut f = self.failover.take().expect("checked");
        f.to.park(&mut self.out);
        self.standby = Some(f.to);
    }

    fn feed(&mut self, now_ms: u64, child: PeerId, role: Role) {
        if child == self.me {
            return;
        }
        if let Some(c) = self.children.iter_mut().find(|c| c.id == child) {
            c.dropped_at = None;
            if !c.open && now_ms >= c.last_heard_ms + self.config.switch_timeout_ms {
                // Named again, and our call never connected (its offer was lost, or refused while
                // the child could not trust us yet): call again instead of waiting for ever.
                c.last_heard_ms = now_ms;
                c.role = role;
                c.demoted_at = None;
                self.out.push(ViewerCommand::OpenEdge { child, role });
                return;
            }
            if c.role != role {
                c.role = role;
                if role == Role::Standby {
                    // Make-before-break: the child parks us once its new parent delivers.
                    c.demoted_at = Some(now_ms);
                } else if c.demoted_at.take().is_none() {
                    self.out.push(ViewerCommand::SetSending { child, on: true });
                }
            }
            return;
        }
        if self.children.len() >= self.config.max_children {
            return;
        }
        self.children.push(Child { id: child.clone(), role, open: false, last_heard_ms: now_ms, dropped_at: None, demoted_at: None });
        self.out.push(ViewerCommand::OpenEdge { child, role });
    }

    fn upstream_mut(&mut self, peer: &PeerId) -> Option<&mut Upstream> {
        if let Some(u) = self.upstream.as_mut().filter(|u| u.id == *peer) {
            return Some(u);
        }
        if let Some(u) = self.standby.as_mut().filter(|u| u.id == *peer) {
            return Some(u);
        }
        if let Some(f) = self.failover.as_mut().filter(|f| f.to.id == *peer) {
            return Some(&mut f.to);
        }
        self.moving_to.as_mut().map(|(u, _)| u).filter(|u| u.id == *peer)
    }

    fn on_edge_opened(&mut self, now_ms: u64, peer: &PeerId, side: Side) -> Result<(), Ignored> {
        if side == Side::Up {
            let u = self.upstream_mut(peer).ok_or(Ignored::NotAnEdgePeer)?;
            u.open = true;
            u.heard(now_ms);
            // An edge we already count on (routed, or asked to send) that was set up parked.
            let active = self.upstream.iter_mut().chain(self.failover.iter_mut().map(|f| &mut f.to));
            let active = active.chain(self.moving_to.iter_mut().map(|(m, _)| m));
            if let Some(u) = active.into_iter().find(|u| u.id == *peer) {
                u.unpark(&mut self.out);
            }
            return Ok(());
        }
        let c = self.children.iter_mut().find(|c| c.id == *peer).ok_or(Ignored::NotAnEdgePeer)?;
        c.open = true;
        c.last_heard_ms = now_ms;
        if let (Some(epoch), true) = (self.epoch, self.placed) {
            self.out.push(ViewerCommand::SendOnEdge { peer: peer.clone(), side: Side::Down, message: Message::Epoch { epoch } });
        }
        Ok(())
    }

    fn on_edge_message(&mut self, now_ms: u64, peer: &PeerId, side: Side, message: Message) -> Result<(), Ignored> {
        if !message.is_edge() {
            return Err(Ignored::UnexpectedMessage);
        }
        let from_upstream = self.upstream.as_ref().is_some_and(|u| u.id == *peer);
        if side == Side::Up {
            let u = self.upstream_mut(peer).ok_or(Ignored::NotAnEdgePeer)?;
            u.heard(now_ms);
            match message {
                Message::Hb { .. } if from_upstream => self.cancel_suspicion(),
                Message::Leaving {} if from_upstream => self.begin_failover(now_ms, Reason::Leaving),
                Message::Epoch { epoch } if from_upstream => self.note_epoch(now_ms, epoch),
                _ => {}
            }
            return Ok(());
        }
        let c = self.children.iter_mut().find(|c| c.id == *peer).ok_or(Ignored::NotAnEdgePeer)?;
        c.last_heard_ms = now_ms;
        match message {
            Message::Activate {} if c.role != Role::Primary || c.demoted_at.is_some() => {
                c.role = Role::Primary;
                if c.demoted_at.take().is_none() {
                    self.out.push(ViewerCommand::SetSending { child: peer.clone(), on: true });
                }
            }
            Message::Park {} if c.role != Role::Standby || c.demoted_at.is_some() => {
                c.role = Role::Standby;
                c.demoted_at = None;
                self.out.push(ViewerCommand::SetSending { child: peer.clone(), on: false });
            }
            // Only from children we feed; a refused report (too soon, too many) changes nothing.
            Message::Health { me, lv, r } if c.role == Role::Primary && c.dropped_at.is_none() && !self.is_root => {
                let _ = self.health.from_child(now_ms, peer, me, lv, r);
            }
            _ => {}
        }
        Ok(())
    }

    /// Sends our picture's health, with our subtree's, to our primary parent (at most about once
    /// a second, see `core::health`).
    fn report_health(&mut self, now_ms: u64, fps: u32, gap_ms: u32, stalls: u32) {
        if self.is_root || self.leaving_since.is_some() {
            return;
        }
        let Some(parent) = self.upstream.as_ref().filter(|u| u.open).map(|u| u.id.clone()) else { return };
        let used = self.children.iter().filter(|c| c.role == Role::Primary && c.dropped_at.is_none()).count();
        let me = Figures::sample(fps, gap_ms, stalls, used, self.slots);
        if let Some(message) = self.health.report(now_ms, me) {
            self.out.push(ViewerCommand::SendOnEdge { peer: parent, side: Side::Up, message });
        }
    }

    fn on_media(&mut self, now_ms: u64, peer: &PeerId) -> Result<(), Ignored> {
        let is_upstream = self.upstream.as_ref().is_some_and(|u| u.id == *peer);
        let u = self.upstream_mut(peer).ok_or(Ignored::NotAnEdgePeer)?;
        u.heard(now_ms);
        u.open = true;
        let first = !u.media;
        u.media = true;
        // Make-before-break: the new parent's media flows, switch now.
        if self.moving_to.as_ref().is_some_and(|(m, _)| m.id == *peer) {
            let (to, _) = self.moving_to.take().expect("checked");
            let suspected = self.failover.as_ref().is_some_and(|f| f.reason == Reason::Suspected);
            // The standby we had asked to send goes back to standing by.
            if let Some(mut f) = self.failover.take() {
                f.to.park(&mut self.out);
                self.standby.get_or_insert(f.to);
            }
            self.switch_to(now_ms, to, suspected);
        } else if self.failover.as_ref().is_some_and(|f| f.to.id == *peer) {
            let f = self.failover.take().expect("checked");
            if f.reason != Reason::Assigned {
                self.failovers += 1;
            }
            self.switch_to(now_ms, f.to, f.reason == Reason::Suspected);
        } else if is_upstream {
            self.cancel_suspicion();
            if self.upstream.as_mut().is_some_and(|u| std::mem::take(&mut u.reported_lost)) {
                // Only busy: play it again (the coordinator's move, if any, is make-before-break).
                self.set_state(ViewerState::Playing);
            }
            if first {
                self.out.push(ViewerCommand::RouteUpstream { peer: peer.clone() });
                self.set_state(ViewerState::Playing);
            }
        }
        Ok(())
    }

    fn on_edge_closed(&mut self, now_ms: u64, peer: &PeerId, side: Side) -> Result<(), Ignored> {
        if side == Side::Down {
            return self.on_child_edge_closed(peer);
        }
        if self.upstream.as_ref().is_some_and(|u| u.id == *peer) {
            self.lose_upstream(now_ms);
            return Ok(());
        }
        if self.standby.as_ref().is_some_and(|u| u.id == *peer) {
            self.standby = None;
            self.report(Message::ParentLost { parent: peer.clone() });
            return Ok(());
        }
        if self.failover.as_ref().is_some_and(|f| f.to.id == *peer) {
            self.failover = None;
            self.report(Message::ParentLost { parent: peer.clone() });
            return Ok(());
        }
        if self.moving_to.as_ref().is_some_and(|(m, _)| m.id == *peer) {
            self.moving_to = None;
            return Ok(());
        }
        Err(Ignored::NotAnEdgePeer)
    }

    fn on_child_edge_closed(&mut self, peer: &PeerId) -> Result<(), Ignored> {
        let i = self.children.iter().position(|c| c.id == *peer).ok_or(Ignored::NotAnEdgePeer)?;
        let c = self.children.swap_remove(i);
        self.health.forget(&c.id);
        if c.dropped_at.is_none() && self.leaving_since.is_none() {
            self.report(Message::ChildLost { child: c.id });
        }
        Ok(())
    }

    /// A long gap between ticks means this page itself was frozen (busy, or suspended): nothing
    /// could be heard meanwhile, so that silence says nothing about the neighbours.
    fn forgive_own_freeze(&mut self, now_ms: u64) {
        let last = self.last_tick_ms.replace(now_ms);
        let Some(gap) = last.map(|t| now_ms.saturating_sub(t)) else { return };
        if gap <= self.config.own_freeze_ms {
            return;
        }
        let ups = self.upstream.iter_mut().chain(self.standby.iter_mut());
        let ups = ups.chain(self.failover.iter_mut().map(|f| &mut f.to)).chain(self.moving_to.iter_mut().map(|(u, _)| u));
        for u in ups {
            u.last_heard_ms = u.last_heard_ms.max(now_ms);
        }
        for c in &mut self.children {
            c.last_heard_ms = c.last_heard_ms.max(now_ms);
        }
    }

    fn report(&mut self, message: Message) {
        if self.placed && self.leaving_since.is_none() {
            self.out.push(ViewerCommand::SendToCoordinator(message));
        }
    }

    /// Without a parent to play, or with one reported lost: we keep asking to be placed.
    fn unhomed(&self) -> bool {
        self.upstream.as_ref().is_none_or(|u| u.reported_lost)
    }

    /// Our parent went silent. With somewhere to go (a standby, a move under way) we go there;
    /// with nowhere, closing its edge would gain nothing and lose the picture for good if the
    /// parent was only busy: it is reported lost (the coordinator re-homes us, make-before-break)
    /// and kept until `slow_loss_after_ms` of silence.
    fn give_up_silent_upstream(&mut self, now_ms: u64) {
        let elsewhere = self.failover.is_some()
            || self.standby.as_ref().is_some_and(|s| s.open)
            || self.moving_to.as_ref().is_some_and(|(m, _)| m.open);
        // A config whose every loss is slow (the original library's detection) keeps nothing.
        if elsewhere || self.config.loss_after_ms >= self.config.slow_loss_after_ms {
            return self.lose_upstream(now_ms);
        }
        let Some(u) = self.upstream.as_mut() else { return };
        u.reported_lost = true;
        let (id, leaving) = (u.id.clone(), u.leaving);
        if !leaving {
            self.report(Message::ParentLost { parent: id });
        }
        self.set_state(ViewerState::Repairing);
        self.backoff_ms = self.config.join_retry_min_ms;
        self.next_join_ms = now_ms + self.config.loss_after_ms;
    }

    /// Our primary parent is gone (silent, or its edge closed): route the best candidate at once
    /// (one whose media flows, else the standby, which media reaches soonest), else repair.
    fn lose_upstream(&mut self, now_ms: u64) {
        let Some(old) = self.upstream.take() else { return };
        if !old.leaving && !old.reported_lost {
            self.report(Message::ParentLost { parent: old.id.clone() });
        }
        self.out.push(ViewerCommand::CloseEdge { peer: old.id.clone(), side: Side::Up });
        let moving_flows = self.moving_to.as_ref().is_some_and(|(m, _)| m.media);
        let next = if moving_flows {
            // A standby we had asked to send goes back to standing by.
            if let Some(mut f) = self.failover.take() {
                f.to.park(&mut self.out);
                self.standby.get_or_insert(f.to);
            }
            self.moving_to.take().map(|(m, _)| m)
        } else if let Some(f) = self.failover.take() {
            Some(f.to)
        } else if let Some(s) = self.standby.take_if(|s| s.open) {
            Some(s)
        } else {
            self.moving_to.take_if(|(m, _)| m.open).map(|(m, _)| m)
        };
        if let Some(to) = next {
            self.failovers += 1;
            self.switch_to(now_ms, to, false);
        } else {
            // No standby: the coordinator re-homes us; keep retrying a join meanwhile.
            self.set_state(ViewerState::Repairing);
            self.backoff_ms = self.config.join_retry_min_ms;
            self.next_join_ms = now_ms + self.config.loss_after_ms;
        }
    }

    fn on_tick(&mut self, now_ms: u64) {
        self.forgive_own_freeze(now_ms);
        if let Some(since) = self.leaving_since {
            let all_gone = self.children.iter().all(|c| !c.open);
            if all_gone || now_ms >= since + self.config.leave_grace_ms {
                self.close_everything();
                self.set_state(ViewerState::Left);
            }
            return;
        }
        if !self.is_root && self.signalling && (self.unhomed() || !self.placed) && now_ms >= self.next_join_ms {
            self.send_join(now_ms);
        }
        if now_ms >= self.next_hb_ms {
            self.next_hb_ms = now_ms + self.config.heartbeat_ms;
            self.hb_seq = self.hb_seq.wrapping_add(1);
            let hb = Message::Hb { seq: self.hb_seq };
            let ups = self.upstream.iter().chain(self.standby.iter()).chain(self.failover.iter().map(|f| &f.to));
            let peers = ups.filter(|u| u.open).map(|u| (u.id.clone(), Side::Up));
            let kids = self.children.iter().filter(|c| c.open).map(|c| (c.id.clone(), Side::Down));
            let all: Vec<(PeerId, Side)> = peers.chain(kids).collect();
            for (peer, side) in all {
                self.out.push(ViewerCommand::SendOnEdge { peer, side, message: hb.clone() });
            }
        }
        // Silence (no heartbeat and no media) on an edge that was up: first the standby is asked
        // to send, then the parent is lost.
        let silent_for = |u: &Upstream| if u.open { now_ms.saturating_sub(u.last_heard_ms) } else { 0 };
        let silence = self.upstream.as_ref().map_or(0, silent_for);
        let jitter = self.upstream.as_ref().map_or(0, |u| u.gap_peak_ms * self.config.jitter_factor);
        if self.upstream.as_ref().is_some_and(|u| u.reported_lost) {
            if silence >= self.config.slow_loss_after_ms {
                self.lose_upstream(now_ms);
            }
        } else if silence >= self.config.loss_after_ms.max(jitter + jitter / 2) {
            self.give_up_silent_upstream(now_ms);
        } else if silence >= self.config.suspect_after_ms.max(jitter) {
            self.begin_failover(now_ms, Reason::Suspected);
        }
        // An assigned parent whose edge never opened (it died before it could offer): give up on
        // it as on a silent one, instead of waiting for the coordinator to move us.
        if self.upstream.as_ref().is_some_and(|u| !u.open && now_ms >= u.last_heard_ms + self.config.switch_timeout_ms) {
            self.lose_upstream(now_ms);
        }
        if self.upstream.as_ref().is_some_and(|u| !u.media && now_ms >= u.since_ms + self.config.first_media_timeout_ms) {
            self.lose_upstream(now_ms);
        }
        // A standby asked to send whose media never came: it is no standby.
        if let Some(f) = self.failover.as_ref().filter(|f| now_ms >= f.since_ms + self.config.switch_timeout_ms) {
            let id = f.to.id.clone();
            self.failover = None;
            self.out.push(ViewerCommand::CloseEdge { peer: id.clone(), side: Side::Up });
            self.report(Message::ParentLost { parent: id });
        }
        let slow_limit = self.config.slow_loss_after_ms;
        if let Some(s) = self.standby.as_ref().filter(|s| silent_for(s) >= slow_limit) {
            let id = s.id.clone();
            self.standby = None;
            self.out.push(ViewerCommand::CloseEdge { peer: id.clone(), side: Side::Up });
            self.report(Message::ParentLost { parent: id });
        }
        if let Some((m, since)) = &self.moving_to {
            if now_ms >= since + self.config.switch_timeout_ms {
                let id = m.id.clone();
                self.moving_to = None;
                self.out.push(ViewerCommand::CloseEdge { peer: id, side: Side::Up });
                self.send_join(now_ms); // resync our position
            }
        }
        let mut i = 0;
        while i < self.children.len() {
            let c = &self.children[i];
            let silent = c.open && now_ms >= c.last_heard_ms + slow_limit;
            let expired = c.dropped_at.is_some_and(|t| now_ms >= t + self.config.drop_grace_ms);
            if c.demoted_at.is_some_and(|t| now_ms >= t + self.config.drop_grace_ms) {
                // A demoted child that never parked us: stop sending anyway.
                let id = c.id.clone();
                self.children[i].demoted_at = None;
                self.out.push(ViewerCommand::SetSending { child: id, on: false });
            }
            if silent || expired {
                let c = self.children.swap_remove(i);
                self.health.forget(&c.id);
                self.out.push(ViewerCommand::CloseEdge { peer: c.id.clone(), side: Side::Down });
                if silent && c.dropped_at.is_none() {
                    self.report(Message::ChildLost { child: c.id });
                }
            } else {
                i += 1;
            }
        }
    }

    fn leave(&mut self, now_ms: u64) {
        if self.leaving_since.is_some() {
            return;
        }
        if self.placed {
            self.out.push(ViewerCommand::SendToCoordinator(Message::Leave {}));
        }
        self.leaving_since = Some(now_ms);
        let open: Vec<PeerId> = self.children.iter().filter(|c| c.open).map(|c| c.id.clone()).collect();
        if open.is_empty() {
            self.close_everything();
            self.set_state(ViewerState::Left);
            return;
        }
        // Keep feeding until the children switched to their standbys (they close our edge).
        for peer in open {
            self.out.push(ViewerCommand::SendOnEdge { peer, side: Side::Down, message: Message::Leaving {} });
        }
    }

    fn close_everything(&mut self) {
        let ups = self.upstream.take().into_iter().chain(self.standby.take()).chain(self.failover.take().map(|f| f.to));
        let ups = ups.chain(self.moving_to.take().map(|m| m.0));
        let ups = ups.map(|u| (u.id, Side::Up));
        let edges: Vec<(PeerId, Side)> = ups.chain(self.children.drain(..).map(|c| (c.id, Side::Down))).collect();
        for (peer, side) in edges {
            self.out.push(ViewerCommand::CloseEdge { peer, side });
        }
    }
}

#[cfg(test)]
mod tests;
