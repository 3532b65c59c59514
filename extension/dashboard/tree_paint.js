// Paints a scene (scene.js) on a 2D canvas context. It runs in the dashboard's worker on an
// OffscreenCanvas, so drawing the tree costs the page's main thread (the relay's) nothing; in a
// browser without OffscreenCanvas the page runs it itself.
import { R_ROOT, RING } from './scene.js';

const R = 9; // a viewer's dot
const TAU = 2 * Math.PI;
const LABEL_MIN_ZOOM = 0.55; // smaller labels cannot be read: not drawn

/** Path2D objects for a scene's edges, made once per scene. */
function pathOf(edge) {
  if (!edge.path) edge.path = new Path2D(edge.d);
  return edge.path;
}

/**
 * `view` = {k, x, y} (zoom and pan), `size` = {width, height, dpr}, `palette` = colours by name,
 * `labels` = {you}, `focus` / `selected` = ids to highlight.
 */
export function paint(ctx, scene, { view, size, palette, labels, focus, selected }) {
  const { width, height, dpr } = size;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, width * dpr, height * dpr);
  if (!scene) return;
  const k = view.k;
  ctx.setTransform(dpr * k, 0, 0, dpr * k, dpr * view.x, dpr * view.y);
  const near = (e) => e.from === selected || e.to === selected || e.from === focus || e.to === focus;

  // Standby links: dashed, faint, under everything.
  ctx.lineCap = 'round';
  ctx.setLineDash([4, 4]);
  ctx.strokeStyle = palette.standby;
  for (const e of scene.standbys) {
    const on = near(e);
    ctx.globalAlpha = on ? 1 : 0.55;
    ctx.lineWidth = on ? 2.4 : 1.2;
    ctx.stroke(pathOf(e));
  }
  ctx.setLineDash([]);
  ctx.globalAlpha = 1;

  // Primary edges: who feeds whom.
  for (const e of scene.edges) {
    const on = near(e);
    ctx.strokeStyle = on ? palette.ring : palette.edge;
    ctx.lineWidth = on ? 3 : 1.6;
    ctx.stroke(pathOf(e));
  }

  const showLabels = k >= LABEL_MIN_ZOOM;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  for (const n of scene.nodes) {
    ctx.save();
    ctx.translate(n.x, n.y);
    if (n.root) {
      ctx.beginPath();
      ctx.arc(0, 0, R_ROOT, 0, TAU);
      ctx.fillStyle = palette.accent;
      ctx.fill();
      ctx.fillStyle = '#fff';
      ctx.font = '15px system-ui, sans-serif';
      ctx.fillText('★', 0, 1);
      ctx.font = '600 13px system-ui, sans-serif';
      ctx.textAlign = 'left';
      halo(ctx, labels.you, R_ROOT + 8, 0, palette.ink, palette.panel);
      ctx.textAlign = 'center';
    } else {
      // Capacity: a track around relays, the share in use as an arc (red when over).
      ctx.lineWidth = 3;
      if (n.relays) {
        ctx.beginPath();
        ctx.arc(0, 0, RING, 0, TAU);
        ctx.strokeStyle = palette.line;
        ctx.stroke();
      }
      if (n.used > 0) {
        const share = n.slots > 0 ? Math.min(n.used / n.slots, 1) : 1;
        ctx.beginPath();
        ctx.arc(0, 0, RING, -Math.PI / 2, -Math.PI / 2 + TAU * share);
        ctx.strokeStyle = n.over ? palette.bad : palette.ring;
        ctx.stroke();
      }
      ctx.beginPath();
      ctx.arc(0, 0, R, 0, TAU);
      ctx.globalAlpha = n.stale ? 0.45 : 1;
      ctx.fillStyle = palette[n.health] ?? palette.unknown;
      ctx.fill();
      ctx.globalAlpha = 1;
      ctx.lineWidth = 2;
      ctx.strokeStyle = palette.panel;
      ctx.stroke();
      if (showLabels) {
        ctx.font = '10.5px ui-monospace, Menlo, Consolas, monospace';
        halo(ctx, n.label, 0, RING + 10, palette.muted, palette.panel);
      }
    }
    if (n.folded) {
      const text = `+${n.folded}`;
      const w = Math.max(34, 10 + text.length * 7);
      const y = (n.root ? R_ROOT : RING) + 30;
      ctx.beginPath();
      roundRect(ctx, -w / 2, y - 8.5, w, 17, 8.5);
      ctx.fillStyle = palette.panel;
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = palette.muted;
      ctx.stroke();
      ctx.fillStyle = palette.ink;
      ctx.font = '600 11px system-ui, sans-serif';
      ctx.fillText(text, 0, y + 0.5);
    }
    if (n.id === focus || n.id === selected) {
      ctx.beginPath();
      ctx.arc(0, 0, (n.root ? R_ROOT : RING) + 4, 0, TAU);
      ctx.lineWidth = n.id === focus ? 2.5 : 2;
      ctx.strokeStyle = n.id === focus ? palette.ring : palette.ink;
      ctx.stroke();
    }
    ctx.restore();
  }
}

/** Text with a halo in the panel's colour, readable where edges pass behind it. */
function halo(ctx, text, x, y, fill, background) {
  ctx.lineWidth = 3;
  ctx.lineJoin = 'round';
  ctx.strokeStyle = background;
  ctx.strokeText(text, x, y);
  ctx.fillStyle = fill;
  ctx.fillText(text, x, y);
}

function roundRect(ctx, x, y, w, h, r) {
  if (ctx.roundRect) { ctx.roundRect(x, y, w, h, r); return; }
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}

/** Keeps a canvas painted with the latest scene and view, at most once per animation frame. */
export class Painter {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.scene = null;
    this.state = { view: { k: 1, x: 0, y: 0 }, size: { width: 0, height: 0, dpr: 1 }, palette: {}, labels: { you: '' }, focus: null, selected: null };
    this.queued = false;
    this.frames = 0;
    this.paintMs = 0;
  }

  set(patch) {
    Object.assign(this.state, patch);
    if (patch.size) {
      const { width, height, dpr } = patch.size;
      this.canvas.width = Math.max(1, Math.round(width * dpr));
      this.canvas.height = Math.max(1, Math.round(height * dpr));
    }
    this.request();
  }

  setScene(scene) {
    this.scene = scene;
    this.request();
  }

  request() {
    if (this.queued) return;
    this.queued = true;
    const raf = globalThis.requestAnimationFrame?.bind(globalThis) ?? ((f) => setTimeout(f, 16));
    raf(() => {
      this.queued = false;
      const started = performance.now();
      paint(this.ctx, this.scene, this.state);
      this.frames++;
      this.paintMs = performance.now() - started;
    });
  }
}
