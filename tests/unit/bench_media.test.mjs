// The media benchmark's pure parts: the test pattern's barcode (what latency and quality are
// read from) and the statistics every figure goes through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { barcodeLayout, drawPattern, readBarcode, unwrapStamp } from '../../extension/player/pattern.js';
import { across, percentile, slope } from '../../bench/media/stats.mjs';
import { aggregate, textTable } from '../../bench/media/report.mjs';

/** Just enough of a 2D canvas context: solid rectangles by pixel centre, no text. */
function fakeContext(width, height) {
  const data = new Uint8ClampedArray(width * height * 4);
  return {
    fillStyle: '#000000',
    font: '',
    fillText() {},
    fillRect(x, y, w, h) {
      const [r, g, b] = this.fillStyle.length === 4
        ? [...this.fillStyle.slice(1)].map((c) => parseInt(c + c, 16))
        : [1, 3, 5].map((i) => parseInt(this.fillStyle.slice(i, i + 2), 16));
      for (let py = 0; py < height; py++) {
        if (!(py + 0.5 >= y && py + 0.5 < y + h)) continue;
        for (let px = 0; px < width; px++) {
          if (!(px + 0.5 >= x && px + 0.5 < x + w)) continue;
          data.set([r, g, b, 255], (py * width + px) * 4);
        }
      }
    },
    getImageData(x, y, w, h) {
      const out = new Uint8ClampedArray(w * h * 4);
      for (let row = 0; row < h; row++) out.set(data.subarray(((y + row) * width + x) * 4, ((y + row) * width + x + w) * 4), row * w * 4);
      return { data: out };
    },
  };
}

test('the barcode carries the capture time and the frame number, at the sizes the benchmark uses', () => {
  for (const [w, h] of [[256, 144], [320, 180], [160, 120], [640, 360]]) {
    const { x0, y0, cell } = barcodeLayout(w, h);
    assert.ok(cell >= 4 && x0 + 32 * cell <= w && y0 + 2 * cell <= h, `${w}x${h}: both rows fit`);
    for (const [frame, now] of [[0, 1764000000123], [4242, 1764000000000 + 0xffffffff], [0xfffffffe, 1]]) {
      const ctx = fakeContext(w, h);
      drawPattern(ctx, w, h, frame, now);
      assert.deepEqual(readBarcode(ctx, w, h), { stamp: now >>> 0, frame: frame >>> 0 }, `${w}x${h} frame ${frame}`);
    }
  }
});

test('a 32-bit stamp unwraps to the full time it stands for, across the 32-bit wrap', () => {
  const now = 1764000000000;
  assert.equal(unwrapStamp((now - 35) >>> 0, now), now - 35);
  const wrap = Math.ceil(now / 2 ** 32) * 2 ** 32; // a time whose low 32 bits are 0
  assert.equal(unwrapStamp((wrap - 10) >>> 0, wrap + 5), wrap - 10);
});

test('percentiles, slopes and the median with min and max across runs', () => {
  assert.equal(percentile([5, 1, 3], 50), 3);
  assert.ok(Math.abs(percentile([1, 2, 3, 4], 95) - 3.85) < 1e-9);
  assert.equal(percentile([], 50), null);
  assert.equal(slope([[1, 17], [2, 29], [3, 41]]), 12);
  assert.equal(slope([[2, 1], [2, 5]]), null);
  assert.deepEqual(across([300, null, 100, 200]), { median: 200, min: 100, max: 300, n: 3, runs: [300, null, 100, 200] });
});

test('the table marks a figure whose window ran out and gives seed over treecast', () => {
  const run = (policy, gap, censored) => ({ policy, leave: { worstGapMs: gap, censored }, join: { p50: 200 } });
  const agg = aggregate([run('treecast', 80, false), run('seed', 400, false), run('treecast', 90, false), run('seed', 10000, true)], ['treecast', 'seed']);
  assert.equal(agg.treecast['leave.worst'].median, 85);
  assert.equal(agg.seed['leave.worst'].censored, 1);
  const line = textTable(agg, ['treecast', 'seed']).split('\n').find((l) => l.startsWith('graceful leave'));
  assert.match(line, /85 \[80-90\]\s+>=5,200 \[400-10,000\]\s+61\.18$/);
});
