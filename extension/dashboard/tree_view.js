// The relay tree on a canvas that the dashboard's worker paints (OffscreenCanvas): every
// extension page shares its main thread with the streamer's player frame, so the page itself
// only does what needs it: zoom and pan, hit-testing (plain arithmetic over the drawn nodes),
// the tooltip with depth and subtree size on hover or keyboard focus, and keyboard navigation
// from node to node, announced to screen readers through a live region.
import { Painter } from './tree_paint.js';
import { R_ROOT, RING } from './scene.js';

const MARGIN = 40;
const MIN_K = 0.08;
const MAX_K = 3;
const PALETTE = ['ok', 'warn', 'bad', 'unknown', 'edge', 'standby', 'ring', 'accent', 'ink', 'muted', 'panel', 'line'];

export class TreeView {
  /**
   * `container`: the element to draw in; `tooltip`: an element for the tooltip; `worker`: the
   * dashboard's worker (it paints); `onToggle(node)`: fold or unfold; `onSelect(id)`.
   */
  constructor(container, tooltip, { t, worker, onToggle, onSelect }) {
    Object.assign(this, { container, tooltip, t, worker, onToggle, onSelect });
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'tree-canvas';
    this.canvas.setAttribute('aria-hidden', 'true');
    container.append(this.canvas);
    this.live = document.createElement('p');
    this.live.className = 'visually-hidden';
    this.live.setAttribute('aria-live', 'polite');
    container.after(this.live);
    this.scene = null;
    this.byId = new Map();
    this.kids = new Map(); // id -> drawn children ids, left to right
    this.view = { k: 1, x: 0, y: 0 };
    this.follow = true; // fit after every update until the user zooms or pans
    this.size = { width: 0, height: 0, dpr: globalThis.devicePixelRatio || 1 };
    this.offset = { left: 0, top: 0 };
    this.hovered = null;
    this.focused = null;
    this.selected = null;
    const labels = { you: t('dashYou') };
    const palette = this.readPalette();
    if (typeof this.canvas.transferControlToOffscreen === 'function') {
      const offscreen = this.canvas.transferControlToOffscreen();
      worker.postMessage({ type: 'canvas', canvas: offscreen, size: this.size, palette, labels }, [offscreen]);
      this.painter = null;
    } else {
      this.painter = new Painter(this.canvas); // painted here: older browsers only
      this.painter.set({ size: this.size, palette, labels });
    }
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => this.paint({ palette: this.readPalette() }));
    // The pane's size and place, kept without ever forcing a layout.
    new ResizeObserver(([entry]) => {
      this.size = { width: entry.contentRect.width, height: entry.contentRect.height, dpr: globalThis.devicePixelRatio || 1 };
      this.offset = { left: container.offsetLeft, top: container.offsetTop };
      this.paint({ size: this.size });
      if (this.follow) this.fit();
    }).observe(container);
    this.wire();
  }

  readPalette() {
    const style = getComputedStyle(document.documentElement);
    return Object.fromEntries(PALETTE.map((name) => [name, style.getPropertyValue(`--${name}`).trim() || '#888']));
  }

  paint(patch) {
    if (this.painter) this.painter.set(patch);
    else this.worker.postMessage({ type: 'paint', patch });
  }

  // ---- input ------------------------------------------------------------------------------

  wire() {
    const c = this.container;
    c.addEventListener('wheel', (e) => {
      e.preventDefault();
      const p = this.local(e);
      this.zoomAt(Math.exp(-e.deltaY * 0.0015), p.x, p.y);
    }, { passive: false });
    let drag = null;
    c.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      const p = this.local(e);
      drag = { x: e.clientX, y: e.clientY, vx: this.view.x, vy: this.view.y, moved: false, on: this.nodeAt(p.x, p.y) };
      c.setPointerCapture(e.pointerId);
    });
    c.addEventListener('pointermove', (e) => {
      if (drag) {
        const dx = e.clientX - drag.x;
        const dy = e.clientY - drag.y;
        if (!drag.moved && Math.hypot(dx, dy) < 4) return;
        drag.moved = true;
        c.classList.add('dragging');
        this.follow = false;
        this.view = { ...this.view, x: drag.vx + dx, y: drag.vy + dy };
        this.apply();
        return;
      }
      const p = this.local(e);
      const n = this.nodeAt(p.x, p.y);
      c.classList.toggle('over-node', !!n);
      if (n?.id !== this.hovered) {
        this.hovered = n?.id ?? null;
        this.showTip();
      }
    });
    const end = () => {
      const d = drag;
      drag = null;
      c.classList.remove('dragging');
      if (d && !d.moved && d.on) this.click(d.on);
    };
    c.addEventListener('pointerup', end);
    c.addEventListener('pointercancel', () => { drag = null; c.classList.remove('dragging'); });
    c.addEventListener('pointerleave', () => { if (!drag) { this.hovered = null; this.showTip(); } });
    c.addEventListener('dblclick', (e) => {
      const p = this.local(e);
      const n = this.nodeAt(p.x, p.y);
      if (n && (n.children || n.folded)) this.onToggle?.(n);
    });
    c.addEventListener('keydown', (e) => this.key(e));
    c.addEventListener('blur', () => this.setFocus(null));
  }

  /** A pointer event's place in the pane. */
  local(e) {
    const r = this.container.getBoundingClientRect(); // on user input only
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  /** The drawn node under a point of the pane, if any. */
  nodeAt(px, py) {
    if (!this.scene) return null;
    const { k, x, y } = this.view;
    const wx = (px - x) / k;
    const wy = (py - y) / k;
    let best = null;
    let bestD = Infinity;
    for (const n of this.scene.nodes) {
      const d = Math.hypot(n.x - wx, n.y - wy);
      if (d < bestD) { best = n; bestD = d; }
    }
    const reach = (best?.root ? R_ROOT : RING) + 4 / k;
    return bestD <= Math.max(reach, 8 / k) ? best : null;
  }

  click(n) {
    this.selected = n.id;
    this.onSelect?.(n.id);
    this.paint({ selected: n.id });
    if (n.folded) this.onToggle?.(n); // a folded node opens on a click
  }

  key(e) {
    const n = this.focused && this.byId.get(this.focused);
    const pan = { ArrowLeft: [60, 0], ArrowRight: [-60, 0], ArrowUp: [0, 60], ArrowDown: [0, -60] };
    if (e.key === '+' || e.key === '=') this.zoomAt(1.25, this.size.width / 2, this.size.height / 2);
    else if (e.key === '-') this.zoomAt(0.8, this.size.width / 2, this.size.height / 2);
    else if (e.key === '0') this.fit();
    else if (pan[e.key] && e.shiftKey) {
      this.follow = false;
      this.view = { ...this.view, x: this.view.x + pan[e.key][0], y: this.view.y + pan[e.key][1] };
      this.apply();
    } else if (pan[e.key] || e.key === 'Home') {
      this.setFocus(this.neighbour(n, e.key), true);
    } else if ((e.key === 'Enter' || e.key === ' ') && n) {
      this.click(n);
      if (!n.folded && n.children) this.onToggle?.(n);
    } else if (e.key === 'Escape') {
      this.setFocus(null);
    } else {
      return;
    }
    e.preventDefault();
  }

  /** The node the arrow key `key` leads to from `n` (up: parent, down: first child, sides: siblings). */
  neighbour(n, key) {
    const root = this.scene?.nodes.find((x) => x.root);
    if (!n || key === 'Home') return root ?? null;
    if (key === 'ArrowUp') return this.byId.get(n.parentId) ?? n;
    if (key === 'ArrowDown') return this.byId.get(this.kids.get(n.id)?.[0]) ?? n;
    const row = this.kids.get(n.parentId) ?? [n.id];
    const i = row.indexOf(n.id) + (key === 'ArrowRight' ? 1 : -1);
    if (i >= 0 && i < row.length) return this.byId.get(row[i]);
    // Past the last sibling: the nearest node on the same level in that direction.
    const sameDepth = this.scene.nodes.filter((x) => x.depth === n.depth && (key === 'ArrowRight' ? x.x > n.x : x.x < n.x));
    sameDepth.sort((a, b) => Math.abs(a.x - n.x) - Math.abs(b.x - n.x));
    return sameDepth[0] ?? n;
  }

  setFocus(n, scrollIntoView = false) {
    const id = n?.id ?? null;
    if (id === this.focused) return;
    this.focused = id;
    this.paint({ focus: id });
    if (n && scrollIntoView) this.reveal(n);
    this.showTip();
    this.live.textContent = n ? this.describe(n).join('. ') : '';
  }

  /** Pans so that `n` is in view (keyboard navigation). */
  reveal(n) {
    const { k, x, y } = this.view;
    const sx = n.x * k + x;
    const sy = n.y * k + y;
    const pad = 40;
    if (sx >= pad && sx <= this.size.width - pad && sy >= pad && sy <= this.size.height - pad) return;
    this.follow = false;
    this.view = { k, x: this.size.width / 2 - n.x * k, y: this.size.height / 2 - n.y * k };
    this.apply();
  }

  /** Focuses a viewer chosen elsewhere (the log). */
  focusId(id) {
    const n = this.byId.get(id);
    if (!n) return false;
    this.container.focus({ preventScroll: true });
    this.focused = null;
    this.setFocus(n, true);
    return true;
  }

  // ---- zoom and pan -----------------------------------------------------------------------

  zoomAt(factor, cx, cy) {
    const k = Math.min(MAX_K, Math.max(MIN_K, this.view.k * factor));
    const f = k / this.view.k;
    this.view = { k, x: cx - (cx - this.view.x) * f, y: cy - (cy - this.view.y) * f };
    this.follow = false;
    this.apply();
  }

  zoomBy(factor) {
    this.zoomAt(factor, this.size.width / 2, this.size.height / 2);
  }

  /** Fits the drawing in the pane and follows it from now on. */
  fit() {
    this.follow = true;
    const r = this.size;
    if (!this.scene || r.width === 0 || r.height === 0) return;
    const { minX, minY, maxX, maxY } = this.scene.bounds;
    const w = maxX - minX + 2 * MARGIN + 60;
    const h = maxY - minY + 2 * MARGIN;
    const k = Math.min(1.6, Math.max(MIN_K, Math.min(r.width / w, r.height / h)));
    this.view = { k, x: (r.width - (maxX - minX) * k) / 2 - minX * k, y: MARGIN * k + Math.max(0, (r.height - h * k) / 2) - minY * k };
    this.apply();
  }

  apply() {
    this.paint({ view: this.view });
    this.container.dataset.zoom = this.view.k.toFixed(2);
    this.showTip();
  }

  // ---- the scene ----------------------------------------------------------------------------

  /** A new scene from the worker (nodes with their places, edges as id pairs). */
  render(scene, { selected } = {}) {
    this.scene = scene;
    this.byId = new Map(scene.nodes.map((n) => [n.id, n]));
    this.kids = new Map();
    for (const [from, to] of scene.edges) {
      const child = this.byId.get(to);
      if (child) child.parentId = from;
      if (!this.kids.has(from)) this.kids.set(from, []);
      this.kids.get(from).push(to);
    }
    for (const row of this.kids.values()) row.sort((a, b) => this.byId.get(a).x - this.byId.get(b).x);
    if (this.painter) {
      this.painter.setScene({
        ...scene,
        edges: scene.edges.map(([from, to], i) => ({ from, to, d: scene.paths.edges[i] })),
        standbys: scene.standbys.map(([from, to], i) => ({ from, to, d: scene.paths.standbys[i] })),
      });
    }
    if (selected !== undefined && selected !== this.selected) {
      this.selected = selected;
      this.paint({ selected });
    }
    if (this.focused && !this.byId.has(this.focused)) this.setFocus(null);
    if (this.hovered && !this.byId.has(this.hovered)) this.hovered = null;
    if (this.container.dataset.nodes !== String(scene.nodes.length)) this.container.dataset.nodes = String(scene.nodes.length);
    if (this.follow) this.fit();
    else this.showTip();
    if (this.focused) this.live.textContent = this.describe(this.byId.get(this.focused)).join('. ');
  }

  /** What is drawn, for tests: node ids and health, edges as "from>to". */
  drawn() {
    const s = this.scene;
    if (!s) return { nodes: [], primary: [], standby: [] };
    return {
      nodes: s.nodes.map((n) => ({ id: n.id, health: n.health, folded: n.folded })),
      primary: s.edges.map(([a, b]) => `${a}>${b}`).sort(),
      standby: s.standbys.map(([a, b]) => `${a}>${b}`).sort(),
    };
  }

  /** The tooltip's lines for a node (also what the live region says). */
  describe(n) {
    const t = this.t;
    if (n.root) return [t('dashYouLong'), t('dashNodeBelow', [String(n.below)])];
    const who = (id, isRoot) => (isRoot ? t('dashYou') : id ?? t('dashNone'));
    const lines = [
      t('dashNodeViewer', [n.label]),
      t('dashNodeDepth', [String(n.depth), String(n.below)]),
      t('dashNodeParent', [who(n.parent, n.parentIsRoot), who(n.standby, n.standbyIsRoot)]),
    ];
    const h = n.figures;
    if (Array.isArray(h)) {
      lines.push(t('dashNodeFigures', [String(h[0]), String(h[1]), String(h[2])]));
      if (h[5] > 200) lines.push(t('dashNodePeak', [String(h[5])]));
      lines.push(t('dashNodeAge', [String(Math.round(h[4] / 1000))]));
    } else {
      lines.push(t('dashNodeNoReport'));
    }
    lines.push(n.slots > 0 ? t('dashNodeCapacity', [String(n.used), String(n.slots)]) : t('dashNodeNoRelay'));
    if (n.folded) lines.push(t('dashNodeFolded', [String(n.folded)]));
    return lines;
  }

  /** Shows the tooltip of the hovered node, else of the focused one. */
  showTip() {
    const n = this.byId.get(this.hovered ?? this.focused);
    if (!n) { this.tooltip.hidden = true; return; }
    const lines = this.describe(n);
    const key = lines.join('\n');
    if (this.tooltip.dataset.key !== key) {
      this.tooltip.dataset.key = key;
      this.tooltip.replaceChildren(...lines.map((text, i) => {
        const p = document.createElement(i === 0 ? 'strong' : 'span');
        p.textContent = text;
        return p;
      }));
    }
    this.tooltip.hidden = false;
    const { k, x, y } = this.view;
    const r = (n.root ? R_ROOT : RING) * k;
    let left = this.offset.left + n.x * k + x + r + 10;
    if (left + 300 > this.offset.left + this.size.width) left = this.offset.left + n.x * k + x - r - 10 - 300;
    this.tooltip.style.left = `${Math.max(4, left)}px`;
    this.tooltip.style.top = `${Math.max(4, this.offset.top + n.y * k + y - r)}px`;
  }

  clear() {
    this.scene = null;
    this.byId = new Map();
    this.kids = new Map();
    this.tooltip.hidden = true;
    if (this.painter) this.painter.setScene(null);
    else this.worker.postMessage({ type: 'clear' });
  }
}
