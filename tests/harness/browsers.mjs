// One Chromium per simulated peer (extension pages of one profile share a process), with the real
// extension loaded and live.nicovideo.jp mapped to the local fixture server.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const ROOT = resolve(new URL('../..', import.meta.url).pathname);
export const EXTENSION_DIR = join(ROOT, 'dist', 'chrome');

/** Chromium's id for an unpacked extension: sha256 of its absolute path, first 32 hex digits as a-p. */
export function unpackedExtensionId(dir) {
  const hex = createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 32);
  return [...hex].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join('');
}

const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--allow-loopback-in-peer-connection',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required', '--ignore-certificate-errors',
  // Keep background tabs and hidden frames running at full speed, as a viewer's would be.
  '--disable-renderer-backgrounding', '--disable-background-timer-throttling',
];

export function peerServerSettings(peerServer) {
  return {
    server: { host: '127.0.0.1', port: peerServer.port, path: peerServer.path, key: 'peerjs', secure: false },
    iceServers: [],
    slots: 2,
    language: 'auto',
  };
}

/**
 * Launches a browser for one peer. `user` is the Niconico user id the fixture server shows it as.
 * Returns helpers to open a watch page, reach the overlay player frame, and stop the peer.
 */
export async function launchPeer({ name, user, nico, settings, extensionDir = EXTENSION_DIR, headless = true, size, extraArgs = [] }) {
  const profile = mkdtempSync(join(tmpdir(), `treecast-${name}-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless,
    viewport: size ?? { width: 1100, height: 720 },
    args: [...FLAGS, ...extraArgs, `--disable-extensions-except=${extensionDir}`, `--load-extension=${extensionDir}`,
      `--host-resolver-rules=MAP live.nicovideo.jp:443 127.0.0.1:${nico.port}`],
  });
  const extensionId = unpackedExtensionId(extensionDir);
  const origin = `chrome-extension://${extensionId}`;
  if (user != null) {
    await context.addCookies([{ name: 'fixture_user', value: String(user), url: 'https://live.nicovideo.jp' }]);
  }
  // Settings go in through the extension's own storage, as the options page would put them; the
  // one getUserMedia grant lets Chromium gather loopback ICE candidates (test machine only).
  const setup = await context.newPage();
  await setup.goto(`${origin}/options/options.html`);
  await setup.evaluate(async (s) => {
    if (s) await chrome.storage.local.set({ settings: s });
    (await navigator.mediaDevices.getUserMedia({ audio: true })).getTracks().forEach((t) => t.stop());
  }, settings ?? null);
  await setup.close();

  let closed = false;
  const peer = {
    name, context, extensionId, origin, profile,
    page: null,
    async openWatch(programId) {
      peer.page = context.pages()[0] ?? await context.newPage();
      await peer.page.goto(`https://live.nicovideo.jp/watch/${programId}`);
      return peer.page;
    },
    /** The overlay player's frame once it has loaded and said it is ready. */
    async player(timeout = 15000) {
      const deadline = Date.now() + timeout;
      for (;;) {
        const frame = peer.page?.frames().find((f) => f.url().startsWith(`${origin}/player/player.html`));
        if (frame && await frame.evaluate(() => !!window.treecast?.ready).catch(() => false)) return frame;
        if (Date.now() > deadline) throw new Error(`${name}: no overlay player after ${timeout} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stats() { return (await peer.player()).evaluate(() => window.treecast.stats()); },
    /** Graceful: close the tab, as a viewer closing it would (pagehide runs). */
    async closeTab() { await peer.page.close({ runBeforeUnload: true }); },
    /** Abrupt: SIGKILL every process of this browser, as a crash would. */
    kill() {
      if (closed) return;
      closed = true;
      try { execFileSync('pkill', ['-KILL', '-f', `user-data-dir=${profile}`]); } catch { /* already gone */ }
    },
    async close() {
      if (closed) return;
      closed = true;
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
  return peer;
}

/**
 * A plain Chromium without the extension (an attacker's page, a probe), on loopback, allowed to
 * make WebRTC connections there; `extraArgs` adds flags.
 */
export function launchPlainBrowser(extraArgs = []) {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run',
      '--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', ...extraArgs] });
}

/** Starts recording presented frames in a player frame (independent of the player's own counters). */
export async function recordFrames(frame) {
  await frame.evaluate(() => {
    const video = document.querySelector('video');
    const log = (window.__frames = []);
    // When the compositor presented each frame (wall clock) and its count: a busy main thread
    // delays the callback, not the picture.
    const shown = (window.__presented = []);
    // Wall-clock times, so gaps line up with events the test causes in other browsers.
    const step = (_, meta) => {
      log.push(Date.now());
      shown.push([performance.timeOrigin + meta.presentationTime, meta.presentedFrames]);
      video.requestVideoFrameCallback(step);
    };
    video.requestVideoFrameCallback(step);
  });
}

/**
 * Frames presented and the largest gap between presented frames in [since, until] (wall-clock ms),
 * counting the stretch from `since` to the first frame and from the last frame to `until`;
 * `maxGapAt`: where that gap starts, in ms after `since`.
 */
export async function frameSummary(frame, since = 0, until = Date.now()) {
  return frame.evaluate(([from, to]) => {
    const t = (window.__frames ?? []).filter((x) => x >= from && x <= to);
    let maxGap = 0;
    let maxGapAt = null;
    const edges = from > 0 ? [from, ...t, to] : [...t, to];
    for (let i = 1; i < edges.length; i++) {
      if (edges[i] - edges[i - 1] > maxGap) { maxGap = edges[i] - edges[i - 1]; maxGapAt = edges[i - 1] - from; }
    }
    // The same by presentation time; a callback that skipped frames leaves its gap unknown
    // inside, so it counts whole (an upper bound), and the skipped frames are counted.
    const p = (window.__presented ?? []).filter(([x]) => x >= from && x <= to);
    let maxShownGap = 0;
    let skipped = 0;
    const marks = from > 0 ? [[from, null], ...p, [to, null]] : [...p, [to, null]];
    for (let i = 1; i < marks.length; i++) {
      maxShownGap = Math.max(maxShownGap, marks[i][0] - marks[i - 1][0]);
      if (marks[i][1] !== null && marks[i - 1][1] !== null) skipped += Math.max(0, marks[i][1] - marks[i - 1][1] - 1);
    }
    return { frames: t.length, maxGapMs: Math.round(maxGap), maxGapAt, last: t[t.length - 1] ?? null, presentedGapMs: Math.round(maxShownGap), skipped };
  }, [since, until]);
}

export async function waitFor(what, fn, { timeout = 20000, interval = 100 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, interval));
  }
}
