// The video a peer sends its children: one generated track, fed frame by frame (in a worker) from
// whichever upstream plays (a relay's frames each re-made with a fresh timestamp) or from the
// broadcaster's source, and able to send its last frame again on demand.
//
// Why: WebRTC stamps outgoing RTP with a frame's capture time, and a relayed frame keeps the
// broadcaster's. Two upstreams lag the broadcaster by different amounts, so a plain replaceTrack
// makes the stamps jump: back (the encoder drops frames until they pass the last one) or ahead
// (the child's jitter buffer holds them). Either way the children freeze for the lag difference
// (measured: 300 ms lag, 315 ms gap; re-made frames: none, tests/tools/relay_switch_probe.mjs).
// The children's senders never change track, so a switch is invisible below the relay.
export class Forwarder {
  /** Chromium's breakout box (Firefox has none yet: it forwards the upstream's track as is). */
  static supported() {
    return typeof MediaStreamTrackProcessor === 'function' && typeof MediaStreamTrackGenerator === 'function';
  }

  /** `restamp`: re-make every frame with a fresh timestamp (a relay; see above). */
  constructor({ restamp = true } = {}) {
    this.generator = new MediaStreamTrackGenerator({ kind: 'video' });
    this.worker = new Worker(new URL('./forward.worker.js', import.meta.url));
    const writable = this.generator.writable;
    this.worker.postMessage({ writable, restamp }, [writable]);
    this.source = null; // the track forwarded
    this.keys = new Map(); // track -> the worker's key for it (tracks read)
    this.watched = new Set(); // upstream tracks read until forgotten
    this.nextKey = 1;
    this.ontakeover = null; // () => void: a preferred upstream's first frame was forwarded
    this.worker.onmessage = ({ data }) => { if (data.took !== undefined) this.ontakeover?.(); };
  }

  /** The track children receive. */
  get track() { return this.generator; }

  /**
   * Starts reading `track` (an upstream's video) ahead of a switch to it: its newest frame is
   * held, and forwarded the moment `from(track)` is called.
   */
  watch(track) {
    this.watched.add(track);
    return this.read(track);
  }

  read(track) {
    if (this.keys.has(track)) return this.keys.get(track);
    const key = this.nextKey++;
    this.keys.set(track, key);
    const readable = new MediaStreamTrackProcessor({ track }).readable;
    this.worker.postMessage({ watch: key, readable }, [readable]);
    return key;
  }

  /** Stops reading `track` (its edge closed). */
  forget(track) {
    const key = this.keys.get(track);
    this.watched.delete(track);
    if (key === undefined) return;
    this.keys.delete(track);
    this.worker.postMessage({ forget: key });
    if (this.source === track) this.source = null;
  }

  /** Frames now come from `track` (null: none until the next one). */
  from(track) {
    const previous = this.source;
    this.source = track;
    // The encoder's tuning (screen content or motion) follows the source.
    if (track) this.generator.contentHint = track.contentHint;
    // Sent for the same source too: it ends a preference for another (see `prefer`).
    this.worker.postMessage({ use: track ? this.read(track) : null });
    // A source nobody watches (the broadcaster's) is read only while it is used.
    if (previous && previous !== track && !this.watched.has(previous)) this.forget(previous);
  }

  /**
   * `track` (an upstream just asked to send) takes over at its first frame, ahead of the page's
   * own switch to it (`from`); null: back to the current source (it was parked again).
   */
  prefer(track) {
    this.worker.postMessage({ prefer: track ? this.watch(track) : null });
  }

  /** Sends the last frame again (to a child just switched on). */
  repeat() {
    this.worker.postMessage({ repeat: true });
  }

  stop() {
    this.worker.terminate();
    this.generator.stop();
  }
}
