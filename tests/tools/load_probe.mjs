// Steady-state CPU of a relaying audience on this machine: a broadcaster and N viewers play for a
// while, then the CPU time every Chromium process used is summed by process type. Compares test
// set-ups (viewport, pattern) before choosing one. Usage (loopback only):
//   scripts/in-loopback.sh node tests/tools/load_probe.mjs [viewers] [seconds] [WxH viewport]
import { readFileSync, readdirSync } from 'node:fs';
import { startSession } from '../harness/session.mjs';

const viewers = Number(process.argv[2] ?? 6);
const seconds = Number(process.argv[3] ?? 20);
const [w, h] = (process.argv[4] ?? '').split('x').map(Number);
const size = w && h ? { width: w, height: h } : undefined;
// Extra Chromium switches for every browser, space-separated (PROBE_ARGS='--in-process-gpu').
const extraArgs = (process.env.PROBE_ARGS ?? '').split(' ').filter(Boolean);

/** CPU seconds per Chromium process type so far (utime + stime from /proc). */
function cpuByType() {
  const out = {};
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmd, stat;
    try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { continue; }
    if (!cmd.includes('chromium')) continue;
    const type = (cmd.match(/--type=([a-z-]+)/)?.[1] ?? 'browser') + (cmd.includes('--extension-process') ? ' (extension)' : '');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out[type] = (out[type] ?? 0) + (Number(f[11]) + Number(f[12])) / 100;
  }
  return out;
}

const session = await startSession({ slots: 2 });
const watchdog = setTimeout(() => { console.error('load probe: no result in 4 min'); process.exit(2); }, 240000);
try {
  await session.broadcaster({ extraArgs });
  console.error('broadcaster on air');
  const peers = [];
  for (let i = 0; i < viewers; i++) peers.push(await session.viewer({ ...(size ? { size } : {}), extraArgs }));
  console.error(`${viewers} viewers open`);
  await Promise.all(peers.map((p) => session.playing(p, { timeout: 60000 })));
  console.error('all play');
  await new Promise((r) => setTimeout(r, 5000));
  const a = cpuByType();
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const b = cpuByType();
  const wall = (Date.now() - t0) / 1000;
  const rows = Object.keys(b).map((k) => [k, (b[k] - (a[k] ?? 0)) / wall]).sort((x, y) => y[1] - x[1]);
  const total = rows.reduce((s, r) => s + r[1], 0);
  console.log(`${viewers} viewers, viewport ${size ? `${w}x${h}` : 'default'}, switches ${extraArgs.join(' ') || 'none'}: ${(total * 100).toFixed(0)}% of one core over ${wall.toFixed(0)} s`);
  for (const [k, v] of rows) console.log(`  ${k}: ${(v * 100).toFixed(0)}%`);
} finally {
  // As the tests' --test-force-exit: closing may leave handles open; never hold the CPU lock.
  await Promise.race([session.close(), new Promise((r) => setTimeout(r, 15000))]);
  clearTimeout(watchdog);
  process.exit(0);
}
