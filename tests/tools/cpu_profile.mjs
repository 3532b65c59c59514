// Where the CPU goes while a small broadcast runs: a broadcaster and N viewers (env N, default 3),
// then 10 s of /proc sampling grouped by Chromium process type (browser, gpu, utility kinds,
// renderers with or without the extension), as % of one core, summed over all peers.
// Run: N=3 [AUDIO=0] [FPS=12] scripts/in-loopback.sh node tests/tools/cpu_profile.mjs
import { readFileSync, readdirSync } from 'node:fs';
import { SMALL_PATTERN, startSession } from '../harness/session.mjs';

const N = Number(process.env.N ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 10);
const HZ = 100;

function processes() {
  const out = new Map();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/);
      if (!args[0].includes('chromium')) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      const type = args.find((a) => a.startsWith('--type='))?.slice(7) ?? 'browser';
      const sub = args.find((a) => a.startsWith('--utility-sub-type='))?.slice(19).split('.').pop() ?? '';
      const kind = type === 'renderer' ? (args.some((a) => a.startsWith('--extension-process')) ? 'renderer(extension)' : 'renderer(page)') : sub ? `${type}:${sub}` : type;
      out.set(pid, { kind, ticks });
      // Threads of the extension renderers (decode, encode, main thread, compositor...).
      if (kind === 'renderer(extension)') {
        for (const tid of readdirSync(`/proc/${pid}/task`)) {
          const t = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
          const name = t.slice(t.indexOf('(') + 1, t.lastIndexOf(')')).replace(/[0-9]+$/, '#');
          const f = t.slice(t.lastIndexOf(')') + 2).split(' ');
          out.set(`${pid}/${tid}`, { kind: `  thread ${name}`, ticks: Number(f[11]) + Number(f[12]) });
        }
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
  for (const v of vs) { const st = await v.stats(); console.log(`  ${v.name}: fps ${st.fps}, depth ${st.depth}`); }
} finally {
  await s.close();
}
process.exit(0);
