// A standby edge in real Chromium: connected ahead of need with its senders parked (no media
// bytes, the track kept so that unparking sends at once), and taken over by its child the moment
// the child's parent leaves. Four viewers with two slots each give one viewer at depth 3 whose
// standby is another viewer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSession } from '../harness/session.mjs';
import { frameSummary, recordFrames, waitFor } from '../harness/browsers.mjs';
import { settledTree } from '../harness/tree.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The sending side of `from`'s edge to `child`: bytes sent so far and each sender's state. */
function downEdge(frame, child) {
  return frame.evaluate(async (child) => {
    const edge = window.treecast.node.driver.children.get(child);
    if (!edge?.pc) return null;
    let bytes = 0;
    let keyFrames = 0;
    (await edge.pc.getStats()).forEach((r) => {
      if (r.type !== 'outbound-rtp') return;
      bytes += r.bytesSent ?? 0;
      keyFrames += r.keyFramesEncoded ?? 0;
    });
    const senders = edge.pc.getSenders().map((s) => ({
      kind: s.track?.kind ?? null,
      active: (s.getParameters().encodings ?? []).some((e) => e.active !== false),
    }));
    return { open: edge.isOpen, bytes, keyFrames, senders };
  }, child);
}

/** When `text` first appears in a peer's driver log at or after `since` (wall clock), or null. */
function logTime(frame, text, since) {
  return frame.evaluate(([text, since]) => window.treecast.node.driver.log.find((e) => e.t >= since && e.text === text)?.t ?? null, [text, since]);
}

test('a standby edge sends nothing while parked and feeds its child at once when the parent leaves', { timeout: 240000 }, async (t) => {
  const session = await startSession({ slots: 2 });
  t.after(() => session.close());
  const broadcaster = await session.broadcaster();
  const viewers = await session.audience(4);
  for (const v of viewers) await recordFrames(await v.player());
  const tree = await settledTree(broadcaster, 4);
  const peers = new Map(await Promise.all(viewers.map(async (v) => [(await v.stats()).peerId, v])));
  const node = tree.nodes.find((n) => n.depth >= 3 && n.standby && n.standby !== tree.broadcaster);
  assert.ok(node, `a viewer backed by another viewer: ${JSON.stringify(tree.nodes)}`);
  const child = peers.get(node.id);
  const standby = peers.get(node.standby);
  const parent = peers.get(node.parent);
  const standbyFrame = await standby.player();

  // Parked: open, encodings off, tracks attached, and not one media byte over two seconds.
  const a = await downEdge(standbyFrame, node.id);
  await sleep(2000);
  const b = await downEdge(standbyFrame, node.id);
  t.diagnostic(`parked standby ${standby.name} -> ${child.name}: ${b.bytes - a.bytes} bytes in 2 s; senders ${JSON.stringify(b.senders)}`);
  assert.ok(b.open, 'the standby edge is open');
  assert.equal(b.bytes - a.bytes, 0, 'a parked standby sends no media');
  assert.ok(b.senders.every((s) => !s.active), 'parked senders are inactive');
  assert.ok(b.senders.every((s) => s.kind), 'parked senders keep their track, ready to send');

  // The parent closes its tab: the child takes its standby as parent and keeps playing.
  const closeAt = Date.now();
  await parent.closeTab();
  const childFrame = await child.player();
  await waitFor(`${child.name} to receive its standby's media`, () => logTime(childFrame, `media from ${node.standby}`, closeAt), { timeout: 15000 }).catch(async (err) => {
    for (const [name, frame] of [[child.name, childFrame], [standby.name, standbyFrame]]) {
      const log = await frame.evaluate(() => window.treecast.node.driver.log.slice(-40)).catch(() => []);
      t.diagnostic(`${name}'s log: ${log.map((e) => `${e.t - closeAt} ${e.text}`).join(' | ')}`);
    }
    throw err;
  });
  const c = await downEdge(standbyFrame, node.id); // null if the coordinator has moved the child already
  await sleep(3000);
  const gap = await frameSummary(childFrame, closeAt, closeAt + 3000);
  const unparked = await logTime(standbyFrame, `sending ${node.id} true`, closeAt);
  const firstMedia = await logTime(childFrame, `media from ${node.standby}`, closeAt);
  t.diagnostic(`${parent.name} left: ${standby.name} unparked ${unparked - closeAt} ms after the close, ${child.name} had its media ${firstMedia - closeAt} ms after; largest gap ${gap.maxGapMs} ms; key frames sent on the edge ${c ? c.keyFrames : 'edge gone'}`);
  assert.ok(unparked, 'the child activated its standby');
  // Every hop re-encodes, so a switch needs a key frame only where a sender starts: the unparked one.
  if (c) assert.ok(c.keyFrames >= 1, 'the unparked standby started with a key frame');
  assert.ok(gap.maxGapMs < 1500, `${child.name} froze ${gap.maxGapMs} ms`);
});

test('a child whose page is busy when its parent crashes still shows its standby\'s picture', { timeout: 240000 }, async (t) => {
  const session = await startSession({ slots: 2 });
  t.after(() => session.close());
  const broadcaster = await session.broadcaster();
  const viewers = await session.audience(4);
  const tree = await settledTree(broadcaster, 4);
  const peers = new Map(await Promise.all(viewers.map(async (v) => [(await v.stats()).peerId, v])));
  const node = tree.nodes.find((n) => n.depth >= 3 && n.standby && n.standby !== tree.broadcaster);
  assert.ok(node, `a viewer backed by another viewer: ${JSON.stringify(tree.nodes)}`);
  const child = peers.get(node.id);
  const childFrame = await child.player();
  await recordFrames(childFrame);
  await sleep(1000);
  // The moment the child asks its standby to send, its main thread is taken for a second (as a
  // new connection's setup or a busy page would): the page can neither see the standby's media
  // nor switch to it meanwhile, so any picture shown then went through the forwarder alone.
  await childFrame.evaluate(() => {
    const driver = window.treecast.node.driver;
    const anticipate = driver.anticipate.bind(driver);
    driver.anticipate = (peer, text) => {
      anticipate(peer, text);
      if (window.__busy || !text.includes('"t":"activate"')) return; // once: the first activation after the crash
      window.__busy = [];
      setTimeout(() => {
        const until = performance.now() + 1000;
        window.__busy.push(performance.timeOrigin + performance.now());
        while (performance.now() < until);
        window.__busy.push(performance.timeOrigin + performance.now());
      }, 0);
    };
  });
  // A crash, not a leave: a closing tab's media flows on for a while (up to a second here), which
  // would fill the busy second whatever the forwarder does.
  const closeAt = Date.now();
  peers.get(node.parent).kill();
  await waitFor(`${child.name}'s busy second to pass`, () => childFrame.evaluate(() => window.__busy?.length === 2), { timeout: 15000 });
  await sleep(500);
  const shown = await childFrame.evaluate(() => {
    const [from, to] = window.__busy;
    const log = window.__presented;
    const before = log.filter(([at]) => at <= from).at(-1);
    const after = log.find(([at]) => at >= to);
    return { from, busyMs: Math.round(to - from), before: before?.[1] ?? null, after: after?.[1] ?? null };
  });
  // Frames presented while the page was busy: the count went up with no callback to see them.
  assert.ok(shown.before !== null && shown.after !== null, `frames before and after the busy second: ${JSON.stringify(shown)}`);
  const duringBusy = shown.after - shown.before - 1;
  t.diagnostic(`${child.name} busy ${shown.busyMs} ms from its standby's activation: ${duringBusy} frames presented meanwhile (12 fps source)`);
  if (duringBusy < 4) {
    const log = await childFrame.evaluate((since) => window.treecast.node.driver.log.filter((e) => e.t >= since).map((e) => `${e.t - since} ${e.text}`), closeAt);
    t.diagnostic(`${child.name} after the crash (busy from ${Math.round(shown.from - closeAt)} ms): ${log.join(' | ')}`);
  }
  assert.ok(duringBusy >= 4, `${child.name} showed ${duringBusy} frames in its busy second`);
});
