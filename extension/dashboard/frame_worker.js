// The dashboard's heavy lifting, on a thread of its own. Every extension page of a browser
// profile shares one renderer main thread with the streamer's player frame, so anything the
// dashboard page does there delays the relay: parsing the broadcaster's frame, building the
// tree, folding it and laying it out happen here, and the page only applies the result.
import { buildTree, countClasses, levelsOf, nextCursor, DRAW_BUDGET } from './model.js';
import { buildScene } from './scene.js';
import { Painter } from './tree_paint.js';

const ui = { expanded: new Set(), collapsed: new Set(), standby: 'auto', selected: null, sourceFps: 0, budget: DRAW_BUDGET };
let frame = null;
let tree = null;
let painter = null; // paints the page's canvas here (OffscreenCanvas), when the browser can

/**
 * Builds the scene, paints it, and posts the page what it needs for hit-testing, tooltips and
 * keyboard navigation (no path strings: those stay here).
 */
function post(extra = {}) {
  const started = performance.now();
  const scene = tree ? buildScene(tree, ui) : null;
  painter?.setScene(scene);
  const forPage = scene && {
    ...scene,
    edges: scene.edges.map((e) => [e.from, e.to]),
    standbys: scene.standbys.map((e) => [e.from, e.to]),
    // Without a painter here, the page paints: it needs the paths.
    paths: painter ? null : { edges: scene.edges.map((e) => e.d), standbys: scene.standbys.map((e) => e.d) },
  };
  self.postMessage({ ...extra, scene: forPage, workerMs: performance.now() - started + (extra.workerMs ?? 0) });
}

/** Unfolds every ancestor of `id` (a viewer chosen in the log). */
function reveal(id) {
  for (let n = tree?.byId.get(id)?.parent; n; n = n.parent) {
    ui.expanded.add(n.id);
    ui.collapsed.delete(n.id);
  }
}

self.onmessage = ({ data }) => {
  switch (data.type) {
    case 'frame': {
      const started = performance.now();
      frame = JSON.parse(data.text);
      ui.sourceFps = Number(data.sourceFps) || 0;
      tree = Array.isArray(frame.nodes) ? buildTree(frame) : null;
      // Forget choices about viewers that are gone (bounded on long broadcasts).
      for (const set of [ui.expanded, ui.collapsed]) for (const id of set) if (!tree?.byId.has(id)) set.delete(id);
      const { nodes, events, ...rest } = frame;
      rest.levels = levelsOf(frame, tree, ui.sourceFps);
      post({
        type: 'frame',
        frame: rest, // epoch, at_ms, summary, levels, next_seq, first_seq, broadcaster
        events,
        hasNodes: !!tree,
        counts: tree ? countClasses(tree.nodes, ui.sourceFps) : null,
        cursor: nextCursor(frame, frame.at_ms),
        workerMs: performance.now() - started,
      });
      break;
    }
    case 'toggle': {
      const n = tree?.byId.get(data.id);
      if (n && n.children.length) {
        if (data.folded) { ui.expanded.add(n.id); ui.collapsed.delete(n.id); } else { ui.collapsed.add(n.id); ui.expanded.delete(n.id); }
      }
      post({ type: 'scene' });
      break;
    }
    case 'reveal':
      ui.selected = data.id;
      painter?.set({ selected: ui.selected });
      reveal(data.id);
      post({ type: 'scene', revealed: data.id });
      break;
    case 'standby':
      ui.standby = ['all', 'auto', 'none'].includes(data.mode) ? data.mode : 'auto';
      post({ type: 'scene' });
      break;
    case 'select':
      ui.selected = typeof data.id === 'string' ? data.id : null;
      painter?.set({ selected: ui.selected });
      if (ui.standby === 'auto') post({ type: 'scene' });
      break;
    case 'canvas':
      painter = new Painter(data.canvas);
      painter.set({ size: data.size, palette: data.palette, labels: data.labels });
      if (tree) post({ type: 'scene' });
      break;
    case 'paint': // view, size, palette, focus: whatever changed
      painter?.set(data.patch);
      break;
    case 'clear':
      frame = null;
      tree = null;
      painter?.setScene(null);
      break;
    case 'stats':
      self.postMessage({ type: 'stats', frames: painter?.frames ?? 0, paintMs: painter?.paintMs ?? 0 });
      break;
    default:
      break;
  }
};
