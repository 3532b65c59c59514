// Does closing a tab stall pictures elsewhere? A broadcaster and N viewers play; a leaf viewer
// (feeds nobody) closes its tab, then an interior relay does: the largest presented-frame gap at
// every other viewer in the 3 s after each close. Usage (loopback only):
//   scripts/in-loopback.sh node tests/tools/close_cost_probe.mjs [viewers]
import { startSession } from '../harness/session.mjs';
import { frameSummary, recordFrames } from '../harness/browsers.mjs';
import { descendants, interiorRelay, settledTree } from '../harness/tree.mjs';

const n = Number(process.argv[2] ?? 8);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const watchdog = setTimeout(() => { console.error('probe: no result in 6 min'); process.exit(2); }, 360000);
const session = await startSession({ slots: 2 });
try {
  const broadcaster = await session.broadcaster();
  const viewers = await session.audience(n);
  for (const v of viewers) await recordFrames(await v.player());
  const ids = new Map(await Promise.all(viewers.map(async (v) => [(await v.stats()).peerId, v])));
  const gapsAt = async (peers, at) => {
    const out = {};
    for (const p of peers) out[p.name] = (await frameSummary(await p.player(), at, at + 3000)).maxGapMs;
    return out;
  };
  for (const kind of ['quiet', 'leaf', 'interior']) {
    await sleep(4000);
    const tree = await settledTree(broadcaster, viewers.filter((v) => !v.gone).length);
    let who = null;
    if (kind === 'leaf') who = tree.nodes.find((x) => !tree.nodes.some((y) => y.parent === x.id || y.standby === x.id));
    if (kind === 'interior') who = interiorRelay(tree, 2) ?? interiorRelay(tree, 1);
    const leaver = who ? ids.get(who.id) : null;
    const below = who ? new Set(descendants(tree, who.id).map((id) => ids.get(id))) : new Set();
    const at = Date.now();
    if (leaver) { leaver.gone = true; await leaver.closeTab(); }
    await sleep(3200);
    const others = viewers.filter((v) => !v.gone && !below.has(v));
    console.log(`${kind}${leaver ? ` (${leaver.name})` : ''}: gaps elsewhere ${JSON.stringify(await gapsAt(others, at))}${below.size ? `; below ${JSON.stringify(await gapsAt([...below], at))}` : ''}`);
  }
} finally {
  await Promise.race([session.close(), sleep(15000)]);
  clearTimeout(watchdog);
  process.exit(0);
}
