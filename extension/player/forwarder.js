// The video a relay sends its children: one generated track, fed frame by frame (in a worker) from
// whichever upstream plays, each frame re-made with a fresh timestamp.
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

  constructor() {
    this.generator = new MediaStreamTrackGenerator({ kind: 'video' });
    this.worker = new Worker(new URL('./forward.worker.js', import.meta.url));
    const writable = this.generator.writable;
    this.worker.postMessage({ writable }, [writable]);
    this.source = null;
  }

  /** The track children receive. */
  get track() { return this.generator; }

  /** Frames now come from `track` (null: none until the next one). */
  from(track) {
    if (track === this.source) return;
    this.source = track;
    if (!track) { this.worker.postMessage({ readable: null }); return; }
    const readable = new MediaStreamTrackProcessor({ track }).readable;
    this.worker.postMessage({ readable }, [readable]);
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
