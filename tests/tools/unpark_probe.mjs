// How long a parked standby sender takes to deliver its first presented frame once unparked, by
// way of parking: `replace` (replaceTrack(null) / replaceTrack(track)), `active` (encodings
// active false / true, track kept). One plain Chromium page, loopback peer connections.
// scripts/in-loopback.sh node tests/tools/unpark_probe.mjs
import { createServer } from 'node:http';
import { launchPlainBrowser } from '../harness/browsers.mjs';

const server = createServer((req, res) => { res.setHeader('content-type', 'text/html'); res.end('<!doctype html><video muted autoplay playsinline></video>'); });
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const browser = await launchPlainBrowser(['--autoplay-policy=no-user-gesture-required']);
const page = await browser.newPage();
await page.goto(`http://127.0.0.1:${server.address().port}/`);
for (const mode of (process.env.MODES ?? 'replace,active,replace-fresh,active-fresh,replace-fresh,active-fresh').split(',')) {
  const r = await page.evaluate(async (mode) => {
    (await navigator.mediaDevices.getUserMedia({ audio: true })).getTracks().forEach((t) => t.stop());
    const canvas = Object.assign(document.createElement('canvas'), { width: 256, height: 144 });
    const ctx = canvas.getContext('2d');
    let n = 0;
    const timer = setInterval(() => { ctx.fillStyle = `hsl(${(n++ * 7) % 360} 80% 50%)`; ctx.fillRect(0, 0, 256, 144); }, 1000 / 12);
    const track = canvas.captureStream(12).getVideoTracks()[0];
    const a = new RTCPeerConnection();
    const b = new RTCPeerConnection();
    a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
    b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
    const sender = a.addTrack(track);
    const fresh = mode.endsWith('-fresh');
    const byActive = mode.startsWith('active');
    const setActive0 = async (on) => { const p = sender.getParameters(); p.encodings.forEach((e) => { e.active = on; }); await sender.setParameters(p); };
    // A standby edge as the extension makes it: parked before it ever sent.
    if (fresh) { if (byActive) await setActive0(false); else await sender.replaceTrack(null); }
    const got = new Promise((r) => { b.ontrack = (e) => r(e.track); });
    await a.setLocalDescription(); await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(); await a.setRemoteDescription(b.localDescription);
    const video = document.querySelector('video');
    video.srcObject = new MediaStream([await got]);
    video.play().catch(() => {});
    const frames = [];
    const step = () => { frames.push(performance.now()); video.requestVideoFrameCallback(step); };
    video.requestVideoFrameCallback(step);
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const setActive = async (on) => { const p = sender.getParameters(); p.encodings.forEach((e) => { e.active = on; }); await sender.setParameters(p); };
    await sleep(2000);
    const before = frames.length;
    if (!fresh) { if (byActive) await setActive(false); else await sender.replaceTrack(null); }
    await sleep(1000);
    const sent = async () => { let n = 0; (await a.getStats()).forEach((r) => { if (r.type === 'outbound-rtp') n += r.bytesSent; }); return n; };
    const s0 = await sent();
    await sleep(2000);
    const bytesWhileParked = (await sent()) - s0;
    const parked = frames.filter((f) => f > performance.now() - 2000).length;
    const t0 = performance.now();
    if (byActive) await setActive(true); else await sender.replaceTrack(track);
    await sleep(2000);
    const first = frames.find((f) => f > t0);
    clearInterval(timer); a.close(); b.close(); track.stop();
    // The first second after the unpark, frame to frame: does the stream stall after its first?
    const after = frames.filter((f) => f > t0 && f < t0 + 1000).map((f) => Math.round(f - t0));
    const gapsAfter = after.slice(1).map((f, i) => f - after[i]);
    return { mode, framesBefore: before, framesWhileParked: parked, bytesWhileParked, firstFrameMs: first ? Math.round(first - t0) : null, largestGapAfterFirstMs: Math.max(0, ...gapsAfter), framesAfterMs: after.join(',') };
  }, mode);
  console.log(JSON.stringify(r));
}
await browser.close();
server.close();
