// The first slice: the streamer starts a test-pattern broadcast on its own program page; a viewer
// opening the same program sees the overlay player play it, relayed through PeerJS and a stock
// PeerServer. Fails when no frames arrive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSession } from '../harness/session.mjs';
import { frameSummary, recordFrames, waitFor } from '../harness/browsers.mjs';

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

test('the player takes the audio track only while unmuted, and the relay forwards it either way', { timeout: 90000 }, async (t) => {
  const session = await startSession();
  t.after(() => session.close());
  await session.broadcaster();
  const viewer = await session.viewer();
  await session.playing(viewer);
  const frame = await viewer.player();
  const audio = () => frame.evaluate(() => document.querySelector('video').srcObject.getAudioTracks().length);
  // `volumechange` is dispatched after the click returns: give it a moment.
  const settled = async (n) => { await waitFor(`${n} audio tracks in the player`, async () => (await audio()) === n, { timeout: 3000 }).catch(() => {}); return audio(); };
  assert.equal(await audio(), 0, 'a muted player renders no audio');
  await frame.click('#mute');
  assert.equal(await settled(1), 1, 'unmuted, the player plays the audio track');
  await frame.click('#mute');
  assert.equal(await settled(0), 0);
  // The broadcaster feeds one viewer, so a second one sits under the first, which still sends it
  // sound while its own player is muted.
  const child = await session.viewer();
  const childStats = await session.playing(child);
  assert.equal(childStats.parentId, (await viewer.stats()).peerId);
  const audioSent = await frame.evaluate(() => [...window.treecast.node.driver.children.values()]
    .some((e) => e.pc.getSenders().some((s) => s.track?.kind === 'audio' && s.track.readyState === 'live')));
  assert.ok(audioSent, 'the relay forwards audio while its own player is muted');
});
