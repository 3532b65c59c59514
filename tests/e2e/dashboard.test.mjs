// The streamer's relay dashboard in real Chromium (one browser per peer, real PeerServer): with
// eight relaying viewers it draws nine nodes and exactly the tree's primary and standby edges,
// every viewer coloured by the health it reported up the tree; after a relay's browser is
// killed, the log shows the loss and its repair (with the stall the viewers reported) and the
// tree redraws. Screenshots: tests/artifacts/dashboard*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startSession } from '../harness/session.mjs';
import { waitFor } from '../harness/browsers.mjs';
import { interiorRelay, readTree, settledTree } from '../harness/tree.mjs';

const ART = 'tests/artifacts';
const VIEWERS = 8;

/**
 * What the dashboard draws: the nodes (id, health) and edges of the scene its worker painted on
 * the canvas (the same objects the painter draws from).
 */
async function drawn(page) {
  return page.evaluate(() => {
    const d = window.treecastDashboard?.drawn?.() ?? { nodes: [], primary: [], standby: [] };
    return { ...d, updates: Number(document.documentElement.dataset.updates ?? 0) };
  });
}

/** Clicks "Relay dashboard" in the popup of the streamer's watch page tab; returns the tab it opens. */
async function openFromPopup(peer) {
  const index = peer.context.pages().indexOf(peer.page);
  const popup = await peer.context.newPage();
  await popup.goto(`${peer.origin}/options/options.html`);
  const tabId = await popup.evaluate(async (i) => (await chrome.tabs.query({ currentWindow: true })).find((t) => t.index === i).id, index);
  await popup.goto(`${peer.origin}/popup/popup.html?tab=${tabId}`);
  await popup.waitForSelector('#streamer:not([hidden]) #dashboard');
  const [dashboard] = await Promise.all([peer.context.waitForEvent('page'), popup.click('#dashboard')]);
  await dashboard.waitForURL((u) => u.href.startsWith(`${peer.origin}/dashboard/dashboard.html?`));
  await popup.close().catch(() => {});
  return dashboard;
}

function edgesOf(tree) {
  return {
    primary: tree.nodes.map((n) => `${n.parent}>${n.id}`).sort(),
    standby: tree.nodes.filter((n) => n.standby).map((n) => `${n.standby}>${n.id}`).sort(),
  };
}

/** Waits until the dashboard draws exactly the broadcaster's current tree. */
async function drawsTheTree(dashboard, broadcaster, count, what) {
  return waitFor(what, async () => {
    const tree = await readTree(broadcaster);
    const seen = await drawn(dashboard);
    const want = edgesOf(tree);
    const ok = tree.nodes.length === count && seen.nodes.length === count + 1
      && JSON.stringify(seen.primary) === JSON.stringify(want.primary)
      && JSON.stringify(seen.standby) === JSON.stringify(want.standby);
    return ok ? { tree, seen } : false;
  }, { timeout: 45000, interval: 500 });
}

async function logRows(dashboard) {
  return dashboard.evaluate(() => [...document.querySelectorAll('#log li')].map((li) => ({
    kind: li.dataset.kind, peer: li.dataset.peer, repair: li.classList.contains('repair'),
    text: li.textContent, stall: li.querySelector('.stall')?.dataset.level ?? null,
  })));
}

test('the dashboard draws the live tree, its health and its repairs', { timeout: 480000 }, async (t) => {
  const session = await startSession({ slots: 2 });
  t.after(() => session.close());
  const broadcaster = await session.broadcaster();
  const viewers = await session.audience(VIEWERS, { timeout: 90000 });
  await settledTree(broadcaster, VIEWERS, { timeout: 60000 }).catch(async (e) => {
    const tr = await readTree(broadcaster);
    t.diagnostic(`tree: ${JSON.stringify(tr?.nodes.map((n) => [n.id.slice(-6), n.depth, n.parent.slice(-6), n.standby?.slice(-6) ?? null, n.slots]))}`);
    throw e;
  });

  // The streamer opens the dashboard from the popup's button, in their own browser.
  const dashboard = await openFromPopup(broadcaster);
  await dashboard.setViewportSize({ width: 1440, height: 900 });
  assert.equal(new URL(dashboard.url()).searchParams.get('program'), session.program, 'the popup opens the dashboard of its page\'s program');
  let { tree, seen } = await drawsTheTree(dashboard, broadcaster, VIEWERS, `the dashboard to draw ${VIEWERS + 1} nodes and the tree's edges`);
  t.diagnostic(`drawn: ${seen.nodes.length} nodes, ${seen.primary.length} primary and ${seen.standby.length} standby edges`);
  assert.ok(seen.standby.length >= 1, 'standby edges are drawn');
  for (const n of seen.nodes) {
    assert.match(n.id, /^tc-(v-[0-9a-f]{24}|lv[0-9]+-[0-9a-f]{16})$/, 'only anonymous peer ids');
  }
  const text = await dashboard.evaluate(() => document.body.innerText);
  assert.ok(!/\bu(1001|20[0-9]{2})\b/.test(text), 'no Niconico nickname (the fixtures name users u<id>) on the page');

  // Health travels up the tree: every viewer, however deep, gets a colour from its own reports.
  seen = await waitFor('every viewer to be coloured by a health report', async () => {
    const s = await drawn(dashboard);
    const viewerNodes = s.nodes.filter((n) => n.health !== 'root');
    return viewerNodes.length === VIEWERS && viewerNodes.every((n) => n.health !== 'unknown') ? s : false;
  }, { timeout: 30000, interval: 500 });
  const deepest = Math.max(...tree.nodes.map((n) => n.depth));
  t.diagnostic(`health of the ${VIEWERS} viewers (depth up to ${deepest}): ${seen.nodes.filter((n) => n.health !== 'root').map((n) => n.health).join(' ')}`);
  const summary = await dashboard.evaluate(() => ({ viewers: document.getElementById('s-viewers').textContent, coverage: document.getElementById('s-coverage').textContent }));
  assert.equal(summary.viewers, String(VIEWERS));
  const joins = (await logRows(dashboard)).filter((r) => r.kind === 'join');
  assert.equal(joins.length, VIEWERS, 'one join per viewer in the log');
  await dashboard.screenshot({ path: `${ART}/dashboard.png` });

  // A relay's browser is killed.
  const relay = interiorRelay(tree, 2) ?? interiorRelay(tree, 1);
  assert.ok(relay, 'the tree has an interior relay');
  const peers = new Map(await Promise.all(viewers.map(async (v) => [(await v.stats()).peerId, v])));
  const victim = peers.get(relay.id);
  const killedAt = Date.now();
  victim.kill();
  t.diagnostic(`killed ${victim.name} (${relay.id}, depth ${relay.depth}, children ${relay.children.length})`);

  const rows = await waitFor('the log to show the loss and its repair, with the stall the viewers reported', async () => {
    const r = await logRows(dashboard);
    const loss = r.find((x) => x.kind === 'loss' && x.peer === relay.id);
    const repaired = r.some((x) => (x.kind === 'standby' || x.kind === 'move') && relay.children.includes(x.peer));
    return loss?.repair && loss.stall && repaired ? r : false;
  }, { timeout: 60000, interval: 500 });
  const loss = rows.find((x) => x.kind === 'loss' && x.peer === relay.id);
  t.diagnostic(`log after ${Date.now() - killedAt} ms: ${loss.text}`);
  for (const r of rows.filter((x) => x.kind === 'standby' || (x.kind === 'move' && relay.children.includes(x.peer)))) t.diagnostic(`  ${r.text}`);

  ({ tree, seen } = await drawsTheTree(dashboard, broadcaster, VIEWERS - 1, 'the tree to redraw without the lost relay'));
  assert.ok(!seen.nodes.some((n) => n.id === relay.id), 'the lost relay is gone from the drawing');
  await dashboard.click('#log li[data-kind="loss"]');
  await dashboard.screenshot({ path: `${ART}/dashboard-repaired.png` });

  // The level view and the JSON export.
  await dashboard.click('#mode-levels');
  const levels = await dashboard.evaluate(() => [...document.querySelectorAll('#levels .level-row[data-depth]')].map((r) => r.children[1].textContent));
  assert.equal(levels.reduce((a, b) => a + Number(b), 0), VIEWERS - 1, 'levels add up to the viewers');
  await dashboard.screenshot({ path: `${ART}/dashboard-levels.png` });
  const [download] = await Promise.all([dashboard.waitForEvent('download'), dashboard.click('#export')]);
  const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.equal(exported.format, 'treecast-relay-log');
  assert.ok(exported.events.some((e) => e.kind === 'loss' && e.peer === relay.id && e.stall?.reported >= 1), 'the export holds the loss with its stall');

  const cost = await dashboard.evaluate(() => window.treecastDashboard);
  t.diagnostic(`dashboard: ${cost.updates} updates, ${cost.meanMs.toFixed(1)} ms each here (max ${cost.maxMs.toFixed(1)}), ${cost.playerMs?.toFixed(2)} ms in the player frame per request`);
});
