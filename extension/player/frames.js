// What the viewer actually sees: presented frames (requestVideoFrameCallback), frames per second
// over the last second, and stalls (a gap between two presented frames longer than STALL_MS).

export const STALL_MS = 200;

export class FrameWatch {
  constructor(video) {
    this.video = video;
    this.times = [];
    this.lastAt = null;
    this.stalls = { count: 0, totalMs: 0, maxMs: 0 };
    this.total = 0;
    this.window = { maxGapMs: 0, stalls: 0 }; // since the last health sample
    const step = (now) => { this.onFrame(now); video.requestVideoFrameCallback(step); };
    video.requestVideoFrameCallback(step);
  }

  onFrame(now) {
    if (this.lastAt !== null) {
      const gap = now - this.lastAt;
      this.window.maxGapMs = Math.max(this.window.maxGapMs, gap);
      if (gap > STALL_MS) {
        this.window.stalls++;
        this.stalls.count++;
        this.stalls.totalMs += Math.round(gap);
        this.stalls.maxMs = Math.max(this.stalls.maxMs, Math.round(gap));
      }
    }
    this.lastAt = now;
    this.total++;
    this.times.push(now);
    while (this.times.length && this.times[0] < now - 1000) this.times.shift();
  }

  /** Frames presented in the last second (0 once the picture has frozen for a second). */
  fps(now = performance.now()) {
    return this.times.filter((t) => t >= now - 1000).length;
  }

  /**
   * The picture since the previous sample, for the health reports sent up the tree: frames in the
   * last second, the longest gap between frames (counting the one still open now), stalls.
   */
  sample(now = performance.now()) {
    const open = this.lastAt === null ? 0 : now - this.lastAt;
    const out = { fps: this.fps(now), gapMs: Math.round(Math.max(this.window.maxGapMs, open)), stalls: this.window.stalls };
    this.window = { maxGapMs: 0, stalls: 0 };
    return out;
  }

  /** Milliseconds since the last presented frame (null before the first). */
  sinceLastFrame(now = performance.now()) {
    return this.lastAt === null ? null : now - this.lastAt;
  }
}
