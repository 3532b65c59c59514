// `make demo`: a whole broadcast on this machine. A local stock PeerServer, local copies of a
// Niconico watch page, one Chromium with the extension as the streamer (test pattern) and several
// as viewers. Prints every viewer's state and the tree, writes screenshots under demo-out/, stops
// on Ctrl-C or after DURATION seconds. With a display (DISPLAY set) the windows are real.
import { mkdirSync } from 'node:fs';
import { startSession } from './harness/session.mjs';

const viewers = Number(process.env.VIEWERS ?? 4);
const duration = Number(process.env.DURATION ?? 0);
const headless = !process.env.DISPLAY;
const out = 'demo-out';
mkdirSync(out, { recursive: true });

const session = await startSession({ slots: 2 });
let stopping = false;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  console.log('demo: stopping');
  await session.close();
  process.exit(code);
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

try {
  const small = { width: 900, height: 600 };
  console.log(`demo: PeerServer on 127.0.0.1:${session.peerServer.port}, program ${session.program}`);
  const broadcaster = await session.launch('broadcaster', '1001', { headless, size: small });
  await broadcaster.openWatch(session.program);
  const frame = await broadcaster.player();
  await frame.evaluate(() => window.treecast.startBroadcast({ source: 'pattern', fanout: 1 }));
  console.log('demo: the streamer is broadcasting the test pattern');
  const peers = [];
  for (let i = 0; i < viewers; i++) {
    peers.push(await session.viewer({ name: `viewer${i + 1}`, open: true, headless, size: small }));
    console.log(`demo: viewer${i + 1} opened the watch page`);
  }
  const started = Date.now();
  let shot = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 2000));
    const rows = [];
    for (const p of peers) {
      const s = await p.stats().catch((e) => ({ state: `error: ${e.message}` }));
      rows.push(`${p.name.padEnd(9)} ${String(s.state).padEnd(10)} depth ${s.depth ?? '-'}  parent ${s.parentId ?? '-'}  standby ${s.standbyId ?? '-'}  fps ${s.fps ?? '-'}  stalls ${s.stalls?.count ?? '-'}`);
    }
    const tree = await broadcaster.player().then((f) => f.evaluate(() => window.treecast.tree())).catch(() => null);
    console.log(`\n--- ${Math.round((Date.now() - started) / 1000)} s\n${rows.join('\n')}\ntree: ${JSON.stringify(tree)}`);
    if (shot++ % 5 === 0) {
      await broadcaster.page.screenshot({ path: `${out}/broadcaster.png` });
      for (const p of peers) await p.page.screenshot({ path: `${out}/${p.name}.png` }).catch(() => {});
      console.log(`demo: screenshots in ${out}/`);
    }
    if (duration && Date.now() - started >= duration * 1000) break;
  }
  await stop(0);
} catch (err) {
  console.error('demo failed:', err);
  await stop(1);
}
