// Executes a core machine's commands on the real world (PeerJS signalling, one RTCPeerConnection
// per tree edge, media tracks) and feeds it what happens. Every decision is the machine's (Rust,
// in wasm); this file only moves bytes and tracks.
import { Signalling } from './signalling.js';
import { Edge } from './edge.js';
import { Forwarder } from './forwarder.js';
import { applySendParameters, callWithCodec } from './encoding.js';
import { DEFAULT_SETTINGS } from '../shared/settings.js';
import { mediaVerdict } from './media_watch.js';
import { clock } from './clock.js';

const TICK_MS = 50;
// After we ask a standby to send, its media is polled this often for this long.
const FAST_POLL_EVERY_MS = 10;
const FAST_POLL_FOR_MS = 1000;
// Main-thread tasks this long are logged: every edge message (a leave notice, an activation)
// waits for them.
const LONG_TASK_MS = 50;
// A step this long is logged by name: which part of a repair holds the page.
const SLOW_STEP_MS = 20;

/** A black video track and a silent audio track: what a call carries before real media exists. */
function placeholderTracks() {
  const canvas = Object.assign(document.createElement('canvas'), { width: 16, height: 16 });
  canvas.getContext('2d').fillRect(0, 0, 16, 16);
  const ac = new AudioContext();
  const dest = ac.createMediaStreamDestination();
  // Only the track is needed (so the offer has an audio line to fill later): no audio thread.
  ac.suspend();
  return { video: canvas.captureStream(1).getVideoTracks()[0], audio: dest.stream.getAudioTracks()[0] };
}

export class Driver {
  /**
   * `brain.handle(nowMs, eventJson) -> commandsJson` is the machine; `onCommand(cmd)` sees the
   * commands the driver does not execute itself (state, log); `display` is the MediaStream the
   * player shows (kept the same object for the whole session: tracks are swapped inside it).
   */
  constructor({ id, brain, settings, display, onCommand, relay = false }) {
    this.id = id;
    this.brain = brain;
    this.settings = settings;
    this.display = display;
    this.onCommand = onCommand;
    this.children = new Map(); // child id -> Edge (we are the parent)
    this.parents = new Map(); // parent id -> Edge (we are the child)
    this.expected = new Set(); // parents whose calls we accept
    this.sending = new Map(); // child id -> bool (media on, or parked)
    this.tracks = null; // {video, audio} we show (and forward)
    // Video goes out through a forwarder: a relay's children never see a switch of upstream (its
    // frames are re-stamped), and an activated standby sends its last picture at once instead of
    // at the source's next frame (up to 83 ms at 12 fps; a still screen capture may send none
    // for seconds). The broadcaster's frames keep their stamps: it has one source.
    this.forwarder = Forwarder.supported() ? new Forwarder({ restamp: relay }) : null;
    // The upstream we asked to send has its first frame: the machine hears of it now.
    if (this.forwarder) this.forwarder.ontakeover = () => this.pollMedia();
    this.sendTracks = null; // {video, audio} our children's senders carry
    // The player gets the audio track only while someone listens: a muted player would still
    // decode and render it, a fifth of what a relaying page costs.
    this.audible = false;
    this.upstream = null; // parent id whose media we use, or null (broadcaster: local source)
    this.preferred = null; // parent asked to send, whose first frame the forwarder takes (see anticipate)
    this.inbound = new Map(); // parent id -> {mark, at, video}: its last media marks (see Edge.mediaMarks) and when they changed
    this.log = [];
    this.placeholder = null;
    // What tests and the dashboard read: edges ever made on each side, and throughput.
    this.counters = { callsMade: 0, callsAccepted: 0, callsRefused: 0 };
    this.rates = { kbpsIn: 0, kbpsOut: 0 };
    this.lastRate = { at: performance.now() };
    this.encodingNotes = new Set(); // said once, not once per edge
  }

  start() {
    this.signalling = new Signalling(this.id, this.settings);
    const s = this.signalling;
    s.addEventListener('open', () => this.feed({ e: 'signalling_open' }));
    s.addEventListener('message', (ev) => this.feed({ e: 'signal', from: ev.from, text: ev.payload }));
    s.addEventListener('expire', (ev) => this.feed({ e: 'expired', peer: ev.to }));
    s.addEventListener('call', (ev) => this.onCall(ev.call));
    // Offers from anyone else are dropped before PeerJS builds a call for them.
    s.acceptsCall = (peer) => this.expected.has(peer);
    s.addEventListener('error', (ev) => this.note('warn', `signalling: ${ev.kind}: ${ev.message}`));
    // A worker's clock keeps ticking in a background tab, where timers are throttled.
    this.worker = new Worker(new URL('./timer.worker.js', import.meta.url));
    this.worker.onmessage = () => {
      // Media first: a tick that follows a stall of this page must see what arrived meanwhile,
      // or it would take our own slowness for a quiet parent.
      this.pollMedia();
      this.feed({ e: 'tick' });
      const now = performance.now();
      if (now - this.lastRate.at >= 1000) this.measureRates(now);
    };
    this.worker.postMessage({ intervalMs: TICK_MS });
    if (PerformanceObserver.supportedEntryTypes?.includes('longtask')) {
      this.longTasks = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          if (e.duration >= LONG_TASK_MS) this.note('info', `long task ${Math.round(e.duration)} ms, began ${Math.round(performance.now() - e.startTime)} ms ago`);
        }
      });
      this.longTasks.observe({ type: 'longtask' });
    }
  }

  /** Hands one event to the machine and carries out what it answers. */
  feed(event) {
    let commands;
    const began = performance.now();
    try {
      commands = JSON.parse(this.brain.handle(clock(), JSON.stringify(event)));
      this.timed(began, `machine on ${event.e}`);
    } catch (err) {
      this.note('error', `machine refused ${event.e}: ${err?.message ?? err}`);
      return;
    }
    for (const cmd of commands) this.exec(cmd);
  }

  exec(cmd) {
    const began = performance.now();
    this.run(cmd);
    this.timed(began, `${cmd.c} ${cmd.peer ?? cmd.child ?? ''}`);
  }

  /** Logs `what` if it held the main thread since `began` for SLOW_STEP_MS or more. */
  timed(began, what) {
    const took = performance.now() - began;
    if (took >= SLOW_STEP_MS) this.note('info', `slow ${what}: ${Math.round(took)} ms`);
  }

  run(cmd) {
    if (cmd.c !== 'edge_send' && cmd.c !== 'log' && cmd.c !== 'signal') this.note('info', `${cmd.c} ${cmd.peer ?? cmd.child ?? cmd.parent ?? cmd.state ?? ''}${cmd.role ? ' ' + cmd.role : ''}${cmd.on !== undefined ? ' ' + cmd.on : ''}`);
    switch (cmd.c) {
      case 'signal': this.signalling.send(cmd.to, cmd.text); break;
      case 'edge_send':
        this.edges(cmd.side).get(cmd.peer)?.send(cmd.text);
        if (cmd.side === 'up') this.anticipate(cmd.peer, cmd.text);
        break;
      case 'call': this.callChild(cmd.child, cmd.role); break;
      case 'expect': this.expected.add(cmd.parent); break;
      case 'close': this.closeEdge(cmd.peer, cmd.side); break;
      case 'upstream': this.useUpstream(cmd.peer); break;
      case 'sending': this.setSending(cmd.child, cmd.on); break;
      default: this.onCommand?.(cmd);
    }
  }

  note(level, text) {
    this.log.push({ t: Date.now(), level, text });
    if (this.log.length > 500) this.log.splice(0, this.log.length - 500);
    if (level !== 'info') console.warn('treecast:', text);
  }

  // --- edges where we are the parent ---------------------------------------------------------

  callChild(child, role) {
    // A call again to the same child replaces the old edge without reporting it closed.
    const old = this.children.get(child);
    this.children.delete(child);
    old?.close();
    this.placeholder ??= placeholderTracks();
    const stream = new MediaStream([this.placeholder.video, this.placeholder.audio]);
    // Our own encoding settings on our own upload (encoding.js); a codec that can't be had leaves
    // the browser's choice, it never fails the edge.
    const encoding = this.settings.encoding ?? DEFAULT_SETTINGS.encoding;
    const noteOnce = (text) => { if (!this.encodingNotes.has(text)) { this.encodingNotes.add(text); this.note('warn', text); } };
    const call = callWithCodec(() => this.signalling.call(child, stream, { treecast: 1, role }), encoding.codec, noteOnce);
    this.counters.callsMade++;
    if (!call) { this.feed({ e: 'edge_closed', peer: child, side: 'down' }); return; }
    const edge = new Edge(call, 'parent');
    edge.attachControl();
    // Connected: cap and degradation preference, kept from then on across park/unpark and new upstreams.
    edge.addEventListener('open', () => edge.tune(() => applySendParameters(edge.pc, encoding).then((problem) => problem && noteOnce(problem))), { once: true });
    this.children.set(child, edge);
    this.sending.set(child, role === 'primary');
    edge.setTracks(this.sendTracks, role === 'primary');
    this.wireEdge(edge, this.children);
  }

  setSending(child, on) {
    this.sending.set(child, on);
    const applied = this.children.get(child)?.setTracks(this.sendTracks, on);
    // Switched on (an activated standby): its first frame now, not at the next upstream one.
    if (on && this.forwarder) applied?.then(() => this.forwarder?.repeat());
  }

  /** New media to forward (a new upstream, or the broadcaster's source): swap, never renegotiate. */
  setTracks(tracks) {
    this.tracks = tracks;
    this.forwarder?.from(tracks?.video ?? null);
    this.sendTracks = tracks && this.forwarder ? { video: this.forwarder.track, audio: tracks.audio } : tracks;
    // Parked edges too: a standby then sends the moment it is activated.
    for (const [child, edge] of this.children) edge.setTracks(this.sendTracks, this.sending.get(child) ?? false);
    const shown = this.display.getTracks();
    // The player shows what the children get: with a forwarder its track never changes, so a
    // switch of upstream does not re-attach the player's video (its next frame is the new one's).
    const video = tracks?.video && this.forwarder ? this.forwarder.track : tracks?.video;
    const next = tracks ? [video, this.audible ? tracks.audio : null].filter(Boolean) : [];
    for (const t of shown) if (!next.includes(t)) this.display.removeTrack(t);
    for (const t of next) if (!shown.includes(t)) this.display.addTrack(t);
  }

  /** Whether the player plays the audio (unmuted); forwarding to children is unaffected. */
  setAudible(on) {
    if (this.audible === on) return;
    this.audible = on;
    if (this.tracks) this.setTracks(this.tracks);
  }

  // --- edges where we are the child ----------------------------------------------------------

  onCall(call) {
    // Only parents the coordinator named may feed us (the server sets `call.peer`; it can't be forged).
    if (!this.expected.has(call.peer)) {
      this.note('warn', `refused a call from ${call.peer}: not an assigned parent`);
      this.counters.callsRefused++;
      call.close();
      return;
    }
    this.parents.get(call.peer)?.close();
    const edge = new Edge(call, 'child');
    call.answer();
    this.counters.callsAccepted++;
    edge.attachControl();
    this.parents.set(call.peer, edge);
    this.inbound.set(call.peer, { mark: null, at: 0 });
    this.wireEdge(edge, this.parents);
    // Read ahead of a switch to it: its first picture is then forwarded the moment we switch.
    const videoOf = (stream) => stream?.getVideoTracks()[0];
    edge.addEventListener('media', ({ stream }) => {
      if (videoOf(stream)) this.forwarder?.watch(videoOf(stream));
      if (this.upstream === call.peer) this.useUpstream(call.peer);
    });
    edge.addEventListener('close', () => { if (videoOf(edge.stream)) this.forwarder?.forget(videoOf(edge.stream)); });
  }

  /**
   * Plays and forwards the media of the edge from `parent`: the player's stream and every active
   * child sender swap tracks (no renegotiation). The machine routes an edge only once its media
   * flows (make-before-break), or when the old upstream is gone anyway; an edge whose call has no
   * stream yet is applied when it comes.
   */
  useUpstream(parent) {
    this.upstream = parent;
    this.preferred = null; // the forwarder's preference ends with any switch
    const stream = this.parents.get(parent)?.stream;
    if (stream) this.setTracks({ video: stream.getVideoTracks()[0] ?? null, audio: stream.getAudioTracks()[0] ?? null });
  }

  /**
   * We asked an upstream to send (a standby, or a parent we move to): the machine switches to it
   * once its media flows, so the forwarder takes its first frame at once, whatever the page is
   * busy with, and says so (`ontakeover`: the page then looks at its media); without a forwarder
   * its media is polled fast. Parked again (its parent spoke up in time): back to the current
   * upstream's frames.
   */
  anticipate(peer, text) {
    if (text.includes('"t":"activate"')) {
      const video = this.parents.get(peer)?.stream?.getVideoTracks()[0] ?? null;
      this.note('info', `activate ${peer}`);
      if (video) this.forwarder?.prefer(video);
      this.preferred = video ? peer : null;
      // The forwarder says when its first frame is read (ontakeover): no polling meanwhile.
      if (!video || !this.forwarder) this.pollMediaFast();
    } else if (text.includes('"t":"park"') && peer === this.preferred) {
      this.forwarder?.prefer(null);
      this.preferred = null;
    }
  }

  /**
   * We asked a standby to send (no forwarder to tell us): its first media is looked for every
   * few ms for a while, not once a tick (the switch waits on it). Each look waits for the WebRTC
   * thread (getSynchronizationSources): 5-80 ms of this page's main thread apiece while a repair
   * sets up connections, so with a forwarder the page waits for its word instead.
   */
  pollMediaFast() {
    this.fastPollUntil = performance.now() + FAST_POLL_FOR_MS;
    if (this.fastPolling) return;
    this.fastPolling = true;
    const step = () => {
      if (this.stopped || performance.now() > this.fastPollUntil) { this.fastPolling = false; return; }
      this.pollMedia();
      setTimeout(step, FAST_POLL_EVERY_MS);
    };
    setTimeout(step, FAST_POLL_EVERY_MS);
  }

  /** Tells the machine which upstream edges received media since the last poll (every tick). */
  pollMedia() {
    for (const [parent, edge] of this.parents) {
      const current = this.upstream !== parent ? this.inbound.get(this.upstream) : null;
      const verdict = mediaVerdict(this.inbound.get(parent), edge.mediaMarks(), current, clock());
      if (!verdict) continue;
      this.inbound.set(parent, verdict.entry);
      // Logged when media starts and when it resumes, not on every packet.
      if (verdict.started) this.note('info', `media from ${parent}`);
      if (verdict.media) this.feed({ e: 'media', peer: parent });
    }
  }

  // --- both ----------------------------------------------------------------------------------

  wireEdge(edge, map) {
    const side = map === this.parents ? 'up' : 'down';
    // TEST ONLY (media benchmark, `seed` runs): the 2017 library noticed a lost peer when ICE
    // said `disconnected` (5.3 s after a crash); `originalDetection` closes the edge right then.
    if (this.settings.originalDetection) {
      edge.pc?.addEventListener('iceconnectionstatechange', () => { if (edge.pc.iceConnectionState === 'disconnected') edge.close(); });
    }
    edge.addEventListener('open', () => {
      this.note('info', `edge ${side} ${edge.peerId} open`);
      this.feed({ e: 'edge_open', peer: edge.peerId, side });
    });
    edge.addEventListener('message', (ev) => {
      // The switch's milestones, for the timelines (a heartbeat would flood the log).
      if (/"t":"(leaving|activate)"/.test(ev.text)) this.note('info', `${JSON.parse(ev.text).t} from ${edge.peerId}`);
      this.feed({ e: 'edge_message', peer: edge.peerId, side, text: ev.text });
    });
    edge.addEventListener('close', () => {
      if (map.get(edge.peerId) !== edge) return; // replaced by a newer edge to the same peer
      this.note('info', `edge ${side} ${edge.peerId} closed`);
      map.delete(edge.peerId);
      if (side === 'up') this.inbound.delete(edge.peerId);
      this.feed({ e: 'edge_closed', peer: edge.peerId, side });
    });
  }

  /** Our edges on one side: 'up' (parents feed us), 'down' (we feed children). */
  edges(side) { return side === 'up' ? this.parents : this.children; }

  /** Closes our edge with `peer` on `side` (two peers can briefly have one each way). */
  closeEdge(peer, side) {
    if (side === 'up') this.expected.delete(peer);
    this.edges(side).get(peer)?.close();
  }

  /** Throughput over the last second, from each edge's own byte counters (edges come and go). */
  async measureRates(now) {
    const seconds = (now - this.lastRate.at) / 1000;
    this.lastRate.at = now;
    const growth = async (edges, read, key) => {
      let total = 0;
      for (const edge of edges) {
        const bytes = await read(edge).catch(() => edge[key] ?? 0);
        total += Math.max(0, bytes - (edge[key] ?? bytes));
        edge[key] = bytes;
      }
      return total;
    };
    const inbound = await growth(this.parents.values(), (e) => e.inboundBytes(), 'rateIn');
    const outbound = await growth(this.children.values(), (e) => e.outboundBytes(), 'rateOut');
    this.rates.kbpsIn = Math.round((inbound * 8) / 1000 / seconds);
    this.rates.kbpsOut = Math.round((outbound * 8) / 1000 / seconds);
  }

  /** What the player adds to the machine's own stats. */
  stats() {
    return { ...this.rates, ...this.counters, edges: { children: this.children.size, parents: this.parents.size } };
  }

  destroy() {
    this.stopped = true;
    this.longTasks?.disconnect();
    this.worker?.terminate();
    this.forwarder?.stop();
    for (const e of [...this.children.values(), ...this.parents.values()]) e.close();
    this.signalling?.destroy();
  }
}
