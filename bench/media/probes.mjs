// What the benchmark reads inside the browsers. Everything about frames comes from presented
// frames (requestVideoFrameCallback in the player frame), never from the relay's own counters.

/**
 * Init script for every page of a viewer's or the broadcaster's browser: in the overlay player
 * frame, log every presented frame as [wall-clock ms, width] from the moment the page loads (the
 * harness attaches later, so a join's first frame would otherwise be missed).
 */
export function recordPresentedFrames() {
  if (!location.pathname.endsWith('/player/player.html')) return;
  const log = [];
  window.__bench = { frames: log, loadedAt: Date.now() };
  const attach = () => {
    const video = document.getElementById('video');
    if (!video) return;
    const step = (_now, meta) => { log.push([Date.now(), meta.width]); video.requestVideoFrameCallback(step); };
    video.requestVideoFrameCallback(step);
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', attach); else attach();
}

/** The placeholder a parent sends before real media is 16x16: a real frame is wider. */
export const REAL_WIDTH = 17;

/** In the player: presented-frame facts over [from, to] (wall-clock ms). */
export function framesIn([from, to]) {
  const log = window.__bench?.frames ?? [];
  const t = log.filter(([x, w]) => x >= from && x <= to && w >= 17).map(([x]) => x);
  let maxGap = 0;
  let gapAt = null;
  const edges = [from, ...t, to];
  for (let i = 1; i < edges.length; i++) {
    const g = edges[i] - edges[i - 1];
    if (g > maxGap) { maxGap = g; gapAt = [edges[i - 1], edges[i]]; }
  }
  return { frames: t.length, fps: (t.length * 1000) / Math.max(1, to - from), maxGapMs: Math.round(maxGap), gapAt, first: t[0] ?? null, last: t.at(-1) ?? null };
}

/** In the player: the first real presented frame and when the viewer machine started joining. */
export function joinFacts() {
  const first = (window.__bench?.frames ?? []).find(([, w]) => w >= 17)?.[0] ?? null;
  const log = window.treecast?.log?.() ?? [];
  const joinStart = log.find((l) => l.text === 'state joining')?.t ?? null;
  return { first, joinStart, loadedAt: window.__bench?.loadedAt ?? null };
}

/**
 * In the player: reads the barcode of every presented frame for `ms` milliseconds: glass-to-glass
 * latency (presentation wall clock minus the capture time drawn into the frame) and, for some
 * frames, PSNR (luma) against the same frame redrawn from its frame number and capture time.
 */
export async function sampleFrames({ width, height, ms, qualityEvery }) {
  const { readBarcode, drawPattern, unwrapStamp } = await import(new URL('../player/pattern.js', location.href).href);
  const video = document.getElementById('video');
  const canvas = (w, h) => Object.assign(document.createElement('canvas'), { width: w, height: h });
  const got = canvas(width, height).getContext('2d', { alpha: false, willReadFrequently: true });
  const ref = canvas(width, height).getContext('2d', { alpha: false, willReadFrequently: true });
  const latency = [];
  const psnr = [];
  const sizes = {};
  let unreadable = 0;
  const lumaPsnr = () => {
    const a = got.getImageData(0, 0, width, height).data;
    const b = ref.getImageData(0, 0, width, height).data;
    let se = 0;
    for (let i = 0; i < a.length; i += 4) {
      const d = 0.299 * (a[i] - b[i]) + 0.587 * (a[i + 1] - b[i + 1]) + 0.114 * (a[i + 2] - b[i + 2]);
      se += d * d;
    }
    const mse = se / (a.length / 4);
    return mse === 0 ? 99 : 10 * Math.log10((255 * 255) / mse);
  };
  // Where the time goes on the inbound video of the edge it plays, over the sample (ms per
  // frame): the receiver's jitter buffer (and its target) and decoding, from getStats.
  const inbound = async () => {
    const driver = window.treecast?.node?.driver;
    const edge = driver?.parents.get(driver.upstream);
    let out = null;
    if (edge?.pc && !edge.closed) (await edge.pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'video') out = r; });
    return out;
  };
  const before = await inbound();
  await new Promise((resolve) => {
    const end = Date.now() + ms;
    let n = 0;
    const step = (_now, meta) => {
      const at = Date.now();
      sizes[`${meta.width}x${meta.height}`] = (sizes[`${meta.width}x${meta.height}`] ?? 0) + 1;
      got.drawImage(video, 0, 0, width, height);
      const { stamp, frame } = readBarcode(got, width, height);
      const captured = unwrapStamp(stamp, at);
      if (at - captured >= 0 && at - captured < 5000) {
        latency.push(at - captured);
        if (n++ % qualityEvery === 0) {
          drawPattern(ref, width, height, frame, captured);
          psnr.push(lumaPsnr());
        }
      } else {
        unreadable++;
      }
      if (at < end) video.requestVideoFrameCallback(step); else resolve();
    };
    video.requestVideoFrameCallback(step);
    setTimeout(resolve, ms + 2000); // a frozen picture still ends the sample
  });
  const after = await inbound();
  const per = (key, count) => (before && after && after[count] > before[count] ? Math.round((10000 * (after[key] - before[key])) / (after[count] - before[count])) / 10 : null);
  const receiver = { jitterBufferMs: per('jitterBufferDelay', 'jitterBufferEmittedCount'), targetMs: per('jitterBufferTargetDelay', 'jitterBufferEmittedCount'), decodeMs: per('totalDecodeTime', 'framesDecoded') };
  return { latency, psnr, sizes, unreadable, receiver };
}


/**
 * In the broadcaster's player: bytes sent so far on each of its edges, by child id (transport
 * level: media, RTCP, data channel and headers; `media`: RTP payload and headers only).
 */
export async function bytesSent() {
  const driver = window.treecast?.node?.driver;
  const out = {};
  if (!driver) return out;
  for (const [child, edge] of driver.children) {
    if (!edge.pc || edge.closed) continue;
    const e = { bytes: 0, media: 0 };
    (await edge.pc.getStats()).forEach((r) => {
      if (r.type === 'transport') e.bytes += r.bytesSent ?? 0;
      if (r.type === 'outbound-rtp') e.media += r.bytesSent ?? 0;
    });
    out[child] = e;
  }
  return out;
}
