// How much CPU one peer's browser costs, by test-pattern setting: a broadcaster, a relay and a
// leaf, 8 s per setting; per process type. It is why the benchmark's pattern and audience are what
// they are (see README.md). Run:
//   flock /tmp/treecast-cpu.lock scripts/in-loopback.sh node bench/media/cpu_probe.mjs [256x144@24 640x360@24 ...]
import { readFileSync } from 'node:fs';
import { browserPids, processes, startFleet } from './fleet.mjs';

const settings = process.argv.slice(2).length ? process.argv.slice(2) : ['256x144@24', '640x360@24', '256x144@12', '160x120@24'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds so far of one browser, by process type. */
function cpuByType(profile) {
  const table = processes();
  const out = {};
  for (const pid of browserPids(profile, table)) {
    const args = table.get(pid).args.join(' '); // child processes rewrite their command line
    const type = /--type=(\S+)/.exec(args)?.[1] ?? 'browser';
    out[type] = (out[type] ?? 0) + table.get(pid).ticks / 100;
  }
  return out;
}

const fleet = await startFleet({ viewers: 2, log: console.log });
try {
  for (const setting of settings) {
    const [, w, h, fps] = /^(\d+)x(\d+)@(\d+)$/.exec(setting);
    const pattern = { width: Number(w), height: Number(h), fps: Number(fps), audio: true };
    await Promise.all(fleet.all().map((m) => m.setPolicy('treecast')));
    const program = fleet.newProgram();
    await fleet.broadcaster.open(program);
    await fleet.broadcaster.eval((p) => window.treecast.startBroadcast({ source: 'pattern', fanout: 1, pattern: p }), pattern);
    for (const v of fleet.viewers) await v.open(program);
    await sleep(5000);
    const before = fleet.all().map((m) => cpuByType(m.peer.profile));
    const t = Date.now();
    await sleep(8000);
    const s = (Date.now() - t) / 1000;
    const after = fleet.all().map((m) => cpuByType(m.peer.profile));
    const roles = await Promise.all(fleet.viewers.map(async (v) => { const st = await v.stats(); return st.children ? 'relay' : 'leaf'; }));
    console.log(`${setting} (load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}), % of one core:`);
    fleet.all().forEach((m, i) => {
      const parts = Object.fromEntries(Object.keys(after[i]).map((k) => [k, Math.round((100 * (after[i][k] - (before[i][k] ?? 0))) / s)]));
      const total = Object.values(parts).reduce((a, b) => a + b, 0);
      console.log(`  ${(i ? roles[i - 1] : 'broadcaster').padEnd(12)} ${String(total).padStart(3)}%  ${JSON.stringify(parts)}`);
    });
    for (const v of fleet.viewers) await v.dropTab();
    await fleet.broadcaster.eval(() => window.treecast.stopBroadcast());
    await fleet.broadcaster.dropTab();
  }
} finally {
  await fleet.close();
}
process.exit(0);
