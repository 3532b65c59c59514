// The streamer's relay dashboard (an extension page in its own tab, opened from the popup).
// About once a second it asks the broadcaster's player frame for the core's frame (see
// player/dashboard_feed.js) and draws it: summary figures, the tree (or its levels when it is
// too large to draw each viewer), and the event log.
//
// Every extension page of the browser profile shares one renderer main thread with that player
// frame, so this page keeps its main-thread work small: the frame is parsed, built into a tree,
// folded and laid out in a worker (frame_worker.js), and here only the elements that changed
// are updated.
import { initI18n, applyI18n } from '../shared/i18n.js';
import { emptyLog, mergeEvents } from './model.js';
import { TreeView } from './tree_view.js';
import { renderLevels } from './levels_view.js';
import { EventLog } from './event_log.js';

const api = globalThis.browser ?? globalThis.chrome;
const POLL_MS = 1000;
const HIDDEN_POLL_MS = 5000; // a hidden dashboard only keeps its log current
/** Above this many viewers the player sends levels only (and the tree is drawn by level). */
const MAX_NODES = 2000;

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const program = /^lv[0-9]{1,22}$/.test(params.get('program') ?? '') ? params.get('program') : '';
const title = (params.get('title') ?? '').slice(0, 120);

const t = await initI18n();
applyI18n(document, t);
document.title = program ? `${t('dashTitle')} · ${program}` : t('dashTitle');
$('program-title').textContent = title;
$('program-id').textContent = program;
const numberFormat = new Intl.NumberFormat(t('localeCode'));
const number = (n) => numberFormat.format(n);

const state = {
  reply: null,
  frame: null, // the latest frame without its nodes and events (those stay in the worker / the log)
  counts: null, // health classes as the tree colours them (when every viewer is listed)
  scene: null,
  hasNodes: false,
  epoch: null,
  cursor: 0,
  log: emptyLog(),
  logVersion: 0,
  mode: 'tree', // or 'levels'
  selected: null,
  updates: 0,
  costs: [], // main-thread ms per update, newest last
  workerCosts: [],
};

// ---- the worker ----------------------------------------------------------------------------

const worker = new Worker(new URL('./frame_worker.js', import.meta.url), { type: 'module' });
let waiting = null;
const results = [];
worker.onmessage = ({ data }) => {
  if (data.type === 'frame' && waiting) { const w = waiting; waiting = null; w(data); return; }
  results.push(data); // a scene after a UI change
  queueMicrotask(applyResults);
};
worker.onerror = (e) => console.error('treecast dashboard worker:', e.message);

function inWorker(text, sourceFps) {
  return new Promise((resolve) => {
    waiting = resolve;
    worker.postMessage({ type: 'frame', text, sourceFps });
  });
}

function applyResults() {
  while (results.length) {
    const r = results.shift();
    if (r.type !== 'scene') continue;
    state.scene = r.scene;
    drawTree();
    if (r.revealed) tree.focusId(r.revealed);
  }
}

// ---- the views -------------------------------------------------------------------------------

const tree = new TreeView($('tree'), $('tooltip'), {
  t,
  worker,
  onToggle: (node) => worker.postMessage({ type: 'toggle', id: node.id, folded: node.folded > 0 }),
  onSelect: (id) => { state.selected = id; worker.postMessage({ type: 'select', id }); },
});

const log = new EventLog({
  list: $('log'), filters: $('filters'), repairsOnly: $('repairs-only'), search: $('log-search'), count: $('log-count'), more: $('log-more'),
  exportButton: $('export'), t,
  onSelect: (id) => select(id),
  exportInfo: () => ({ program, broadcaster: state.frame?.broadcaster ?? null, summary: state.frame?.summary ?? null }),
});

/** Selects a viewer from the log: unfolds the way to it and brings it into view. */
function select(id) {
  state.selected = id;
  if (state.mode !== 'tree' && state.hasNodes) setMode('tree');
  worker.postMessage({ type: 'reveal', id });
}

function setMode(mode) {
  state.mode = mode;
  $('mode-tree').setAttribute('aria-pressed', String(mode === 'tree'));
  $('mode-levels').setAttribute('aria-pressed', String(mode === 'levels'));
  draw();
}

$('mode-tree').addEventListener('click', () => setMode('tree'));
$('mode-levels').addEventListener('click', () => setMode('levels'));
$('zoom-in').addEventListener('click', () => tree.zoomBy(1.25));
$('zoom-out').addEventListener('click', () => tree.zoomBy(0.8));
$('zoom-fit').addEventListener('click', () => tree.fit());
// Standby links: all of them while the drawing is small (else around the selected viewer),
// until the streamer says otherwise.
let standbyChosen = false;
$('show-standby').addEventListener('change', (e) => {
  standbyChosen = true;
  worker.postMessage({ type: 'standby', mode: e.target.checked ? 'all' : 'none' });
});
addEventListener('resize', () => { if (tree.follow) tree.fit(); });

function setStatus(kind, text) {
  if ($('status').dataset.state !== kind) $('status').dataset.state = kind;
  setText('status-text', text);
}

function setText(id, text) {
  const e = $(id);
  if (e.textContent !== text) e.textContent = text;
}

function setLevel(id, level) {
  if ($(id).dataset.level !== level) $(id).dataset.level = level;
}

function renderSummary() {
  const s = state.frame?.summary;
  const reply = state.reply;
  if (!s) {
    for (const id of ['s-viewers', 's-depth', 's-coverage', 's-repairs']) setText(id, '—');
    return;
  }
  setText('s-viewers', number(s.viewers));
  // Counted as the tree colours its nodes when every viewer is listed; else as the levels sum up.
  const c = state.counts ?? s;
  const parts = [['ok', c.ok], ['warn', c.warn], ['bad', c.bad], ['unknown', c.unknown]];
  const key = parts.map(([, n]) => n).join();
  const bar = $('s-health-bar');
  if (bar.dataset.key !== key) {
    bar.dataset.key = key;
    const total = Math.max(1, parts.reduce((a, [, n]) => a + n, 0));
    bar.replaceChildren(...parts.filter(([, n]) => n > 0).map(([cls, n]) => {
      const span = document.createElement('span');
      span.className = `part ${cls}`;
      span.style.flexGrow = String(n / total);
      return span;
    }));
  }
  setText('s-health', t('dashHealthCounts', [number(c.ok), number(c.warn), number(c.bad), number(c.unknown)]));
  setText('s-depth', s.viewers ? t('dashDepthMax', [String(s.max_depth)]) : '—');
  setText('s-depth-mean', s.viewers ? t('dashDepthMean', [s.mean_depth.toFixed(1)]) : t('dashNoViewers'));
  setText('s-coverage', s.needing_standby ? `${Math.round(s.standby_coverage * 100)} %` : '—');
  setText('s-coverage-detail', s.needing_standby
    ? t('dashCoverageDetail', [number(s.with_standby), number(s.needing_standby)])
    : t('dashCoverageNone'));
  setLevel('s-coverage', !s.needing_standby || s.standby_coverage >= 0.999 ? 'ok' : s.standby_coverage >= 0.8 ? 'warn' : 'bad');
  setText('s-repairs', number(s.repairs_last_minute));
  setLevel('s-repairs', s.repairs_last_minute === 0 ? 'ok' : s.repairs_last_minute < 5 ? 'warn' : 'bad');
  setText('s-repairs-total', t('dashRepairsTotal', [number(s.repairs), number(s.moves)]));
  setText('s-upload', typeof reply?.kbpsOut === 'number' ? t('popupKbps', [number(reply.kbpsOut)]) : '—');
  setText('s-source', reply?.sourceFps ? t('dashSourceFps', [String(Math.round(reply.sourceFps))]) : '');
}

/** The tree or the levels, whichever is shown. */
function draw() {
  const frame = state.frame;
  const mode = state.hasNodes ? state.mode : 'levels';
  $('mode-tree').disabled = !state.hasNodes;
  $('tree').hidden = mode !== 'tree';
  $('levels').hidden = mode !== 'levels';
  // No broadcast: the pane says what the status says; no viewers yet: that they will appear.
  const empty = !frame || frame.summary.viewers === 0;
  $('empty').hidden = !empty;
  if (empty) setText('empty', frame ? t('dashEmpty') : $('status-text').textContent);
  if (!frame) { tree.clear(); setText('fold-note', ''); return; }
  if (mode === 'levels') {
    renderLevels($('levels'), frame, { t, number });
    setText('fold-note', state.hasNodes ? '' : t('dashTooMany', [number(frame.summary.viewers)]));
    return;
  }
  drawTree();
}

function drawTree() {
  const scene = state.scene;
  if (!scene || $('tree').hidden) return;
  if (!standbyChosen) $('show-standby').checked = scene.allStandbys;
  tree.render(scene, { selected: state.selected });
  setText('fold-note', scene.hidden
    ? (scene.depthLimit ? t('dashFoldedDepth', [number(scene.hidden), String(scene.depthLimit)]) : t('dashFolded', [number(scene.hidden)]))
    : '');
}

// ---- talking to the broadcaster's player frame ---------------------------------------------

async function ask() {
  try {
    return await api.runtime.sendMessage({ type: 'tc:dashboard', program, since: state.cursor, maxNodes: MAX_NODES });
  } catch {
    return null; // no player frame answered (no broadcast page open)
  }
}

/** One update: the reply to the page's state. Returns true when it must ask again at once. */
async function update(reply) {
  state.reply = reply ?? null;
  let workerMs = 0;
  let started = performance.now();
  if (!reply) {
    setStatus('waiting', t(program ? 'dashWaitingPage' : 'dashWaitingAny'));
    Object.assign(state, { frame: null, scene: null, hasNodes: false, counts: null });
  } else if (!reply.broadcasting) {
    setStatus('idle', t('dashNotBroadcasting'));
    Object.assign(state, { frame: null, scene: null, hasNodes: false, counts: null });
  } else {
    const r = await inWorker(reply.frame, reply.sourceFps);
    started = performance.now(); // the wait for the worker is not this thread's time
    workerMs = r.workerMs;
    if (state.epoch !== null && r.frame.epoch !== state.epoch && state.cursor > 0) {
      // The broadcaster's page reloaded: its new session numbers events from 1 again.
      state.epoch = r.frame.epoch;
      state.cursor = 0;
      return true;
    }
    state.epoch = r.frame.epoch;
    if (r.events.length) {
      mergeEvents(state.log, { epoch: r.frame.epoch, events: r.events });
      state.logVersion++;
    }
    Object.assign(state, { cursor: r.cursor, frame: r.frame, scene: r.scene, hasNodes: r.hasNodes, counts: r.counts });
    setStatus('live', t('dashLive', [new Date(r.frame.at_ms).toLocaleTimeString(t('localeCode'), { hour12: false })]));
  }
  renderSummary();
  draw();
  log.update(state.log.items, state.logVersion, state.frame?.broadcaster ?? null);
  report(reply, performance.now() - started, workerMs);
  return false;
}

/** Figures about the dashboard itself, for the footer, tests and benchmarks. */
function report(reply, cost, workerMs) {
  state.updates++;
  state.costs.push(cost);
  state.workerCosts.push(workerMs);
  if (state.costs.length > 60) { state.costs.shift(); state.workerCosts.shift(); }
  const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
  const info = {
    updates: state.updates,
    lastMs: cost,
    meanMs: mean(state.costs),
    maxMs: Math.max(...state.costs),
    recentMs: [...state.costs],
    workerMeanMs: mean(state.workerCosts),
    playerMs: reply?.costMs ?? null,
    frameBytes: reply?.frame?.length ?? 0,
    nodesDrawn: tree.byId.size,
    drawn: () => tree.drawn(),
  };
  window.treecastDashboard = info;
  document.documentElement.dataset.updates = String(state.updates);
  setText('foot', t('dashFoot', [cost.toFixed(1), info.playerMs == null ? '—' : info.playerMs.toFixed(1), number(Math.round(info.frameBytes / 1024))]));
}

async function loop() {
  for (;;) {
    let again = false;
    try {
      again = await update(await ask());
    } catch (err) {
      console.error('treecast dashboard: update failed', err);
      setStatus('waiting', String(err?.message ?? err));
    }
    if (again) continue;
    await new Promise((r) => setTimeout(r, document.hidden ? HIDDEN_POLL_MS : POLL_MS));
  }
}

loop();
