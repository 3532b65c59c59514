// The test pattern source: colour bars, a running clock, a frame counter, and two rows of
// black/white blocks at the bottom that encode the wall-clock capture time (ms, low 32 bits) and
// the frame number, so a player can measure glass-to-glass latency from what it actually presents
// and a benchmark can redraw the exact source frame to measure picture quality.

const BARS = ['#c0c0c0', '#c0c000', '#00c0c0', '#00c000', '#c000c0', '#c00000', '#0000c0'];
export const BARCODE_BITS = 32;

/** Geometry shared by the drawer and the decoder: two rows of cells in the bottom band. */
export function barcodeLayout(width, height) {
  const cell = Math.floor(width / (BARCODE_BITS + 2));
  return { x0: cell, y0: height - Math.round(cell * 2.5), cell };
}

/**
 * Draws frame number `frame` captured at wall-clock `now` (ms). Pure: the same arguments draw the
 * same picture, which is what the benchmark compares decoded frames against.
 */
export function drawPattern(ctx, w, h, frame, now) {
  const barW = w / BARS.length;
  BARS.forEach((c, i) => { ctx.fillStyle = c; ctx.fillRect(Math.floor(i * barW), 0, Math.ceil(barW), h * 0.67); });
  ctx.fillStyle = '#101010';
  ctx.fillRect(0, h * 0.67, w, h * 0.33);
  // A moving block so a frozen picture is obvious to the eye.
  ctx.fillStyle = '#fff';
  ctx.fillRect((frame * 4) % w, h * 0.67, 12, 12);
  ctx.font = `${Math.round(h / 12)}px monospace`;
  ctx.fillText(new Date(now).toISOString().slice(11, 23), w * 0.04, h * 0.8);
  ctx.fillText(`#${frame}`, w * 0.7, h * 0.8);
  const { x0, y0, cell } = barcodeLayout(w, h);
  const rows = [now >>> 0, frame >>> 0];
  rows.forEach((value, row) => {
    for (let i = 0; i < BARCODE_BITS; i++) {
      ctx.fillStyle = (value >>> (BARCODE_BITS - 1 - i)) & 1 ? '#fff' : '#000';
      ctx.fillRect(x0 + i * cell, y0 + row * cell, cell, cell);
    }
  });
}

export class TestPattern {
  constructor({ width = 640, height = 360, fps = 30, audio = true } = {}) {
    this.canvas = document.createElement('canvas');
    this.canvas.width = width;
    this.canvas.height = height;
    this.ctx = this.canvas.getContext('2d', { alpha: false });
    this.frame = 0;
    // No frame rate: one captured frame per drawn frame, so a frame's barcode is its capture time.
    this.stream = this.canvas.captureStream();
    this.audio = audio ? quietTone() : null;
    if (this.audio) this.stream.addTrack(this.audio.track);
    this.timer = setInterval(() => this.draw(), 1000 / fps);
    this.draw();
  }

  draw() {
    drawPattern(this.ctx, this.canvas.width, this.canvas.height, this.frame, Date.now());
    this.frame++;
  }

  stop() {
    clearInterval(this.timer);
    this.stream.getTracks().forEach((t) => t.stop());
    this.audio?.close();
  }
}

/**
 * Reads { stamp, frame } back from a picture of the pattern drawn at `width` x `height` into `ctx`
 * (scale a smaller decoded frame up first). `stamp` is the capture time's low 32 bits. Cheap:
 * reads two pixel rows.
 */
export function readBarcode(ctx, width, height) {
  const { x0, y0, cell } = barcodeLayout(width, height);
  const row = (r) => {
    const data = ctx.getImageData(0, Math.round(y0 + r * cell + cell / 2), width, 1).data;
    let value = 0;
    for (let i = 0; i < BARCODE_BITS; i++) {
      const px = Math.round(x0 + i * cell + cell / 2) * 4;
      value = value * 2 + ((data[px] + data[px + 1] + data[px + 2]) / 3 > 128 ? 1 : 0);
    }
    return value >>> 0;
  };
  return { stamp: row(0), frame: row(1) };
}

/** The full wall-clock time (ms) a 32-bit `stamp` stands for, given a time shortly after it. */
export function unwrapStamp(stamp, after = Date.now()) {
  return after - (((after >>> 0) - stamp) >>> 0);
}

/** Reads the barcode of the frame `video` shows, for a pattern of `width` x `height`. */
export function decodeBarcode(video, scratch, width = video.videoWidth, height = video.videoHeight) {
  if (!video.videoWidth || !video.videoHeight || !width || !height) return null;
  scratch.width = width; scratch.height = height;
  const ctx = scratch.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(video, 0, 0, width, height);
  return readBarcode(ctx, width, height);
}

/** A quiet 440 Hz tone, so the audio path is exercised without being loud. */
function quietTone() {
  const ac = new AudioContext();
  const osc = ac.createOscillator();
  const gain = ac.createGain();
  gain.gain.value = 0.02;
  const dest = ac.createMediaStreamDestination();
  osc.connect(gain).connect(dest);
  osc.start();
  return { track: dest.stream.getAudioTracks()[0], close: () => ac.close() };
}
