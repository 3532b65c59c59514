// Joining in the ways the original library failed: before the broadcast starts, all at once, and
// the same user in two windows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSession } from '../harness/session.mjs';

test('a viewer that opens the page 20 s before the broadcast plays once it starts', { timeout: 120000 }, async (t) => {
  const session = await startSession();
  t.after(() => session.close());
  const early = await session.viewer();
  await new Promise((r) => setTimeout(r, 20000));
  const waiting = await early.stats();
  assert.notEqual(waiting.state, 'playing');
  const startedAt = Date.now();
  await session.broadcaster();
  await session.playing(early, { timeout: 30000 });
  t.diagnostic(`state before the broadcast: ${waiting.state}; playing ${Date.now() - startedAt} ms after the broadcast started`);
});

test('eight viewers opening the page at the same moment all play', { timeout: 180000 }, async (t) => {
  const session = await startSession();
  t.after(() => session.close());
  await session.broadcaster();
  const viewers = [];
  for (let i = 0; i < 8; i++) viewers.push(await session.viewer({ open: false }));
  // All eight navigations start together; the pages load while the others do.
  const openedAt = Date.now();
  await Promise.all(viewers.map((v) => v.openWatch(session.program)));
  const loaded = Date.now() - openedAt;
  const playingAt = await Promise.all(viewers.map(async (v) => { await session.playing(v, { timeout: 60000 }); return Date.now() - openedAt; }));
  t.diagnostic(`8 navigations started together, all loaded after ${loaded} ms; all playing after ${Math.max(...playingAt)} ms (each: ${playingAt.join(', ')})`);
});

test('the same user watching in two windows: both play', { timeout: 120000 }, async (t) => {
  const session = await startSession();
  t.after(() => session.close());
  await session.broadcaster();
  const first = await session.viewer({ user: '3003' });
  const second = await first.context.newPage();
  await second.goto(`https://live.nicovideo.jp/watch/${session.program}`);
  const other = { ...first, page: second, name: 'second-window' };
  const frameOf = (page) => page.frames().find((f) => f.url().startsWith(`${first.origin}/player/player.html`));
  other.stats = async () => frameOf(second).evaluate(() => window.treecast.stats());
  other.player = async () => frameOf(second);
  await session.playing(first);
  await session.playing(other);
  const [a, b] = [await first.stats(), await other.stats()];
  assert.notEqual(a.peerId, b.peerId, 'each window has its own peer id');
  assert.ok(!a.peerId.includes('3003') && !b.peerId.includes('3003'), 'no user id in a peer id');
  t.diagnostic(`two windows of user 3003 play as ${a.peerId} and ${b.peerId}`);
});
