// Chaos in real Chromium: a broadcaster and twelve viewers (one browser each) for two minutes,
// while a seeded schedule makes 40 % of the viewers leave, crash (SIGKILL) or rejoin, and the
// broadcaster reloads its page once. At the end every viewer present plays, the coordinator's
// invariants hold and its tree holds exactly the viewers present; each viewer's total and largest
// stall is printed and bounded. Thirteen browsers share two cores here: the test pattern is small.
// `TREECAST_CHAOS_SEED` picks another schedule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSession } from '../harness/session.mjs';
import { recordFrames, waitFor } from '../harness/browsers.mjs';
import { readTree } from '../harness/tree.mjs';
import { commandLog, peerNames } from '../harness/timeline.mjs';

const VIEWERS = 12;
const DURATION_MS = 120_000;
const SEED = Number(process.env.TREECAST_CHAOS_SEED ?? 8);
const PATTERN = { width: 160, height: 120, fps: 10, audio: false };
// A gap between presented frames longer than this counts as a stall (the player's own measure).
const STALL_MS = 200;
// Bounds, from runs on this 2-core machine with 13 browsers, seed 8: largest stall 0.3 to 1.1 s
// and totals 0.3 to 6.4 s in one run; 1.6 to 3.0 s and 8 to 22 s in another (`make test`, after
// the player began polling media every tick): the CPU, shared by 13 browsers, sets the totals. The
// bounds leave room for that variance; the largest stall is the one a viewer notices. A crash is
// detected after 600 ms of silence, then the standby takes over; a child of the broadcaster waits
// for the reloaded page to call it again.
const MAX_STALL_MS = 5_000;
const MAX_TOTAL_STALL_MS = 40_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A small deterministic generator (mulberry32). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 40 % of the viewers get one action each, at seeded times; the broadcaster reloads once. */
function schedule(seed) {
  const rand = prng(seed);
  const order = [...Array(VIEWERS).keys()].sort(() => rand() - 0.5);
  const chosen = order.slice(0, Math.round(VIEWERS * 0.4));
  const kinds = ['leave', 'crash', 'rejoin', 'crash-rejoin'];
  const events = chosen.map((v, i) => ({ at: 8_000 + Math.floor(rand() * 90_000), viewer: v, kind: kinds[(i + Math.floor(rand() * 4)) % 4] }));
  events.push({ at: 45_000 + Math.floor(rand() * 30_000), kind: 'reload' });
  return events.sort((a, b) => a.at - b.at);
}

/** Stalls in a list of presented-frame times (wall clock) between `from` and `to`. */
function stalls(times, from, to) {
  const t = times.filter((x) => x >= from && x <= to);
  const edges = [from, ...t, to];
  let total = 0;
  let max = 0;
  let maxAt = from;
  for (let i = 1; i < edges.length; i++) {
    const gap = edges[i] - edges[i - 1];
    if (gap > STALL_MS) total += gap;
    if (gap > max) { max = gap; maxAt = edges[i - 1]; }
  }
  return { frames: t.length, totalMs: Math.round(total), maxMs: Math.round(max), maxAt };
}

test(`chaos: 12 viewers for 2 minutes, 40 % leave, crash or rejoin, the broadcaster reloads (seed ${SEED})`, { timeout: 600000 }, async (t) => {
  const session = await startSession({ slots: 2 });
  t.after(() => session.close());
  const broadcaster = await session.broadcaster({ pattern: PATTERN });
  const viewers = await session.audience(VIEWERS, { timeout: 90000 });
  await waitFor('a full tree', async () => (await readTree(broadcaster))?.nodes.length === VIEWERS, { timeout: 30000 });
  // Every viewer's presented frames (wall clock), from when it (re)started to watch.
  const watch = async (v) => { await recordFrames(await v.player()); v.since = Date.now(); };
  for (const v of viewers) await watch(v);
  const frames = async (v) => (await v.player()).evaluate(() => window.__frames);

  const plan = schedule(SEED);
  t.diagnostic(`schedule: ${plan.map((e) => `${(e.at / 1000).toFixed(0)} s ${e.kind}${e.viewer !== undefined ? ` viewer${e.viewer + 1}` : ''}`).join(', ')}`);
  const start = Date.now();
  const present = new Set(viewers);
  const pending = [];
  for (const e of plan) {
    await sleep(Math.max(0, start + e.at - Date.now()));
    if (e.kind === 'reload') {
      await broadcaster.page.reload();
      continue;
    }
    const v = viewers[e.viewer];
    present.delete(v);
    if (e.kind === 'leave' || e.kind === 'rejoin') await v.closeTab();
    else v.kill();
    if (e.kind === 'rejoin') {
      // The same browser opens the program again a few seconds later.
      pending.push((async () => {
        await sleep(6_000);
        v.page = await v.context.newPage();
        await v.page.goto(`https://live.nicovideo.jp/watch/${session.program}`);
        await session.playing(v, { timeout: 60000 });
        await watch(v);
        v.rejoined = true;
        present.add(v);
      })());
    } else if (e.kind === 'crash-rejoin') {
      // The user starts the browser again: a new peer.
      pending.push((async () => {
        await sleep(6_000);
        const again = await session.viewer({ name: `${v.name}-again` });
        await session.playing(again, { timeout: 60000 });
        await watch(again);
        again.rejoined = true;
        present.add(again);
      })());
    }
  }
  await sleep(Math.max(0, start + DURATION_MS - Date.now()));
  await Promise.all(pending);
  const end = Date.now();

  // Everyone present plays, now.
  const alive = [...present];
  await waitFor('every viewer present to play', async () => {
    for (const v of alive) {
      const s = await v.stats();
      const recent = (await frames(v)).filter((x) => x > Date.now() - 2000).length;
      if (s.state !== 'playing' || recent < 5) return false;
    }
    return true;
  }, { timeout: 30000, interval: 500 });
  // The coordinator's tree: valid, and exactly the viewers present (crashed ones found out).
  const ids = new Set(await Promise.all(alive.map(async (v) => (await v.stats()).peerId)));
  const tree = await waitFor('the tree to hold exactly the viewers present', async () => {
    const tr = await readTree(broadcaster);
    return tr && tr.nodes.length === ids.size && tr.nodes.every((n) => ids.has(n.id)) ? tr : false;
  }, { timeout: 30000, interval: 500 });
  const invariants = await (await broadcaster.player()).evaluate(() => window.treecast.checkInvariants());

  const rows = [];
  for (const v of alive) {
    const s = stalls(await frames(v), v.since, end);
    rows.push({ name: v.name, rejoined: !!v.rejoined, ...s });
  }
  rows.sort((a, b) => b.maxMs - a.maxMs);
  t.diagnostic(`tree at the end: ${tree.nodes.length} viewers, depth max ${Math.max(...tree.nodes.map((n) => n.depth))}`);
  for (const r of rows) t.diagnostic(`${r.name}${r.rejoined ? ' (rejoined)' : ''}: total stall ${r.totalMs} ms, largest ${r.maxMs} ms from ${((r.maxAt - start) / 1000).toFixed(1)} s, ${r.frames} frames`);
  // Over the bound: what every viewer present did from a second before that stall to its end.
  const worst = rows[0];
  if (worst && worst.maxMs > MAX_STALL_MS) {
    for (const line of await commandLog(alive, worst.maxAt - 1000, await peerNames(alive, broadcaster), worst.maxAt + worst.maxMs + 500)) t.diagnostic(line);
  }
  assert.equal(invariants, null, `coordinator invariants: ${invariants}`);
  assert.equal(alive.length, VIEWERS - plan.filter((e) => e.kind === 'leave' || e.kind === 'crash').length);
  for (const r of rows) {
    assert.ok(r.maxMs <= MAX_STALL_MS, `${r.name} stalled ${r.maxMs} ms at once`);
    assert.ok(r.totalMs <= MAX_TOTAL_STALL_MS, `${r.name} stalled ${r.totalMs} ms in all`);
  }
});
