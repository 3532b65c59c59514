// The test pattern source: colour bars, a running clock, a frame counter, and a row of black/white
// blocks that encodes the wall-clock capture time (ms, 32 bits) so a player can measure
// glass-to-glass latency from what it actually presents.

const BARS = ['#c0c0c0', '#c0c000', '#00c0c0', '#00c000', '#c000c0', '#c00000', '#0000c0'];
export const BARCODE_BITS = 32;

/** Geometry shared by the drawer and the decoder: the barcode sits in the bottom band. */
export function barcodeLayout(width, height) {
  const cell = Math.floor(width / (BARCODE_BITS + 2));
  return { x0: cell, y0: height - Math.round(cell * 1.5), cell };
}

export class TestPattern {
  constructor({ width = 640, height = 360, fps = 30, audio = true } = {}) {
    this.canvas = document.createElement('canvas');
    this.canvas.width = width;
    this.canvas.height = height;
    this.ctx = this.canvas.getContext('2d', { alpha: false });
    this.frame = 0;
    this.stream = this.canvas.captureStream(fps);
    this.audio = audio ? quietTone() : null;
    if (this.audio) this.stream.addTrack(this.audio.track);
    this.timer = setInterval(() => this.draw(), 1000 / fps);
    this.draw();
  }

  draw() {
    const { ctx, canvas: { width: w, height: h } } = this;
    const barW = w / BARS.length;
    BARS.forEach((c, i) => { ctx.fillStyle = c; ctx.fillRect(Math.floor(i * barW), 0, Math.ceil(barW), h * 0.67); });
    ctx.fillStyle = '#101010';
    ctx.fillRect(0, h * 0.67, w, h * 0.33);
    // A moving block so a frozen picture is obvious to the eye.
    ctx.fillStyle = '#fff';
    ctx.fillRect((this.frame * 4) % w, h * 0.67, 12, 12);
    const now = Date.now();
    ctx.font = `${Math.round(h / 12)}px monospace`;
    ctx.fillText(new Date(now).toISOString().slice(11, 23), w * 0.04, h * 0.8);
    ctx.fillText(`#${this.frame}`, w * 0.7, h * 0.8);
    const { x0, y0, cell } = barcodeLayout(w, h);
    const stamp = now >>> 0;
    for (let i = 0; i < BARCODE_BITS; i++) {
      ctx.fillStyle = (stamp >>> (BARCODE_BITS - 1 - i)) & 1 ? '#fff' : '#000';
      ctx.fillRect(x0 + i * cell, y0, cell, cell);
    }
    this.frame++;
  }

  stop() {
    clearInterval(this.timer);
    this.stream.getTracks().forEach((t) => t.stop());
    this.audio?.close();
  }
}

/** Reads the capture time back from a presented frame; null when the barcode is unreadable. */
export function decodeBarcode(video, scratch) {
  const w = video.videoWidth, h = video.videoHeight;
  if (!w || !h) return null;
  scratch.width = w; scratch.height = h;
  const ctx = scratch.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(video, 0, 0, w, h);
  const { x0, y0, cell } = barcodeLayout(w, h);
  const row = ctx.getImageData(0, Math.round(y0 + cell / 2), w, 1).data;
  let stamp = 0;
  for (let i = 0; i < BARCODE_BITS; i++) {
    const px = Math.round(x0 + i * cell + cell / 2) * 4;
    const luma = (row[px] + row[px + 1] + row[px + 2]) / 3;
    stamp = (stamp * 2) + (luma > 128 ? 1 : 0);
  }
  return stamp >>> 0;
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
