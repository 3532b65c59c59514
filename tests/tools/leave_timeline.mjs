// Timeline of a relay's departure, for debugging repairs: a broadcaster and N viewers (env N, default 3),
// the largest relay at depth DEPTH (default 1) closes its tab (or is killed with KILL=1); prints each
// descendant's presented frames (ms from the event) and its player's commands.
// Run: N=10 DEPTH=2 scripts/in-loopback.sh node tests/tools/leave_timeline.mjs
import { startSession } from '../harness/session.mjs';
import { frameSummary, recordFrames } from '../harness/browsers.mjs';
import { settledTree, descendants } from '../harness/tree.mjs';
const N = Number(process.env.N ?? 3);
const s = await startSession({ slots: 2 });
try {
  const b = await s.broadcaster();
  const vs = [];
  for (let i = 0; i < N; i++) vs.push(await s.viewer());
  for (const v of vs) await s.playing(v);
  const tree = await settledTree(b, N);
  const ids = new Map();
  for (const v of vs) ids.set((await v.stats()).peerId, v);
  for (const v of vs) await recordFrames(await v.player());
  await new Promise((r) => setTimeout(r, 2000));
  const leaver = tree.nodes.filter((n) => n.depth === Number(process.env.DEPTH ?? 1) && n.children.length).sort((a, b) => b.subtree_size - a.subtree_size)[0];
  console.log("tree", JSON.stringify(tree.nodes.map((n) => [ids.get(n.id)?.name, ids.get(n.parent)?.name ?? "B", ids.get(n.standby)?.name ?? (n.standby ? "B" : "-")])));
  console.log("leaver", ids.get(leaver.id).name);
  const below = descendants(tree, leaver.id).map((id) => ids.get(id));
  const t0 = Date.now();
  if (process.env.KILL) ids.get(leaver.id).kill(); else await ids.get(leaver.id).closeTab();
  await new Promise((r) => setTimeout(r, 4000));
  for (const v of below) {
    const f = await v.player();
    const sum = await frameSummary(f, t0, t0 + 4000);
    const frames = await f.evaluate((t) => window.__frames.filter((x) => x > t - 300 && x < t + 5000).map((x) => x - t), t0);
    const log = await f.evaluate((t) => window.treecast.log().filter((l) => l.t > t - 200 && !/ hb/.test(l.text)).map((l) => `${l.t - t} ${l.text}`), t0);
    console.log(v.name, 'gap', sum.maxGapMs, 'frames', frames.map(Math.round).join(','));
    console.log('   ', log.join(' | '));
  }
} catch (e) { console.error('ERR', e); }
await s.close();
process.exit(0);
