// The relay in real Chromium (one browser per peer) through a stock PeerServer: a broadcaster and
// ten viewers with two slots each. Repairs must go unseen: a relay that closes its tab or crashes
// is replaced by its children's standby parents; a broadcaster reload rebuilds only its own edges.
// Bounds are loose on purpose; the media benchmark measures the real figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSession } from '../harness/session.mjs';
import { frameSummary, recordFrames, waitFor } from '../harness/browsers.mjs';
import { descendants, interiorRelay, readTree, settledTree } from '../harness/tree.mjs';
import { commandLog, peerNames, treeLine } from '../harness/timeline.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until every peer presented frames steadily over the last second, so that what the test
 * causes next is measured from a healthy start (many browsers share two cores here).
 */
async function healthy(peers) {
  await waitFor('every viewer to present frames steadily', async () => {
    const now = Date.now();
    for (const p of peers) {
      const seen = await frameSummary(await p.player(), now - 1000, now);
      if (seen.frames < 6 || seen.maxGapMs > 250) return false;
    }
    return true;
  }, { timeout: 30000, interval: 500 });
}

// Largest gap per viewer; `starts` (optional) gets where each began, for diagnostics.
async function gapsBetween(peers, since, until, starts = {}, presented = {}) {
  const out = {};
  for (const p of peers) {
    const seen = await frameSummary(await p.player(), since, until);
    out[p.name] = seen.maxGapMs;
    starts[p.name] = seen.maxGapAt;
    presented[p.name] = `${seen.presentedGapMs}/${seen.skipped}`;
  }
  return out;
}

async function gapsAfter(peers, since, windowMs, starts, presented) {
  await sleep(windowMs);
  return gapsBetween(peers, since, since + windowMs, starts, presented);
}

// Not yet reliable on this 2-core machine (issue 4 stays open): eleven browsers share two cores,
// and viewers no event touches freeze too: in 4 quiet seconds before the leave their largest gaps
// were 96-272 ms (sessions 8-9), after it 132-408 ms. A graceful leave's largest gap below the
// leaver was 155-387 ms per run, at and around the 250 ms bound; crashes stay under 1 s
// and reloads under 2 s (docs/relay-journal.md). It runs in every `make test` and reports its figures and, on a
// miss, every viewer's commands; `todo` keeps a miss from failing the suite.
const KNOWN_FAILING = 'graceful-leave gaps reach 250 ms and more with eleven browsers on two cores (issue 4)';

/**
 * settledTree, once every viewer sits where the tree says (no move still under way: the reload
 * must find a still tree); on a timeout the tree and every viewer's commands of the last 60 s.
 */
async function settled(t, broadcaster, viewers, count) {
  try {
    await settledTree(broadcaster, count);
    const alive = viewers.filter((v) => !v.gone);
    // A move still to make (a free slot above a deep leaf) would rebuild edges after the reload.
    return await waitFor('every viewer to sit where a settled tree says', async () => {
      const tree = await readTree(broadcaster);
      if (!tree.settled) return false;
      const at = new Map(tree.nodes.map((n) => [n.id, n]));
      for (const v of alive) {
        const s = await v.stats();
        const n = at.get(s.peerId);
        if (!n || s.parentId !== n.parent || (s.standbyId ?? null) !== (n.standby ?? null)) return false;
      }
      return tree.nodes.length === count ? tree : false;
      // A viewer that had to re-join is on probation for 30 s, and the tree is settled only once
      // the move that ends it is made: 30 s alone failed here once.
    }, { timeout: 45000, interval: 250 });
  } catch (err) {
    const alive = viewers.filter((v) => !v.gone);
    const names = await peerNames(alive, broadcaster);
    const tree = await readTree(broadcaster).catch(() => null);
    if (tree) t.diagnostic(`tree when it gave up: ${treeLine(tree, names)}`);
    for (const line of await commandLog(alive, Date.now() - 60000, names)) t.diagnostic(line);
    throw err;
  }
}

test('ten relaying viewers: all play; a relay that leaves or crashes goes unseen; a broadcaster reload rebuilds only its own edges', { timeout: 420000, todo: KNOWN_FAILING }, async (t) => {
  const session = await startSession({ slots: 2 });
  t.after(() => session.close());
  const broadcaster = await session.broadcaster();
  const viewers = await session.audience(10);
  for (const v of viewers) await recordFrames(await v.player());
  const byId = async () => new Map(await Promise.all(viewers.filter((v) => !v.gone).map(async (v) => [(await v.stats()).peerId, v])));
  let tree = await settledTree(broadcaster, 10);
  t.diagnostic(`all 10 play; depth max ${Math.max(...tree.nodes.map((n) => n.depth))}`);

  // A relay closes its tab: every viewer below it keeps a moving picture.
  let peers = await byId();
  const leaver = interiorRelay(tree, 2) ?? interiorRelay(tree, 1);
  assert.ok(leaver, 'the tree has an interior relay');
  const below = descendants(tree, leaver.id).map((id) => peers.get(id));
  await healthy(viewers);
  // The machine's own noise, for scale: the same viewers' largest gaps in 4 quiet seconds.
  await sleep(4000);
  const quietGaps = await gapsBetween(viewers, Date.now() - 4000, Date.now());
  t.diagnostic(`largest gaps in 4 quiet seconds before the leave: ${JSON.stringify(quietGaps)}`);
  const closeAt = Date.now();
  const leaving = peers.get(leaver.id);
  leaving.gone = true;
  await leaving.closeTab();
  const leaveStarts = {};
  const shownBelow = {};
  const shownOthers = {};
  const leaveGaps = await gapsAfter(below, closeAt, 5000, leaveStarts, shownBelow);
  const leaveOthers = await gapsBetween(viewers.filter((v) => !v.gone && !below.includes(v)), closeAt, closeAt + 5000, {}, shownOthers);
  t.diagnostic(`graceful leave of ${leaving.name} (depth ${leaver.depth}): largest gaps below it ${JSON.stringify(leaveGaps)}; elsewhere ${JSON.stringify(leaveOthers)}`);
  t.diagnostic(`by presentation time (largest gap ms / frames presented without a callback): below ${JSON.stringify(shownBelow)}; elsewhere ${JSON.stringify(shownOthers)}`);
  // Every phase runs and reports before any bound is checked: one run gives all the figures.
  const failures = [];
  for (const [name, gap] of Object.entries(leaveGaps)) if (gap > 250) failures.push(`${name} froze ${gap} ms after a graceful leave`);
  if (failures.length) t.diagnostic(`those gaps began at (ms after the close) ${JSON.stringify(leaveStarts)}`);
  if (failures.length) for (const line of await commandLog(viewers.filter((v) => !v.gone), closeAt, await peerNames(viewers, broadcaster))) t.diagnostic(line);

  // A relay's browser is killed: the viewers below it see at most a short freeze.
  tree = await settled(t, broadcaster, viewers, 9);
  peers = await byId();
  const crasher = interiorRelay(tree, 2) ?? interiorRelay(tree, 1);
  assert.ok(crasher, 'the tree still has an interior relay');
  const belowCrash = descendants(tree, crasher.id).map((id) => peers.get(id));
  t.diagnostic(`tree before the crash: ${treeLine(tree, await peerNames(viewers, broadcaster))}`);
  await healthy(viewers.filter((v) => !v.gone));
  const killAt = Date.now();
  const crashing = peers.get(crasher.id);
  crashing.gone = true;
  crashing.kill();
  const crashStarts = {};
  const crashGaps = await gapsAfter(belowCrash, killAt, 6000, crashStarts);
  const crashOthers = await gapsBetween(viewers.filter((v) => !v.gone && !belowCrash.includes(v)), killAt, killAt + 6000);
  t.diagnostic(`crash of ${crashing.name} (depth ${crasher.depth}): largest gaps below it ${JSON.stringify(crashGaps)}; elsewhere ${JSON.stringify(crashOthers)}`);
  const failedBefore = failures.length;
  for (const [name, gap] of Object.entries(crashGaps)) if (gap > 1500) failures.push(`${name} froze ${gap} ms after a relay crash`);
  if (failures.length > failedBefore) t.diagnostic(`those gaps began at (ms after the kill) ${JSON.stringify(crashStarts)}`);
  if (failures.length > failedBefore) for (const line of await commandLog(viewers.filter((v) => !v.gone), killAt, await peerNames(viewers, broadcaster))) t.diagnostic(line);

  // The broadcaster reloads its page: everyone plays again; only its own edges are rebuilt.
  tree = await settled(t, broadcaster, viewers, 8);
  const alive = viewers.filter((v) => !v.gone);
  await healthy(alive);
  const before = new Map(await Promise.all(alive.map(async (v) => [v.name, await v.stats()])));
  const reloadAt = Date.now();
  await broadcaster.page.reload();
  await waitFor('the broadcast to resume', async () => (await broadcaster.stats()).broadcasting);
  await waitFor('every viewer to present frames again', async () => {
    for (const v of alive) {
      const seen = await frameSummary(await v.player(), reloadAt + 500, Date.now());
      if (seen.frames < 5) return false;
    }
    return true;
  }, { timeout: 30000 });
  const recoveredMs = Date.now() - reloadAt;
  const after = new Map(await Promise.all(alive.map(async (v) => [v.name, await v.stats()])));
  const rebuilt = alive.filter((v) => after.get(v.name).callsAccepted > before.get(v.name).callsAccepted);
  const rootEdges = new Set(tree.nodes.filter((n) => n.parent === tree.broadcaster || n.standby === tree.broadcaster).map((n) => n.id));
  t.diagnostic(`broadcaster reload: all playing within ${recoveredMs} ms; viewers with a new parent edge: ${rebuilt.map((v) => v.name).join(', ') || 'none'}`);
  const failedBeforeReload = failures.length;
  for (const v of rebuilt) {
    if (!rootEdges.has(before.get(v.name).peerId)) failures.push(`${v.name} rebuilt an edge though the broadcaster was not its parent or standby`);
  }
  const relayedBefore = alive.reduce((n, v) => n + before.get(v.name).callsMade, 0);
  const relayedAfter = alive.reduce((n, v) => n + after.get(v.name).callsMade, 0);
  if (relayedAfter !== relayedBefore) failures.push(`viewers opened ${relayedAfter - relayedBefore} new edges to their children after the reload`);
  if (failures.length > failedBeforeReload) {
    t.diagnostic(`tree before the reload: ${treeLine(tree, await peerNames(alive, broadcaster))}`);
    for (const line of await commandLog(alive, reloadAt, await peerNames(alive, broadcaster))) t.diagnostic(line);
  }
  await broadcaster.page.screenshot({ path: 'tests/artifacts/relay-broadcaster.png' });
  await alive.at(-1).page.screenshot({ path: 'tests/artifacts/relay-viewer.png' });
  assert.deepEqual(failures, []);
});
