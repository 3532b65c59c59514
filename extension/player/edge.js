// One tree edge = one RTCPeerConnection (a PeerJS media call, parent -> child) carrying video and
// audio towards the child, plus a negotiated data channel of ours for heartbeats and control.
// Media flows only while the edge is active: a standby edge keeps its senders parked (encodings
// inactive: connected, no media bytes) until the child activates it.

// Our channel's id: negotiated on both sides, so it needs no extra signalling. PeerJS's own close
// channel takes the lowest free ids.
const CONTROL_CHANNEL_ID = 512;

export class Edge extends EventTarget {
  /**
   * `call` is a PeerJS MediaConnection; `side` is 'parent' (we send media) or 'child' (we receive).
   * Emits `open`, `message` ({text}), `media` ({stream}), `close`.
   */
  constructor(call, side) {
    super();
    this.call = call;
    this.peerId = call.peer;
    this.side = side;
    this.closed = false;
    this.stream = null;
    // Sender changes run one after another: setParameters fails if another one slips in between.
    this.tuning = Promise.resolve();
    this.wanted = { tracks: null, send: false };
    call.on('stream', (stream) => {
      this.stream = stream;
      this.emit('media', { stream });
    });
    call.on('close', () => this.close());
    call.on('error', () => this.close());
  }

  /** Creates our control channel; call once the PeerJS call has its RTCPeerConnection. */
  attachControl() {
    const pc = this.call.peerConnection;
    this.pc = pc;
    this.dc = pc.createDataChannel('treecast', { negotiated: true, id: CONTROL_CHANNEL_ID, ordered: true });
    this.dc.onopen = () => {
      this.tune(() => this.applyWanted()); // negotiated now: encodings exist to park
      this.emit('open', {});
    };
    this.dc.onmessage = (e) => { if (typeof e.data === 'string') this.emit('message', { text: e.data }); };
    this.dc.onclose = () => this.close();
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') this.close();
    });
  }

  get isOpen() { return !this.closed && this.dc?.readyState === 'open'; }

  send(text) {
    if (!this.isOpen) return false;
    try { this.dc.send(text); return true; } catch { return false; }
  }

  /** Runs `fn` (sender changes) after the ones queued before it. */
  tune(fn) {
    const next = this.tuning.then(fn).catch(() => {});
    this.tuning = next;
    return next;
  }

  /**
   * Points our senders at `tracks` ({video, audio}) and sends (`send`) or parks them. No
   * renegotiation. Parked senders keep their track with their encodings inactive: no media
   * bytes, and unparking sends a frame at once (6-23 ms to the child's first frame, against
   * 51-100 ms after replaceTrack(null); tests/tools/unpark_probe.mjs).
   */
  setTracks(tracks, send = true) {
    this.wanted = { tracks, send };
    return this.tune(() => this.applyWanted());
  }

  async applyWanted() {
    if (!this.pc || this.closed) return;
    const { tracks, send } = this.wanted;
    // Video first: an unparked standby's picture should not wait behind its audio's round trip.
    const order = (t) => (t.receiver.track.kind === 'video' ? 0 : 1);
    for (const t of this.pc.getTransceivers().sort((a, b) => order(a) - order(b))) {
      const sender = t.sender;
      // Before negotiation a browser may have no encodings to switch off: park with no track.
      const pausable = (sender.getParameters().encodings?.length ?? 0) > 0;
      const next = send || pausable ? tracks?.[t.receiver.track.kind] ?? null : null;
      if (sender.track !== next) await sender.replaceTrack(next).catch(() => {});
      if (!pausable) continue;
      const params = sender.getParameters(); // fresh: a parameter set expires with its task
      if (params.encodings.every((e) => e.active === send)) continue;
      for (const e of params.encodings) e.active = send;
      await sender.setParameters(params).catch(() => {});
    }
  }

  /**
   * Marks that change whenever media arrives on this edge (child side): `all`, the RTP timestamp
   * of the newest packet per receiver, and `video`, the video receiver's alone (it changes when a
   * decoded frame reaches the track; audio's change with every packet played, well before a
   * switched-on video has its key frame). Far cheaper than getStats, so they can be read every
   * few ms. Null when nothing ever arrived.
   */
  mediaMarks() {
    if (!this.pc || this.closed) return null;
    let all = '';
    let video = null;
    for (const r of this.pc.getReceivers()) {
      const newest = r.getSynchronizationSources?.()[0];
      if (!newest) continue;
      all += `${newest.rtpTimestamp}/`;
      if (r.track.kind === 'video') video = newest.rtpTimestamp;
    }
    return all ? { all, video } : null;
  }

  /** Inbound RTP bytes so far (child side): rises while media arrives. */
  async inboundBytes() {
    if (!this.pc || this.closed) return 0;
    let bytes = 0;
    (await this.pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp') bytes += r.bytesReceived ?? 0; });
    return bytes;
  }

  async outboundBytes() {
    if (!this.pc || this.closed) return 0;
    let bytes = 0;
    (await this.pc.getStats()).forEach((r) => { if (r.type === 'outbound-rtp') bytes += r.bytesSent ?? 0; });
    return bytes;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    try { this.dc?.close(); } catch { /* already closed */ }
    try { this.call.close(); } catch { /* PeerJS can throw while tearing down */ }
    this.emit('close', {});
  }

  emit(type, detail) { this.dispatchEvent(Object.assign(new Event(type), detail)); }
}
