// Where the CPU goes while a small broadcast runs: a broadcaster and N viewers (env N, default 3),
// then 10 s of /proc sampling grouped by Chromium process type (browser, gpu, utility kinds,
// renderers with or without the extension), as % of one core, summed over all peers.
// Also prints each viewer's largest presented-frame gap per second (noise with nothing happening).
// Run: N=3 [AUDIO=0] [FPS=12] scripts/in-loopback.sh node tests/tools/cpu_profile.mjs
import { readFileSync, readdirSync } from 'node:fs';
import { SMALL_PATTERN, startSession } from '../harness/session.mjs';
import { chromiumProcesses, cpuTicks } from '../harness/procs.mjs';
import { frameSummary, recordFrames } from '../harness/browsers.mjs';

const N = Number(process.env.N ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 10);
const HZ = 100;

function processes() {
  const out = new Map();
  for (const [pid, kind] of chromiumProcesses()) {
    out.set(pid, { kind, ticks: cpuTicks(`/proc/${pid}/stat`) });
    // Threads of the extension renderers (decode, encode, main thread, compositor...).
    if (kind !== 'renderer(extension)') continue;
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const t = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = t.slice(t.indexOf('(') + 1, t.lastIndexOf(')')).replace(/[0-9]+$/, '#');
        out.set(`${pid}/${tid}`, { kind: `  thread ${name}`, ticks: cpuTicks(`/proc/${pid}/task/${tid}/stat`) });
      }
    } catch { /* gone */ }
  }
  return out;
}

const s = await startSession({ slots: 2 });
try {
  const pattern = { ...SMALL_PATTERN, audio: process.env.AUDIO !== '0', fps: Number(process.env.FPS ?? SMALL_PATTERN.fps) };
  const b = await s.broadcaster({ pattern });
  console.log('pattern', JSON.stringify(pattern));
  const vs = [];
  for (let i = 0; i < N; i++) vs.push(await s.viewer());
  for (const v of vs) await s.playing(v, { timeout: 60000 });
  for (const v of vs) await recordFrames(await v.player());
  await new Promise((r) => setTimeout(r, 3000));
  const before = processes();
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const after = processes();
  const secs = (Date.now() - t0) / 1000;
  const byKind = new Map();
  for (const [pid, { kind, ticks }] of after) {
    const prev = before.get(pid)?.ticks ?? ticks;
    byKind.set(kind, (byKind.get(kind) ?? 0) + (ticks - prev) / HZ / secs * 100);
  }
  const total = [...byKind].filter(([k]) => !k.startsWith(' ')).reduce((a, [, b]) => a + b, 0);
  console.log(`${N + 1} browsers, ${secs.toFixed(1)} s: ${total.toFixed(0)} % of one core in all`);
  for (const [k, v] of [...byKind].sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(28)} ${v.toFixed(1)} %`);
  // The same seconds as the viewers saw them: the largest presented-frame gap per second, a
  // machine's own noise with nothing happening (what a repair's gaps are measured against).
  const perSecond = [];
  for (const v of vs) {
    const f = await v.player();
    const gaps = [];
    for (let at = t0; at + 1000 <= t0 + SECONDS * 1000; at += 1000) gaps.push((await frameSummary(f, at, at + 1000)).maxGapMs);
    perSecond.push(...gaps);
    const st = await v.stats();
    console.log(`  ${v.name}: fps ${st.fps}, depth ${st.depth}, largest gap per second ${gaps.join(' ')}`);
  }
  perSecond.sort((a, b) => a - b);
  const at = (q) => perSecond[Math.min(perSecond.length - 1, Math.floor(q * perSecond.length))];
  console.log(`largest gap per viewer-second: median ${at(0.5)}, p90 ${at(0.9)}, p99 ${at(0.99)}, max ${perSecond.at(-1)} ms; over 150 ms: ${perSecond.filter((g) => g > 150).length} of ${perSecond.length}`);
} finally {
  await s.close();
}
process.exit(0);
