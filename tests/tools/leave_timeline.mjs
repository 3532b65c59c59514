// Timeline of a relay's departure, for debugging repairs: a broadcaster and N viewers (env N, default 3),
// the largest relay at depth DEPTH (default 1) closes its tab (or is killed with KILL=1); prints every
// viewer's presented frames (ms from the event; descendants of the leaver marked *) and the commands
// its player ran, with peer ids replaced by names.
// Run: N=10 DEPTH=2 scripts/in-loopback.sh node tests/tools/leave_timeline.mjs
import { readFileSync } from 'node:fs';
import { startSession } from '../harness/session.mjs';
import { frameSummary, recordFrames } from '../harness/browsers.mjs';
import { settledTree, descendants } from '../harness/tree.mjs';
import { chromiumProcesses, cpuTicks, profileOf } from '../harness/procs.mjs';

/**
 * CPU ticks so far by kind, for the processes found beforehand (reading only their stat). With
 * CPU=1 they are sampled every 50 ms around the event and printed per 100 ms: a burst that
 * starves everyone shows.
 */
function ticksByKind(kinds) {
  const out = new Map();
  for (const [pid, kind] of kinds) out.set(kind, (out.get(kind) ?? 0) + cpuTicks(`/proc/${pid}/stat`));
  // The whole machine: kernel time, niced processes (Chromium's renderers run at nice 5 here),
  // idle, and time stolen by the host; a stall no Chromium process shows may show there.
  const [, , nice, system, idle, , , , steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/ +/).map(Number);
  Object.entries({ nice, system, idle, steal }).forEach(([k, v]) => out.set(`machine:${k}`, v));
  return out;
}

const N = Number(process.env.N ?? 3);
const WINDOW_MS = Number(process.env.WINDOW_MS ?? 4000);
const s = await startSession({ slots: 2 });
try {
  const b = await s.broadcaster();
  const vs = [];
  for (let i = 0; i < N; i++) vs.push(await s.viewer());
  for (const v of vs) await s.playing(v, { timeout: 60000 });
  const tree = await settledTree(b, N);
  const ids = new Map();
  for (const v of vs) ids.set((await v.stats()).peerId, v);
  const names = new Map([...ids].map(([id, v]) => [id, v.name]));
  names.set(tree.broadcaster, 'B');
  const rename = (text) => text.replace(/tc-[a-z0-9-]+/g, (id) => names.get(id) ?? id.slice(0, 12));
  for (const v of vs) await recordFrames(await v.player());
  await new Promise((r) => setTimeout(r, 2000));
  const leaver = tree.nodes.filter((n) => n.depth === Number(process.env.DEPTH ?? 1) && n.children.length).sort((a, b) => b.subtree_size - a.subtree_size)[0];
  console.log('tree (name parent standby depth):', tree.nodes.map((n) => `${names.get(n.id)}<${names.get(n.parent) ?? '?'}/${names.get(n.standby) ?? '-'}@${n.depth}`).join(' '));
  const below = new Set(descendants(tree, leaver.id));
  console.log('leaver', names.get(leaver.id), process.env.KILL ? '(killed)' : '(tab closed)');
  const samples = [];
  // The leaver's own processes apart: is a burst its teardown, or everyone's repair work?
  const leaverProfile = ids.get(leaver.id).profile;
  const kinds = process.env.CPU ? new Map([...chromiumProcesses()].map(([pid, kind]) => [pid, profileOf(pid) === leaverProfile ? `leaver:${kind}` : kind])) : null;
  const sampler = kinds ? setInterval(() => samples.push([Date.now(), ticksByKind(kinds)]), 50) : null;
  if (sampler) await new Promise((r) => setTimeout(r, 400));
  const t0 = Date.now();
  // SPIN=ms: the leaver's player only blocks its main thread that long, to see whether relaying
  // goes on meanwhile.
  if (process.env.SPIN) (await ids.get(leaver.id).player()).evaluate((ms) => { const u = performance.now() + ms; while (performance.now() < u); }, Number(process.env.SPIN)).catch(() => {});
  else if (process.env.KILL) ids.get(leaver.id).kill(); else await ids.get(leaver.id).closeTab();
  const leaverProcs = () => [...chromiumProcesses()].filter(([pid]) => profileOf(pid) === leaverProfile).map(([pid, kind]) => `${pid}:${kind}`);
  const leaverBefore = kinds ? [...kinds].filter(([, k]) => k.startsWith('leaver:')).map(([pid, k]) => `${pid}:${k.slice(7)}`) : [];
  await new Promise((r) => setTimeout(r, 600));
  const leaverAfter = kinds ? leaverProcs() : [];
  await new Promise((r) => setTimeout(r, WINDOW_MS - 600));
  // Processes the leaver started while closing (a fresh renderer costs everyone CPU here).
  if (kinds) console.log(`leaver's processes before: ${leaverBefore.join(' ')}; 600 ms after: ${leaverAfter.join(' ')}`);
  if (sampler) {
    clearInterval(sampler);
    // Per 100 ms bucket: ticks used by each kind (2 cores: 20 ticks a bucket at most).
    const rows = [];
    for (let i = 2; i + 2 < samples.length; i += 2) {
      const [at, now] = samples[i + 2];
      const [, then] = samples[i];
      const used = [...now].map(([k, v]) => [k, v - (then.get(k) ?? v)]).filter(([, v]) => v > 0);
      rows.push(`${at - t0}: ${used.filter(([k]) => !k.startsWith('machine:')).reduce((a, [, v]) => a + v, 0)} (${used.map(([k, v]) => `${k} ${v}`).join(' ')})`);
    }
    console.log('cpu ticks per 100 ms (ms after the event: total (by kind)):\n  ' + rows.join('\n  '));
  }
  const bLog = await (await b.player()).evaluate((t) => window.treecast.log().filter((l) => l.t > t - 200 && !/ hb/.test(l.text)).map((l) => `${l.t - t} ${l.text}`), t0);
  console.log('B:', rename(bLog.join(' | ')));
  for (const [id, v] of ids) {
    if (id === leaver.id && !process.env.SPIN) continue;
    const f = await v.player();
    const sum = await frameSummary(f, t0, t0 + WINDOW_MS);
    const frames = await f.evaluate(([t, w]) => window.__frames.filter((x) => x > t - 300 && x < t + w).map((x) => x - t), [t0, WINDOW_MS]);
    const log = await f.evaluate((t) => window.treecast.log().filter((l) => l.t > t - 200 && !/ hb/.test(l.text)).map((l) => `${l.t - t} ${l.text}`), t0);
    console.log(`${below.has(id) ? '*' : ' '}${v.name} gap ${sum.maxGapMs} frames ${frames.map(Math.round).join(',')}`);
    if (log.length) console.log('    ', rename(log.join(' | ')));
    if (process.env.RTP) {
      // Video RTP counters per edge: keyframe requests (PLI) and freezes tell a decoder that waits.
      const rtp = await f.evaluate(async () => {
        const d = window.treecast.node.driver;
        const out = [];
        for (const [side, map] of [['up', d.parents], ['down', d.children]]) {
          for (const [peer, edge] of map) {
            if (!edge.pc) continue;
            (await edge.pc.getStats()).forEach((r) => {
              if (r.kind !== 'video') return;
              if (r.type === 'inbound-rtp') out.push(`${side} ${peer} in: dec ${r.framesDecoded} key ${r.keyFramesDecoded} pli ${r.pliCount} nack ${r.nackCount} freezes ${r.freezeCount}/${Math.round((r.totalFreezesDuration ?? 0) * 1000)}ms drop ${r.framesDropped}`);
              if (r.type === 'outbound-rtp') out.push(`${side} ${peer} out: enc ${r.framesEncoded} key ${r.keyFramesEncoded} pli ${r.pliCount} limit ${r.qualityLimitationReason}`);
            });
          }
        }
        return out;
      });
      console.log('     rtp:', rename(rtp.join(' || ')));
    }
  }
} catch (e) { console.error('ERR', e); }
await s.close();
process.exit(0);
