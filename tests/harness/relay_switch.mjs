// What a relay's child sees when the relay's upstream changes to one that lags by `lagMs` (a
// deeper parent) and back. One plain Chromium page, loopback peer connections: source -> relay
// (A, no extra delay) and source -> relay (B, jitterBufferTarget lagMs); the relay forwards A to
// the child, then B, then A again, either by `replaceTrack` on the child's sender (`direct`) or
// through the extension's Forwarder (`forwarder`). Gaps come from the child's presented frames.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { ROOT, launchPlainBrowser } from './browsers.mjs';

/** `{ base, toLagging, toLeading }`: the child's largest gap (ms) in the steady state and after each switch. */
export async function measureSwitchGaps({ mode = 'direct', lagMs = 300 } = {}) {
  // The extension's player modules are served too, so the real Forwarder runs.
  const server = createServer((req, res) => {
    const m = /^\/player\/([a-z_.]+\.js)$/.exec(req.url);
    if (m) { res.setHeader('content-type', 'text/javascript'); res.end(readFileSync(`${ROOT}/extension/player/${m[1]}`)); return; }
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html><video muted autoplay playsinline></video>');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const browser = await launchPlainBrowser(['--autoplay-policy=no-user-gesture-required']);
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    return await page.evaluate(relayPage, [lagMs, mode]);
  } finally {
    await browser.close();
    server.close();
  }
}

async function relayPage([lag, mode]) {
  // One getUserMedia grant: Chromium gathers loopback candidates only after it.
  (await navigator.mediaDevices.getUserMedia({ audio: true })).getTracks().forEach((t) => t.stop());
  const canvas = Object.assign(document.createElement('canvas'), { width: 256, height: 144 });
  const ctx = canvas.getContext('2d');
  let n = 0;
  setInterval(() => { ctx.fillStyle = `hsl(${(n++ * 7) % 360} 80% 50%)`; ctx.fillRect(0, 0, 256, 144); }, 1000 / 12);
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
  let forwarder = null;
  if (mode === 'forwarder') {
    const { Forwarder } = await import('/player/forwarder.js');
    forwarder = new Forwarder();
    forwarder.from(A.track);
  }
  const out = await link(forwarder ? forwarder.track : A.track);
  const use = (track) => (forwarder ? forwarder.from(track) : out.sender.replaceTrack(track));
  const video = document.querySelector('video');
  video.srcObject = new MediaStream([out.track]);
  await video.play().catch(() => {});
  const frames = [];
  const step = () => { frames.push(performance.now()); video.requestVideoFrameCallback(step); };
  video.requestVideoFrameCallback(step);
  // The largest gap in [t0, t0 + ms], counting the stretch from t0 to the first frame.
  const gapAfter = (t0, ms) => {
    const f = [t0, ...frames.filter((x) => x >= t0 && x <= t0 + ms)];
    let g = 0;
    for (let i = 1; i < f.length; i++) g = Math.max(g, f[i] - f[i - 1]);
    return Math.round(g);
  };
  await sleep(4000);
  const base = gapAfter(performance.now() - 2000, 2000);
  const t1 = performance.now();
  await use(B.track);
  await sleep(3000);
  const toLagging = gapAfter(t1, 3000);
  const t2 = performance.now();
  await use(A.track);
  await sleep(3000);
  const toLeading = gapAfter(t2, 3000);
  forwarder?.stop();
  return { base, toLagging, toLeading };
}
