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
  t.after(() => nico.close());
  nico.setProgram(PROGRAM, { broadcasterUserId: '1001', status: 'ON_AIR' });
  const peerServer = await startPeerServer({ port: 9000 });
  t.after(() => peerServer.close());

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
  t.after(async () => {
    await within(10000, browser.close()).catch(() => browser.process()?.kill('SIGKILL'));
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
  await optionsPage.evaluate(async (s) => { await browser.storage.local.set({ settings: s }); }, peerServerSettings(peerServer));
  step('settings written');

  const page = await browser.newPage();
  await page.goto(`https://live.nicovideo.jp/watch/${PROGRAM}`);
  step('watch page loaded');
  assert.match(await page.title(), /ニコニコ生放送/, 'the fixture watch page loaded');

  // The content script puts a <treecast-overlay> host (closed shadow root) on the page and makes
  // it visible once its stored place is read.
  await page.waitForSelector('treecast-overlay', { timeout: 15000 });
  await waitFor('the overlay to become visible', () => page.evaluate(() => {
    const host = document.querySelector('treecast-overlay');
    return host?.style.getPropertyValue('visibility') === 'visible' && host.dataset.visible === 'true';
  }), { timeout: 10000 });
  const rect = await page.evaluate(() => {
    const r = document.querySelector('treecast-overlay').getBoundingClientRect();
    return { left: r.left, top: r.top, width: r.width, height: r.height };
  });
  t.diagnostic(`overlay host at ${JSON.stringify(rect)}`);
  assert.ok(rect.width >= 240 && rect.height >= 135, 'the overlay has a real size');

  // The player frame is inside the closed shadow root, but BiDi lists it among the page's frames.
  const playerUrl = `${origin}/player/player.html`;
  let player;
  await waitFor('the player frame', () => {
    player = page.frames().find((f) => f.url().startsWith(playerUrl));
    return !!player;
  }, { timeout: 15000 });
  const url = new URL(player.url());
  assert.equal(url.searchParams.get('program'), PROGRAM);
  assert.equal(url.searchParams.get('role'), 'viewer');
  assert.ok(url.searchParams.get('token'), 'the overlay gave the player its token');

  // The player page ran: its wasm core and PeerJS came up (window.treecast is set on success and
  // on failure; a failure carries `error`).
  let state;
  await waitFor('the player to be ready', async () => {
    state = await player.evaluate(() => window.treecast && { ready: window.treecast.ready, error: window.treecast.error ?? null, state: window.treecast.stats?.().state ?? null }).catch(() => null);
    return state?.ready;
  }, { timeout: 15000 });
  t.diagnostic(`player: ${JSON.stringify(state)}`);
  assert.equal(state.error, null, 'the player started without an error');

  mkdirSync(ART, { recursive: true });
  await page.screenshot({ path: join(ART, 'firefox-overlay.png') });
});
