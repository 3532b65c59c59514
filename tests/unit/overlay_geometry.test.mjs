import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadClassicScript } from './load_classic.mjs';

const { clampRect, defaultRect } = loadClassicScript('extension/content/overlay.js');
const viewport = { width: 1280, height: 720 };
const min = { width: 240, height: 163 };

test('a rectangle inside the viewport is kept (rounded)', () => {
  assert.deepEqual(clampRect({ left: 100.4, top: 50.6, width: 400, height: 253 }, viewport, min),
    { left: 100, top: 51, width: 400, height: 253 });
});

test('a rectangle off screen is pulled back in', () => {
  assert.deepEqual(clampRect({ left: 2000, top: -50, width: 400, height: 253 }, viewport, min),
    { left: 880, top: 0, width: 400, height: 253 });
});

test('size is kept between the minimum and the viewport', () => {
  assert.deepEqual(clampRect({ left: 0, top: 0, width: 10, height: 10 }, viewport, min), { left: 0, top: 0, width: 240, height: 163 });
  assert.deepEqual(clampRect({ left: 0, top: 0, width: 5000, height: 5000 }, viewport, min), { left: 0, top: 0, width: 1280, height: 720 });
});

test('stored junk becomes a usable rectangle', () => {
  assert.deepEqual(clampRect({ left: 'x', top: null, width: Number.NaN }, viewport, min), { left: 0, top: 0, width: 240, height: 163 });
});

test('the first placement is a 16:9 player in the lower right corner', () => {
  const rect = defaultRect(viewport);
  assert.equal(rect.left + rect.width, 1280 - 16);
  assert.equal(rect.top + rect.height, 720 - 16);
  assert.equal(rect.height - 28, Math.round(rect.width * 9 / 16));
});
