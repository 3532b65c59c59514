// The first slice: the streamer starts a test-pattern broadcast on its own program page; a viewer
// opening the same program sees the overlay player play it, relayed through PeerJS and a stock
// PeerServer. Fails when no frames arrive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSession } from '../harness/session.mjs';
import { frameSummary, recordFrames } from '../harness/browsers.mjs';

test('a viewer plays the broadcaster\'s test pattern through the overlay player', { timeout: 90000 }, async (t) => {
  const session = await startSession();
  t.after(() => session.close());
  const broadcaster = await session.broadcaster();
  const viewer = await session.viewer();
  const stats = await session.playing(viewer);
  const frame = await viewer.player();
  await recordFrames(frame);
  await new Promise((r) => setTimeout(r, 2000));
  const seen = await frameSummary(frame);
  t.diagnostic(`viewer: depth ${stats.depth}, parent ${stats.parentId}; ${seen.frames} frames in 2 s, largest gap ${seen.maxGapMs} ms`);
  assert.equal(stats.depth, 1);
  assert.equal(stats.parentId, (await broadcaster.stats()).peerId);
  assert.ok(seen.frames >= 20, `only ${seen.frames} frames presented in 2 s`);
  await viewer.page.screenshot({ path: 'tests/artifacts/first-slice-viewer.png' });
});
