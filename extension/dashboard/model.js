// The dashboard's pure logic (no DOM): the broadcaster's frame as a tree, health at a glance,
// which nodes to draw (deep levels folded so the drawing stays readable and cheap), where to
// draw them, and the log's filtering. Unit-tested in tests/unit/dashboard_model.test.mjs.

/** Health classes, worst last. */
export const CLASSES = ['ok', 'warn', 'bad', 'unknown'];

/** A gap between frames longer than this is a stall (as the players count them). */
export const STALL_MS = 200;
export const FROZEN_MS = 1000;
/** Figures older than this are drawn faded (they may no longer be true). */
export const STALE_MS = 30000;
/** Nodes drawn before deeper levels are folded (the rest is one click away). */
export const DRAW_BUDGET = 300;

/**
 * The tree of one frame. Node 0 is the broadcaster; each viewer row of the frame is
 * `[id, parent, standby, depth, slots, children, subtree, health]` with parent/standby as
 * indices into the rows (-1: the broadcaster).
 */
export function buildTree(frame) {
  const rows = Array.isArray(frame?.nodes) ? frame.nodes : [];
  const root = { id: frame?.broadcaster ?? '', index: 0, depth: 0, parent: null, standby: null, slots: 0, used: 0, subtree: rows.length + 1, health: null, children: [], root: true };
  const nodes = [root];
  for (const r of rows) {
    nodes.push({ id: String(r[0]), index: nodes.length, depth: r[3] | 0, slots: r[4] | 0, used: r[5] | 0, subtree: r[6] | 0, health: Array.isArray(r[7]) ? r[7] : null, parent: null, standby: null, children: [] });
  }
  const at = (i) => (Number.isInteger(i) && i >= -1 && i < rows.length ? nodes[i + 1] : null);
  rows.forEach((r, i) => {
    const n = nodes[i + 1];
    n.parent = at(r[1]) ?? root;
    n.standby = r[2] === null ? null : at(r[2]);
    n.parent.children.push(n);
  });
  for (const n of nodes) n.children.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  return { root, nodes, byId };
}

/**
 * A viewer's health from its latest figures `[fps, gap_ms, stalls, used, age_ms, peak_ms]`,
 * judged against the source's frame rate when known.
 */
export function healthClass(h, sourceFps = 0) {
  if (!Array.isArray(h)) return 'unknown';
  const [fps, gap, stalls, , , peak] = h;
  if (fps === 0 || gap >= FROZEN_MS) return 'bad';
  if (sourceFps > 0 && fps < sourceFps * 0.5) return 'bad';
  if (gap > STALL_MS || stalls > 0 || peak > STALL_MS) return 'warn';
  if (sourceFps > 0 && fps < sourceFps * 0.8) return 'warn';
  return 'ok';
}

export const isStale = (h) => Array.isArray(h) && h[4] > STALE_MS;

/**
 * Which nodes to draw. Levels are shown while the count stays within `budget`; a node below
 * that depth is folded into its ancestor. `expanded` / `collapsed` (sets of ids) are the
 * user's own choices and win. Returns { visible: node[], folded: Map(node -> hidden count), depthLimit }.
 */
export function chooseVisible(tree, { budget = DRAW_BUDGET, expanded = new Set(), collapsed = new Set() } = {}) {
  const perDepth = [];
  for (const n of tree.nodes) perDepth[n.depth] = (perDepth[n.depth] ?? 0) + 1;
  let depthLimit = Infinity;
  let total = 0;
  for (let d = 0; d < perDepth.length; d++) {
    total += perDepth[d] ?? 0;
    if (total > budget && d > 1) { depthLimit = d - 1; break; }
  }
  const visible = [];
  const folded = new Map();
  const stack = [tree.root];
  while (stack.length) {
    const n = stack.pop();
    visible.push(n);
    if (!n.children.length) continue;
    const fold = collapsed.has(n.id) || (n.depth >= depthLimit && !expanded.has(n.id));
    if (fold) {
      folded.set(n, n.subtree - 1);
      continue;
    }
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
  }
  return { visible, folded, depthLimit };
}

/**
 * A top-down tidy layout of the visible tree: leaves side by side in order, each parent centred
 * over its children. Returns Map(node -> {x, y}) and the drawing's size.
 */
export function layout(tree, visibleSet, { gapX = 54, gapY = 84 } = {}) {
  const pos = new Map();
  let nextX = 0;
  let maxDepth = 0;
  // Post-order without recursion (trees can be deep).
  const stack = [[tree.root, false]];
  while (stack.length) {
    const [n, done] = stack.pop();
    const kids = n.children.filter((c) => visibleSet.has(c));
    if (!done && kids.length) {
      stack.push([n, true]);
      for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], false]);
      continue;
    }
    let x;
    if (kids.length) x = (pos.get(kids[0]).x + pos.get(kids[kids.length - 1]).x) / 2;
    else { x = nextX; nextX += gapX; }
    pos.set(n, { x, y: n.depth * gapY });
    maxDepth = Math.max(maxDepth, n.depth);
  }
  return { pos, width: Math.max(nextX - gapX, 0), height: maxDepth * gapY };
}

/** Health counts of a set of nodes (viewers only). */
export function countClasses(nodes, sourceFps) {
  const counts = { ok: 0, warn: 0, bad: 0, unknown: 0 };
  for (const n of nodes) if (!n.root) counts[healthClass(n.health, sourceFps)]++;
  return counts;
}

/**
 * The frame's levels with their health counted as the tree colours its nodes (when every viewer
 * is listed), so that the level view and the drawing agree; else as the relays summed them up.
 */
export function levelsOf(frame, tree, sourceFps) {
  const levels = (frame?.levels ?? []).map((l) => ({ ...l }));
  if (!tree) return levels;
  for (const l of levels) Object.assign(l, { ok: 0, warn: 0, bad: 0, fps_sum: 0 });
  for (const n of tree.nodes) {
    const l = levels[n.depth - 1];
    if (n.root || !l) continue;
    const c = healthClass(n.health, sourceFps);
    if (c === 'unknown') continue;
    l[c]++;
    l.fps_sum += n.health[0];
  }
  return levels;
}

/** A short, readable form of an anonymous peer id (viewer ids: the last 6 hex digits). */
export function shortId(id, broadcaster) {
  if (!id) return '?';
  if (id === broadcaster) return '★';
  const m = /^tc-v-([0-9a-f]+)$/.exec(id);
  return m ? m[1].slice(-6) : id.length > 10 ? `…${id.slice(-8)}` : id;
}

export const EVENT_KINDS = ['join', 'leave', 'loss', 'standby', 'move', 'reload'];

/** Whether a log entry counts as a repair: a departure that cost viewers their upstream, or a switch to a standby. */
export function isRepair(e) {
  if (e.kind === 'standby') return true;
  return (e.kind === 'leave' || e.kind === 'loss') && (e.stall?.viewers ?? 0) > 0;
}

/** Log entries passing the filter: `kinds` (a set), `repairsOnly`, `text` (matched against ids). */
export function filterEvents(events, { kinds, repairsOnly = false, text = '' } = {}) {
  const needle = text.trim().toLowerCase();
  return events.filter((e) => (!kinds || kinds.has(e.kind))
    && (!repairsOnly || isRepair(e))
    && (!needle || [e.peer, e.from, e.to].some((id) => typeof id === 'string' && id.toLowerCase().includes(needle))));
}

/**
 * Merges a frame's events into the dashboard's own log (kept across broadcaster reloads, whose
 * new session numbers its events from 1 again). Entries get a `key` unique across sessions.
 * Returns the log, trimmed to `limit` newest entries.
 */
export function mergeEvents(log, frame, limit = 5000) {
  const epoch = frame?.epoch ?? 0;
  for (const e of frame?.events ?? []) {
    const key = `${epoch}:${e.seq}`;
    const i = log.index.get(key);
    const entry = { ...e, epoch, key };
    if (i === undefined) {
      log.index.set(key, log.items.length + log.offset);
      log.items.push(entry);
    } else {
      log.items[i - log.offset] = entry; // updated (a repair's stall reports came in)
    }
  }
  if (log.items.length > limit) {
    const drop = log.items.length - limit;
    for (const e of log.items.slice(0, drop)) log.index.delete(e.key);
    log.items.splice(0, drop);
    log.offset += drop;
  }
  return log;
}

export function emptyLog() {
  return { items: [], index: new Map(), offset: 0 };
}

/**
 * Where to ask from next: events already held are asked again while they may still change
 * (a repair's stall reports come in for STALL_WINDOW_MS after it), otherwise from the end.
 */
export function nextCursor(frame, nowMs, windowMs = 16000) {
  const events = frame?.events ?? [];
  const open = events.find((e) => e.stall && nowMs - e.at_ms < windowMs);
  return open ? open.seq : frame?.next_seq ?? 0;
}
