// Firefox smoke test: Debian's firefox-esr, driven over WebDriver BiDi by puppeteer-core, loads
// dist/firefox as a temporary add-on and shows the overlay player on a fixture watch page.
// live.nicovideo.jp resolves to localhost through the `network.dns.localDomains` pref, and
// Firefox has no port mapping, so the fixture server listens on 127.0.0.1:443 — run this inside
// the loopback namespace (scripts/in-loopback.sh), where we are root and may bind it.
// The screenshot goes to tests/artifacts/firefox-overlay.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { startNicoServer, startPeerServer } from '../harness/servers.mjs';
import { ROOT, peerServerSettings, waitFor } from '../harness/browsers.mjs';

const FIREFOX = process.env.FIREFOX ?? '/usr/bin/firefox-esr';
const EXTENSION_DIR = join(ROOT, 'dist', 'firefox');
const ART = join(ROOT, 'tests', 'artifacts');
const PROGRAM = 'lv900000001';

/** Rejects if `promise` takes longer than `ms`: an evaluate sent into a navigating tab can hang. */
const within = (ms, promise) => Promise.race([promise,
  new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms).unref())]);

test('Firefox: the extension loads and shows the overlay player on a watch page', { timeout: 180000 }, async (t) => {
  if (!existsSync(FIREFOX)) {
    t.skip(`firefox-esr is not installed (no ${FIREFOX}; set FIREFOX to another Firefox binary)`);
    return;
  }
  assert.ok(existsSync(join(EXTENSION_DIR, 'manifest.json')), 'dist/firefox is missing: run `make build` first');
  const manifest = JSON.parse(readFileSync(join(EXTENSION_DIR, 'manifest.json'), 'utf8'));
  const addonId = manifest.browser_specific_settings?.gecko?.id;
  assert.ok(addonId, 'dist/firefox/manifest.json has browser_specific_settings.gecko.id');
  // Firefox is a whole browser with its own idea of what to fetch: keep it where only loopback exists.
  const outside = Object.entries(networkInterfaces()).filter(([, addrs]) => addrs.some((a) => !a.internal)).map(([name]) => name);
  assert.deepEqual(outside, [], 'network interfaces besides loopback: run this test inside scripts/in-loopback.sh');
  const { default: puppeteer } = await import('puppeteer-core');
  const t0 = Date.now();
  const step = (what) => { const line = `${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`; t.diagnostic(line); if (process.env.FIREFOX_TEST_DEBUG) console.error(line); };

  let nico;
  try {
    nico = await startNicoServer({ port: 443 });
  } catch (error) {
    throw new Error(`cannot serve the fixture site on 127.0.0.1:443 (${error.code ?? error.message}); ` +
      'run the test inside scripts/in-loopback.sh', { cause: error });
  }
  const cleanups = []; // run last-in first-out: the browser goes before the servers it talks to
  t.after(async () => { for (const cleanup of cleanups.reverse()) await cleanup(); });
  cleanups.push(async () => { await within(5000, nico.close()).catch(() => {}); step('fixture server closed'); });
  nico.setProgram(PROGRAM, { broadcasterUserId: '1001', status: 'ON_AIR' });
  const peerServer = await startPeerServer({ port: 9000 });
  const peerClients = [];
  peerServer.app.on('connection', (client) => peerClients.push(client.getId()));
  cleanups.push(async () => { await within(5000, peerServer.close()).catch(() => {}); step('PeerServer closed'); });

  // A fixed moz-extension:// UUID, so the test knows the extension's origin before installing it.
  const uuid = randomUUID();
  const origin = `moz-extension://${uuid}`;
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    // Generous: on an idle machine Firefox is up in a few seconds, but it took ~30 s here under
    // heavy load from parallel Chromium tests.
    timeout: 90000,
    protocolTimeout: 60000,
    // WebDriver BiDi only navigates to http(s)/file/blob URLs unless system access is allowed;
    // the options page (moz-extension://) is where the test writes the settings.
    args: ['--remote-allow-system-access'],
    acceptInsecureCerts: true, // the fixture server's certificate is self-signed
    defaultViewport: { width: 1100, height: 720 },
    extraPrefsFirefox: {
      'network.dns.localDomains': 'live.nicovideo.jp',
      'network.stricttransportsecurity.preloadlist': false,
      'extensions.webextensions.uuids': JSON.stringify({ [addonId]: uuid }),
      'media.autoplay.default': 0,
      'media.navigator.streams.fake': true,
      'media.navigator.permission.disabled': true,
    },
  });
  cleanups.push(async () => {
    await within(10000, browser.close()).catch(() => browser.process()?.kill('SIGKILL'));
    step('browser closed');
  });
  step(`launched ${await browser.version()}`);

  const installedId = await browser.installExtension(EXTENSION_DIR);
  assert.equal(installedId, addonId, 'installed as a temporary add-on under its gecko id');
  step(`installed ${installedId}`);

  // Settings go in through the extension's own storage, as the options page would put them: the
  // local PeerServer, never the default public one.
  // (Puppeteer never sees that navigation end — the tab moves to the extension process — but
  // the page is there to evaluate in, so the test waits for it directly.)
  const optionsPage = await browser.newPage();
  optionsPage.goto(`${origin}/options/options.html`, { timeout: 20000 }).catch(() => {});
  await waitFor('the options page', () => within(2000, optionsPage.evaluate(() =>
    location.protocol === 'moz-extension:' && document.readyState === 'complete' && !!globalThis.browser?.storage)), { timeout: 20000 });
  const granted = await within(5000, optionsPage.evaluate(async (s) => {
    await browser.storage.local.set({ settings: s });
    return browser.permissions.getAll();
  }, peerServerSettings(peerServer)));
  step(`settings written; permissions granted: ${JSON.stringify(granted)}`);

  const page = await browser.newPage();
  await page.goto(`https://live.nicovideo.jp/watch/${PROGRAM}`);
  step('watch page loaded');
  assert.match(await within(5000, page.title()), /ニコニコ生放送/, 'the fixture watch page loaded');
  step('title checked');

  // The content script puts a <treecast-overlay> host (closed shadow root) on the page and makes
  // it visible once its stored place is read.
  await waitFor('the overlay to become visible', () => within(2000, page.evaluate(() => {
    const host = document.querySelector('treecast-overlay');
    return host?.style.getPropertyValue('visibility') === 'visible' && host.dataset.visible === 'true';
  })), { timeout: 15000 });
  step('overlay visible');
  const rect = await within(5000, page.evaluate(() => {
    const r = document.querySelector('treecast-overlay').getBoundingClientRect();
    return { left: r.left, top: r.top, width: r.width, height: r.height };
  }));
  t.diagnostic(`overlay host at ${JSON.stringify(rect)}`);
  assert.ok(rect.width >= 240 && rect.height >= 135, 'the overlay has a real size');

  // The player frame is inside the closed shadow root, but it is still a child frame of the page.
  // Puppeteer does not follow its navigation into the extension process (its url() stays
  // about:blank), so ask the frame itself where it is.
  const playerUrl = `${origin}/player/player.html`;
  let player;
  let playerHref;
  await waitFor('the player frame', async () => {
    for (const frame of page.mainFrame().childFrames()) {
      const href = await within(2000, frame.evaluate(() => location.href)).catch(() => '');
      if (href.startsWith(playerUrl)) {
        player = frame;
        playerHref = href;
        return true;
      }
    }
    return false;
  }, { timeout: 15000 });
  step('player frame found');
  const url = new URL(playerHref);
  assert.equal(url.searchParams.get('program'), PROGRAM);
  assert.equal(url.searchParams.get('role'), 'viewer');
  assert.ok(url.searchParams.get('token'), 'the overlay gave the player its token');

  // The player page ran: its wasm core and PeerJS came up (window.treecast is set on success and
  // on failure; a failure carries `error`).
  let state;
  await waitFor('the player to be ready', async () => {
    state = await within(2000, player.evaluate(() => window.treecast && { ready: window.treecast.ready, error: window.treecast.error ?? null, state: window.treecast.stats?.().state ?? null })).catch(() => null);
    return state?.ready;
  }, { timeout: 15000 });
  t.diagnostic(`player: ${JSON.stringify(state)}`);
  assert.equal(state.error, null, 'the player started without an error');
  // It signals through the local PeerServer from the settings (not the public default).
  await waitFor('the player to connect to the local PeerServer', () => peerClients.length > 0, { timeout: 15000 });
  step(`PeerServer clients: ${peerClients.join(', ')}`);

  mkdirSync(ART, { recursive: true });
  await within(15000, page.screenshot({ path: join(ART, 'firefox-overlay.png') }));
  step('screenshot taken');

  // The relay dashboard page loads too (issue 9): it updates (no broadcast here: it says it is
  // waiting), and its module worker turns a frame into a scene and paints it.
  const dashboard = await browser.newPage();
  dashboard.goto(`${origin}/dashboard/dashboard.html?program=${PROGRAM}`, { timeout: 20000 }).catch(() => {});
  await waitFor('the dashboard page to update', () => within(2000, dashboard.evaluate(() =>
    Number(document.documentElement.dataset.updates ?? 0) >= 1 && document.getElementById('status').dataset.state)), { timeout: 20000 });
  const dashState = await within(5000, dashboard.evaluate(() => document.getElementById('status').dataset.state));
  assert.equal(dashState, 'waiting', 'no broadcaster answers on a viewer\'s page');
  const sceneNodes = await within(10000, dashboard.evaluate(() => new Promise((resolve, reject) => {
    const worker = new Worker('/dashboard/frame_worker.js', { type: 'module' });
    const frame = {
      broadcaster: 'tc-lv1-0011223344556677', epoch: 1, at_ms: Date.now(), next_seq: 1, first_seq: 1, events: [],
      summary: { viewers: 2 }, levels: [{ depth: 1, viewers: 1 }, { depth: 2, viewers: 1 }],
      nodes: [['tc-v-000000000000000000000001', -1, null, 1, 2, 1, 2, [30, 40, 0, 1, 500, 0]], ['tc-v-000000000000000000000002', 0, -1, 2, 2, 0, 1, null]],
    };
    worker.onerror = (e) => reject(new Error(e.message));
    worker.onmessage = ({ data }) => resolve(data.scene?.nodes.map((n) => n.health));
    worker.postMessage({ type: 'frame', text: JSON.stringify(frame), sourceFps: 30 });
  })));
  assert.deepEqual(sceneNodes, ['root', 'ok', 'unknown'], 'the dashboard worker runs in Firefox');
  await within(15000, dashboard.screenshot({ path: join(ART, 'firefox-dashboard.png') }));
  step('dashboard page checked');
});
