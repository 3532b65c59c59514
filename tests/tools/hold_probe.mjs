// Does a closing tab that holds its pagehide handler keep sending media meanwhile? A sender in a
// cross-site iframe (its own process, as the extension's player frame is) streams a 30 fps camera
// to a receiver in another browser; its tab closes (with beforeunload, as a user's close) while
// pagehide spins HOLD ms (env, default 500). Prints when the receiver's last frames arrived,
// in ms after the close began. Usage (loopback only):
//   HOLD=500 scripts/in-loopback.sh node tests/tools/hold_probe.mjs
import { createServer } from 'node:http';
import { launchPlainBrowser } from '../harness/browsers.mjs';

const HOLD = Number(process.env.HOLD ?? 500);
// The source is the fake camera: its frames come from a capture thread, not the frame's main
// thread (as a relay's come from its upstream), so the spin alone does not stop them.
const frameHtml = `<!doctype html><script>
  window.ready = navigator.mediaDevices.getUserMedia({ video: { width: 256, height: 144, frameRate: 30 } }).then((s) => { window.track = s.getVideoTracks()[0]; });
  addEventListener('pagehide', () => { const u = performance.now() + ${HOLD}; while (performance.now() < u); });
</script>`;
const server = createServer((req, res) => {
  res.setHeader('content-type', 'text/html');
  if (req.url.startsWith('/frame')) return res.end(frameHtml);
  if (req.url.startsWith('/top')) return res.end(`<!doctype html><iframe allow="microphone; camera" src="http://localhost:${server.address().port}/frame"></iframe>`);
  res.end('<!doctype html><video muted autoplay playsinline></video>');
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;
const a = await launchPlainBrowser(['--autoplay-policy=no-user-gesture-required']);
const b = await launchPlainBrowser(['--autoplay-policy=no-user-gesture-required']);
const top = await a.newPage();
await top.goto(`http://127.0.0.1:${port}/top`);
await new Promise((r) => setTimeout(r, 500));
const sender = top.frames().find((f) => f.url().includes('/frame'));
const rx = await b.newPage();
await rx.goto(`http://127.0.0.1:${port}/`);
const unlockIce = () => navigator.mediaDevices.getUserMedia({ audio: true }).then((s) => s.getTracks().forEach((t) => t.stop()));
await sender.evaluate(unlockIce);
await rx.evaluate(unlockIce);
// Non-trickle offer/answer through this process.
const complete = `new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); })`;
const offer = await sender.evaluate(`(async () => { await window.ready; const pc = window.pc = new RTCPeerConnection(); pc.addTrack(window.track); await pc.setLocalDescription(); await ${complete}; return pc.localDescription.toJSON(); })()`);
const answer = await rx.evaluate(`(async (offer) => {
  const pc = window.pc = new RTCPeerConnection();
  const video = document.querySelector('video');
  window.frames_ = [];
  pc.ontrack = (e) => { video.srcObject = new MediaStream([e.track]); const step = () => { window.frames_.push(Date.now()); video.requestVideoFrameCallback(step); }; video.requestVideoFrameCallback(step); };
  await pc.setRemoteDescription(offer); await pc.setLocalDescription(); await ${complete}; return pc.localDescription.toJSON();
})(${JSON.stringify(offer)})`);
await sender.evaluate(`window.pc.setRemoteDescription(${JSON.stringify(answer)})`);
await new Promise((r) => setTimeout(r, 3000));
const t0 = Date.now();
await top.close({ runBeforeUnload: true });
await new Promise((r) => setTimeout(r, HOLD + 1500));
const frames = await rx.evaluate((t) => window.frames_.filter((x) => x > t - 200).map((x) => x - t), t0);
console.log(`hold ${HOLD} ms: frames at ${frames.join(',')} (ms after the close began)`);
await a.close(); await b.close(); server.close();
