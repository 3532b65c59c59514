// The overlay player frame: loads the settings and the wasm core, takes the role the page data
// gave it (the streamer broadcasts, everyone else views), shows the video and its state, and
// answers the popup (through the content script) and tests (window.treecast).
import init, { broadcasterPeerId, viewerPeerId } from '../wasm/treecast.js';
import { loadSettings } from '../shared/settings.js';
import { initI18n, applyI18n } from '../shared/i18n.js';
import { listenToPage, tellPage } from './bridge.js';
import { setupControls } from './controls.js';
import { FrameWatch } from './frames.js';
import { Broadcaster } from './broadcaster.js';
import { ViewerNode } from './viewer.js';
import { serveDashboard } from './dashboard_feed.js';

const api = () => globalThis.browser ?? globalThis.chrome;
const params = new URLSearchParams(location.search);
const program = params.get('program') ?? '';
const broadcasterUser = params.get('broadcaster') ?? '';
const role = params.get('role') === 'broadcaster' ? 'broadcaster' : 'viewer';
// The streamer's verification code from the program description, if any (see shared/verify.js).
const pageCode = /^treecast:[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/.test(params.get('code') ?? '') ? params.get('code') : null;

// TEST ONLY (the media benchmark, issue 6): with `bench:policy` = 'seed' in extension storage,
// which no page of the extension sets or shows, this frame behaves like the 2017 library for a
// side-by-side comparison: the broadcaster's coordinator runs Policy::Seed and viewers notice a
// lost parent only from ICE (no heartbeat switch, no leave notice).
const BENCH_POLICY_KEY = 'bench:policy';
async function benchPolicy() {
  try { return (await api().storage.local.get(BENCH_POLICY_KEY))[BENCH_POLICY_KEY] === 'seed' ? 'seed' : null; } catch { return null; }
}

async function main() {
  const wasm = await init();
  const policy = await benchPolicy();
  const settings = { ...await loadSettings(), ...(policy === 'seed' ? { originalDetection: true } : {}) };
  const t = await initI18n({ language: settings.language });
  applyI18n(document, t);
  const video = document.getElementById('video');
  const ui = await setupControls(video, t);
  const frames = new FrameWatch(video);
  const rootId = broadcasterPeerId(program, broadcasterUser);

  let node;
  if (role === 'broadcaster') {
    node = new Broadcaster({ id: rootId, program, settings, video, ui, t, user: broadcasterUser, pageCode, policy });
    serveDashboard({ program, read: () => node.dashboardSource() });
    await node.resume();
  } else {
    const id = viewerPeerId(crypto.getRandomValues(new Uint8Array(12)));
    node = new ViewerNode({ id, rootId, settings, video, ui, t, code: pageCode, original: policy === 'seed' });
    node.start();
    node.reportHealth(frames);
  }

  const stats = () => ({ ...node.stats(), role, program, fps: frames.fps(), stalls: { ...frames.stalls }, framesPresented: frames.total });
  listenToPage({
    'tc:status': async () => stats(),
    'tc:broadcast': async (m) => (role === 'broadcaster' ? node.setBroadcasting(m) : { ok: false, error: 'not-broadcaster' }),
    'tc:slots': async (m) => node.setSlots?.(m.slots) ?? { ok: false },
    'tc:program-ended': async () => { await node.stop('ended'); return { ok: true }; },
  });
  // Closing the tab: tell the children and the broadcaster as early as the page lets us
  // (beforeunload comes before the teardown starts; pagehide is the last chance).
  window.addEventListener('beforeunload', () => node.stop('beforeunload'));
  window.addEventListener('pagehide', () => node.stop('pagehide'));
  // New settings (another PeerServer, other ICE servers) take effect by starting over; the
  // broadcaster's tree survives that like any reload.
  api().storage.onChanged?.addListener((changes, area) => {
    if (area !== 'local' || !changes.settings) return;
    ui.notice(t('settingsChangedReload'));
    setTimeout(() => location.reload(), 300);
  });

  window.treecast = {
    ready: true,
    stats,
    tree: () => node.tree?.() ?? null,
    checkInvariants: () => node.checkInvariants?.() ?? null,
    // The wasm module's memory (it only grows): tests bound it under hostile input.
    wasmBytes: () => wasm.memory.buffer.byteLength,
    log: () => node.log ?? [],
    startBroadcast: (opts = {}) => node.setBroadcasting?.({ on: true, source: 'pattern', ...opts }),
    stopBroadcast: () => node.setBroadcasting?.({ on: false }),
    node,
  };
  tellPage({ type: 'tc:player-ready' });
}

main().catch((err) => {
  console.error('treecast player failed', err);
  const notice = document.getElementById('notice');
  notice.hidden = false;
  notice.textContent = String(err?.message ?? err);
  window.treecast = { ready: true, error: String(err?.message ?? err), stats: () => ({ state: 'error', error: String(err) }) };
});
