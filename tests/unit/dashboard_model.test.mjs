// The relay dashboard's pure logic: the frame as a tree, health classes, folding deep levels,
// the layout, and the log's merging and filtering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildTree, chooseVisible, emptyLog, filterEvents, healthClass, isRepair, layout, mergeEvents, nextCursor, shortId,
} from '../../extension/dashboard/model.js';

const B = 'tc-lv1-0011223344556677';

/** A frame with a complete binary tree of `n` viewers (row i's parent is row (i-1)/2, row 0 under the broadcaster). */
function binaryFrame(n, health = null) {
  const nodes = [];
  for (let i = 0; i < n; i++) {
    const parent = i === 0 ? -1 : Math.floor((i - 1) / 2);
    const depth = Math.floor(Math.log2(i + 1)) + 1;
    const standby = depth >= 2 ? -1 : null;
    nodes.push([`tc-v-${String(i).padStart(24, '0')}`, parent, standby, depth, 2, 0, 1, health]);
  }
  // children and subtree sizes
  for (let i = n - 1; i > 0; i--) {
    const p = nodes[i][1];
    nodes[p][5] += 1;
    nodes[p][6] += nodes[i][6];
  }
  return { broadcaster: B, epoch: 1, nodes, events: [], next_seq: 1 };
}

test('a frame becomes a tree rooted at the broadcaster, with standbys resolved', () => {
  const frame = { broadcaster: B, nodes: [['a', -1, null, 1, 2, 2, 3, null], ['b', 0, -1, 2, 2, 0, 1, [30, 40, 0, 0, 500, 0]], ['c', 0, 1, 2, 0, 0, 1, null]] };
  const tree = buildTree(frame);
  assert.equal(tree.nodes.length, 4);
  assert.equal(tree.root.id, B);
  assert.deepEqual(tree.root.children.map((n) => n.id), ['a']);
  assert.deepEqual(tree.byId.get('a').children.map((n) => n.id), ['b', 'c']);
  assert.equal(tree.byId.get('b').standby, tree.root);
  assert.equal(tree.byId.get('c').standby, tree.byId.get('b'));
  assert.equal(tree.byId.get('a').standby, null);
  assert.deepEqual(tree.byId.get('b').health, [30, 40, 0, 0, 500, 0]);
  // Hostile or broken indices never throw: such a node hangs under the broadcaster.
  const odd = buildTree({ broadcaster: B, nodes: [['x', 99, 'y', 1, 0, 0, 1, 'bad']] });
  assert.equal(odd.byId.get('x').parent, odd.root);
  assert.equal(odd.byId.get('x').health, null);
});

test('health classes: frozen, stalled, slow against the source, smooth, unknown', () => {
  assert.equal(healthClass(null), 'unknown');
  assert.equal(healthClass([30, 40, 0, 0, 0, 0], 30), 'ok');
  assert.equal(healthClass([0, 40, 0, 0, 0, 0], 30), 'bad');
  assert.equal(healthClass([30, 1500, 1, 0, 0, 1500], 30), 'bad');
  assert.equal(healthClass([30, 300, 1, 0, 0, 300], 30), 'warn');
  assert.equal(healthClass([30, 40, 0, 0, 0, 900], 30), 'warn', 'a stall in the last 30 s');
  assert.equal(healthClass([22, 60, 0, 0, 0, 0], 30), 'warn');
  assert.equal(healthClass([12, 90, 0, 0, 0, 0], 30), 'bad');
  assert.equal(healthClass([12, 90, 0, 0, 0, 0], 12), 'ok', 'judged against the source rate');
});

test('deep levels are folded to stay within the drawing budget; the user can unfold', () => {
  const tree = buildTree(binaryFrame(1000));
  const all = chooseVisible(tree, { budget: 5000 });
  assert.equal(all.visible.length, 1001);
  assert.equal(all.folded.size, 0);
  const some = chooseVisible(tree, { budget: 300 });
  assert.ok(some.visible.length <= 301, `${some.visible.length} drawn`);
  assert.equal(some.depthLimit, 8);
  const hidden = [...some.folded.values()].reduce((a, b) => a + b, 0);
  assert.equal(some.visible.length + hidden, 1001, 'every viewer is drawn or counted in a fold');
  const deep = [...some.folded.keys()][0];
  const unfolded = chooseVisible(tree, { budget: 300, expanded: new Set([deep.id]) });
  assert.ok(unfolded.visible.includes(deep.children[0]));
  const closed = chooseVisible(tree, { budget: 5000, collapsed: new Set([tree.root.children[0].id]) });
  assert.equal(closed.visible.length, 2);
  assert.equal(closed.folded.get(tree.root.children[0]), 999);
});

test('the layout centres parents over their children and never stacks two nodes', () => {
  const tree = buildTree(binaryFrame(63));
  const { visible } = chooseVisible(tree, { budget: 1000 });
  const { pos, width, height } = layout(tree, new Set(visible), { gapX: 30, gapY: 80 });
  assert.equal(pos.size, 64);
  for (const n of visible) {
    const p = pos.get(n);
    assert.equal(p.y, n.depth * 80);
    if (n.children.length) {
      const xs = n.children.map((c) => pos.get(c).x);
      assert.equal(p.x, (Math.min(...xs) + Math.max(...xs)) / 2);
    }
  }
  const spots = new Set([...pos.values()].map((p) => `${p.x},${p.y}`));
  assert.equal(spots.size, 64);
  assert.equal(width, 31 * 30);
  assert.equal(height, 6 * 80);
});

test('folding and layout of 10,000 viewers take little time', () => {
  const tree = buildTree(binaryFrame(10000));
  const started = performance.now();
  const { visible } = chooseVisible(tree);
  layout(tree, new Set(visible));
  const ms = performance.now() - started;
  assert.ok(visible.length <= 301);
  assert.ok(ms < 200, `${ms} ms`);
});

test('the log merges updates in place, survives a reload and keeps the newest entries', () => {
  const log = emptyLog();
  const loss = { seq: 3, at_ms: 1000, kind: 'loss', peer: 'a', stall: { viewers: 2, reported: 0, max_gap_ms: 0 } };
  mergeEvents(log, { epoch: 5, events: [{ seq: 1, at_ms: 900, kind: 'join', peer: 'a' }, loss] });
  mergeEvents(log, { epoch: 5, events: [{ ...loss, stall: { viewers: 2, reported: 2, max_gap_ms: 640 } }] });
  assert.equal(log.items.length, 2);
  assert.equal(log.items[1].stall.max_gap_ms, 640);
  // After a broadcaster reload its new session numbers events from 1 again.
  mergeEvents(log, { epoch: 6, events: [{ seq: 1, at_ms: 2000, kind: 'reload', below: 8 }] });
  assert.deepEqual(log.items.map((e) => e.key), ['5:1', '5:3', '6:1']);
  for (let i = 2; i < 30; i++) mergeEvents(log, { epoch: 6, events: [{ seq: i, at_ms: 2000 + i, kind: 'move', peer: 'b' }] }, 10);
  assert.equal(log.items.length, 10);
  assert.equal(log.items.at(-1).seq, 29);
  mergeEvents(log, { epoch: 6, events: [{ seq: 29, at_ms: 5, kind: 'move', peer: 'c' }] }, 10);
  assert.equal(log.items.at(-1).peer, 'c', 'an update still finds its entry after trimming');
});

test('the cursor re-asks for repairs whose stall reports may still come in', () => {
  const frame = { next_seq: 10, events: [{ seq: 7, at_ms: 1000, kind: 'join' }, { seq: 8, at_ms: 1000, kind: 'loss', stall: { viewers: 1, reported: 0, max_gap_ms: 0 } }] };
  assert.equal(nextCursor(frame, 2000), 8);
  assert.equal(nextCursor(frame, 1000 + 20000), 10);
  assert.equal(nextCursor({ next_seq: 4, events: [] }, 0), 4);
});

test('the log filters by kind, by repairs and by id', () => {
  const events = [
    { kind: 'join', peer: 'tc-v-aa' },
    { kind: 'loss', peer: 'tc-v-bb', stall: { viewers: 2 } },
    { kind: 'loss', peer: 'tc-v-cc', stall: { viewers: 0 } },
    { kind: 'standby', peer: 'tc-v-dd', from: 'tc-v-bb' },
    { kind: 'move', peer: 'tc-v-ee', to: 'tc-v-bb' },
  ];
  assert.equal(filterEvents(events, { kinds: new Set(['loss']) }).length, 2);
  assert.deepEqual(filterEvents(events, { repairsOnly: true }).map((e) => e.peer), ['tc-v-bb', 'tc-v-dd']);
  assert.deepEqual(filterEvents(events, { text: 'BB' }).map((e) => e.kind), ['loss', 'standby', 'move']);
  assert.ok(isRepair(events[1]) && !isRepair(events[2]) && !isRepair(events[0]));
});

test('ids are shown short and never as anything but the anonymous id', () => {
  assert.equal(shortId('tc-v-0123456789abcdef01234567', B), '234567');
  assert.equal(shortId(B, B), '★');
  assert.equal(shortId('some-other-long-id-123', B), '…g-id-123');
  assert.equal(shortId(undefined, B), '?');
});

test('the scene: one primary edge per drawn child, standby edges on request, folds counted', async () => {
  const { buildScene } = await import('../../extension/dashboard/scene.js');
  const frame = binaryFrame(1000, [12, 90, 0, 0, 1000, 0]);
  const tree = buildTree(frame);
  const ui = { expanded: new Set(), collapsed: new Set(), standby: 'all', sourceFps: 12, budget: 300 };
  const scene = buildScene(tree, ui);
  assert.equal(scene.edges.length, scene.nodes.length - 1);
  assert.ok(scene.standbys.length > 0);
  assert.equal(scene.nodes.length + scene.hidden, 1001);
  assert.ok(scene.nodes.filter((n) => !n.root).every((n) => n.health === 'ok'));
  const root = scene.nodes.find((n) => n.root);
  assert.equal(root.below, 1000);
  for (const e of scene.edges) assert.match(e.d, /^M[-\d.]+,[-\d.]+C/);
  const plain = buildScene(tree, { ...ui, standby: 'none' });
  assert.equal(plain.standbys.length, 0);
  assert.equal(plain.edges.length, scene.edges.length);
});

test('standby links: all while the drawing is small, else around the selected viewer', async () => {
  const { buildScene, STANDBY_ALL_MAX } = await import('../../extension/dashboard/scene.js');
  const small = buildTree(binaryFrame(50));
  const ui = { expanded: new Set(), collapsed: new Set(), standby: 'auto', selected: null, sourceFps: 12, budget: 300 };
  assert.equal(buildScene(small, ui).standbys.length, 50 - 1);
  const big = buildTree(binaryFrame(STANDBY_ALL_MAX * 2));
  assert.equal(buildScene(big, ui).standbys.length, 0);
  const picked = big.nodes[5];
  const around = buildScene(big, { ...ui, selected: picked.id }).standbys;
  assert.ok(around.length >= 1 && around.every((e) => [e.from, e.to].includes(picked.id) || big.byId.get(e.to).parent === picked));
  assert.equal(buildScene(big, { ...ui, standby: 'all' }).standbys.length, STANDBY_ALL_MAX * 2 - 1);
});

test('levels count health as the tree colours its nodes when every viewer is listed', async () => {
  const { levelsOf } = await import('../../extension/dashboard/model.js');
  const frame = binaryFrame(3, [12, 90, 0, 0, 100, 900]); // all recently stalled
  frame.levels = [{ depth: 1, viewers: 1, ok: 1, warn: 0, bad: 0, fps_sum: 12 }, { depth: 2, viewers: 2, ok: 2, warn: 0, bad: 0, fps_sum: 24 }];
  const tree = buildTree(frame);
  const levels = levelsOf(frame, tree, 12);
  assert.deepEqual(levels.map((l) => [l.ok, l.warn, l.bad]), [[0, 1, 0], [0, 2, 0]]);
  assert.equal(levelsOf(frame, null, 12)[1].ok, 2, 'without the nodes, the relays\' sums');
});
