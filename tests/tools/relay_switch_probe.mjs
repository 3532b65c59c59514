// Probe: what a relay's child sees when the relay swaps its sender's input (replaceTrack) from one
// remote track to another that lags by LAG_MS (a deeper upstream). One page, loopback peer
// connections: source -> relay (A, no extra delay) and source -> relay (B, jitterBufferTarget LAG_MS);
// the relay forwards A to the child, switches to B, then back to A. Prints the child's largest
// presented-frame gap after each switch.
// Run: LAG_MS=300 scripts/in-loopback.sh node tests/tools/relay_switch_probe.mjs
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { ROOT } from '../harness/browsers.mjs';

const LAG_MS = Number(process.env.LAG_MS ?? 300);
// The extension's player modules are served too, so MODE=forwarder runs the real Forwarder.
const server = createServer((req, res) => {
  const m = /^\/player\/([a-z_.]+\.js)$/.exec(req.url);
  if (m) { res.setHeader('content-type', 'text/javascript'); res.end(readFileSync(`${ROOT}/extension/player/${m[1]}`)); return; }
  res.setHeader('content-type', 'text/html'); res.end('<!doctype html><video muted autoplay playsinline></video>');
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--autoplay-policy=no-user-gesture-required', ...(process.env.CHROME_LOG ? ['--enable-logging=stderr', '--v=0'] : [])] });
if (process.env.CHROME_LOG) browser.on?.('disconnected', () => {});
const page = await browser.newPage();
await page.goto(`http://127.0.0.1:${server.address().port}/`);
const MODE = process.env.MODE ?? 'direct'; // direct | passthrough | restamp (breakout box in the relay)
const result = await page.evaluate(async ([lag, mode]) => {
  (await navigator.mediaDevices.getUserMedia({ audio: true })).getTracks().forEach((t) => t.stop());
  const canvas = Object.assign(document.createElement('canvas'), { width: 256, height: 144 });
  const ctx = canvas.getContext('2d');
  let n = 0;
  setInterval(() => { ctx.fillStyle = `hsl(${(n++ * 7) % 360} 80% 50%)`; ctx.fillRect(0, 0, 256, 144); ctx.fillStyle = '#000'; ctx.fillText(String(n), 10, 20); }, 1000 / 12);
  const source = canvas.captureStream(12).getVideoTracks()[0];
  async function link(track, delayMs = 0) {
    const a = new RTCPeerConnection();
    const b = new RTCPeerConnection();
    a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
    b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
    const sender = a.addTrack(track);
    const got = new Promise((r) => { b.ontrack = (e) => { if (delayMs) e.receiver.jitterBufferTarget = delayMs; r(e.track); }; });
    await a.setLocalDescription(); await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(); await a.setRemoteDescription(b.localDescription);
    return { track: await got, sender };
  }
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const A = await link(source);
  const B = await link(source, lag);
  // The relay's forwarded track: the upstream track itself, or a generator fed from it.
  let forward = A.track;
  let pipeFrom = null;
  if (mode === 'forwarder') {
    const { Forwarder } = await import('/player/forwarder.js');
    const f = new Forwarder();
    f.from(A.track);
    pipeFrom = (track) => f.from(track);
    forward = f.track;
  } else if (mode !== 'direct') {
    const gen = new MediaStreamTrackGenerator({ kind: 'video' });
    const writer = gen.writable.getWriter();
    let reader = null;
    pipeFrom = (track) => {
      reader?.cancel().catch(() => {});
      const r = new MediaStreamTrackProcessor({ track }).readable.getReader();
      reader = r;
      (async () => {
        for (;;) {
          const { value, done } = await r.read();
          if (done) return;
          if (reader !== r) { value.close(); return; }
          let frame = value;
          const timestamp = Math.round(performance.now() * 1000);
          if (mode === 'restamp') frame = new VideoFrame(value, { timestamp });
          if (mode === 'copy') {
            const buf = new Uint8Array(value.allocationSize());
            const layout = await value.copyTo(buf);
            frame = new VideoFrame(buf, { format: value.format, codedWidth: value.codedWidth, codedHeight: value.codedHeight, timestamp, layout });
          }
          if (frame !== value) value.close();
          await writer.write(frame);
        }
      })();
    };
    pipeFrom(A.track);
    forward = gen;
  }
  const out = await link(forward);
  const video = document.querySelector('video');
  video.srcObject = new MediaStream([out.track]);
  await video.play().catch(() => {});
  const frames = [];
  const step = () => { frames.push(performance.now()); video.requestVideoFrameCallback(step); };
  video.requestVideoFrameCallback(step);
  const gapAfter = (t0, ms) => { const f = frames.filter((x) => x >= t0 && x <= t0 + ms); let g = 0; for (let i = 1; i < f.length; i++) g = Math.max(g, f[i] - f[i - 1]); return { maxGap: Math.round(g), firstAfter: Math.round((f[0] ?? NaN) - t0), frames: f.length }; };
  await sleep(4000);
  const base = gapAfter(performance.now() - 2000, 2000);
  const t1 = performance.now();
  if (pipeFrom) pipeFrom(B.track); else await out.sender.replaceTrack(B.track);
  await sleep(3000);
  const toLagging = gapAfter(t1, 3000);
  const t2 = performance.now();
  if (pipeFrom) pipeFrom(A.track); else await out.sender.replaceTrack(A.track);
  await sleep(3000);
  const toLeading = gapAfter(t2, 3000);
  // The page's main thread busy for 600 ms (a closing relay's hold): does forwarding go on?
  const t3 = performance.now();
  while (performance.now() < t3 + 600) { /* spin */ }
  await sleep(1000);
  const busy = gapAfter(t3, 1600);
  return { base, toLagging, toLeading, busy };
}, [LAG_MS, MODE]);
console.log(JSON.stringify({ mode: MODE, lagMs: LAG_MS, ...result }));
await browser.close();
server.close();
