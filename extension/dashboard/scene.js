// What the tree view draws, computed away from the page's main thread (frame_worker.js): the
// visible nodes with their place, colour and tooltip figures, and the edges as ready SVG paths.
// The main thread then only updates the elements that changed. Pure: unit-tested too.
import { chooseVisible, healthClass, isStale, layout, shortId } from './model.js';

export const R_ROOT = 14;
/** Above this many drawn nodes, standby links are drawn only around the selected viewer. */
export const STANDBY_ALL_MAX = 120;
export const RING = 13; // capacity ring around a viewer's dot
const RING_LENGTH = 2 * Math.PI * RING;

const round = (v) => Math.round(v * 10) / 10;

/** A primary edge: from below the parent to above the child. */
function primaryPath(a, b, fromRoot) {
  const ya = a.y + (fromRoot ? R_ROOT : RING);
  const yb = b.y - RING;
  const my = round((ya + yb) / 2);
  return `M${a.x},${ya}C${a.x},${my} ${b.x},${my} ${b.x},${yb}`;
}

/** A standby edge: bowed sideways so that it never hides a primary edge. */
function standbyPath(a, b) {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len = Math.hypot(dx, dy) || 1;
  const bow = Math.min(60, len * 0.25);
  const cx = round((a.x + b.x) / 2 - (dy / len) * bow);
  const cy = round((a.y + b.y) / 2 + (dx / len) * bow);
  return `M${a.x},${a.y}Q${cx},${cy} ${b.x},${b.y}`;
}

/**
 * The drawing of `tree` (from model.buildTree) for the UI state `ui` = { expanded, collapsed,
 * standby: 'all' | 'auto' | 'none', selected, sourceFps, budget }. In 'auto', every standby link
 * is drawn while the drawing is small, else those of the selected viewer and of its children.
 */
export function buildScene(tree, ui) {
  const { visible, folded, depthLimit } = chooseVisible(tree, ui);
  const visibleSet = new Set(visible);
  const { pos } = layout(tree, visibleSet);
  const root = tree.root.id;
  let minX = Infinity; let maxX = -Infinity; let maxY = 0;
  const nodes = visible.map((n) => {
    const p = pos.get(n);
    minX = Math.min(minX, p.x);
    maxX = Math.max(maxX, p.x);
    maxY = Math.max(maxY, p.y);
    const used = n.used;
    return {
      id: n.id,
      x: p.x,
      y: p.y,
      root: !!n.root,
      health: n.root ? 'root' : healthClass(n.health, ui.sourceFps),
      stale: !n.root && isStale(n.health),
      label: n.root ? '' : shortId(n.id, root),
      ring: n.slots > 0 ? `${round(Math.min(used / n.slots, 1) * RING_LENGTH)} ${round(RING_LENGTH)}` : `0 ${round(RING_LENGTH)}`,
      over: used > n.slots,
      relays: n.slots > 0,
      children: n.children.length,
      folded: folded.get(n) ?? 0,
      // Tooltip figures: depth, viewers below, parent, standby, latest health, children fed, capacity.
      depth: n.depth,
      below: n.subtree - 1,
      parent: n.parent ? shortId(n.parent.id, root) : null,
      parentIsRoot: !!n.parent?.root,
      standby: n.standby ? shortId(n.standby.id, root) : null,
      standbyIsRoot: !!n.standby?.root,
      figures: n.health,
      used,
      slots: n.slots,
    };
  });
  const edges = [];
  const standbys = [];
  const mode = ui.standby ?? 'auto';
  const all = mode === 'all' || (mode === 'auto' && visible.length <= STANDBY_ALL_MAX);
  const near = (n) => ui.selected != null && (n.id === ui.selected || n.parent?.id === ui.selected || n.standby?.id === ui.selected);
  for (const n of visible) {
    if (n.parent && visibleSet.has(n.parent)) {
      edges.push({ from: n.parent.id, to: n.id, d: primaryPath(pos.get(n.parent), pos.get(n), n.parent.root) });
    }
    if (mode !== 'none' && (all || near(n)) && n.standby && visibleSet.has(n.standby)) {
      standbys.push({ from: n.standby.id, to: n.id, d: standbyPath(pos.get(n.standby), pos.get(n)) });
    }
  }
  const hidden = [...folded.values()].reduce((a, b) => a + b, 0);
  return {
    nodes,
    edges,
    standbys,
    bounds: { minX: Number.isFinite(minX) ? minX : 0, maxX: Number.isFinite(maxX) ? maxX : 0, minY: -R_ROOT, maxY: maxY + 30 },
    hidden,
    depthLimit: Number.isFinite(depthLimit) ? depthLimit : null,
    allStandbys: all && mode !== 'none',
  };
}
