// The media benchmark (issue 6): `make bench-media`. Real broadcasts of the test pattern through
// the real extension, a local stock PeerServer and fixture watch pages, one Chromium per peer, in
// a loopback-only namespace; treecast's default policy and the original library's (`seed`) side
// by side, runs interleaved. Prints a table, writes bench/results/media.json (everything),
// media-figures.json (the figures, kept in the repository), media.md, media.svg.
//
// Environment: RUNS (3), POLICIES (treecast,seed), VIEWERS (12), MAIN_VIEWERS (8), SCALE_MAX (20),
// PATTERN (WxH@fps, default below),
// OUT (bench/results). Meant to run under `flock /tmp/treecast-cpu.lock` (the Makefile does).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { ROOT } from '../../tests/harness/browsers.mjs';
import { startFleet } from './fleet.mjs';
import { oneRun } from './scenarios.mjs';
import { aggregate, figuresJson, markdownTable, svgChart, textTable } from './report.mjs';

const RUNS = Number(process.env.RUNS ?? 3);
const POLICIES = (process.env.POLICIES ?? 'treecast,seed').split(',').map((s) => s.trim()).filter(Boolean);
const VIEWERS = Number(process.env.VIEWERS ?? 12);
// Few enough viewers that the machine is not starved (see the scale figure) for the control
// window, latency, quality and the departures; all VIEWERS for joins, uplink and the storm.
const MAIN = Math.min(VIEWERS, Number(process.env.MAIN_VIEWERS ?? 8));
// The scale phase adds viewers beyond VIEWERS, up to this many, while every one keeps 20 fps.
const SCALE_MAX = Math.max(VIEWERS, Number(process.env.SCALE_MAX ?? 20));
const CTX = { all: VIEWERS, main: MAIN };
const [, W, H, FPS] = /^(\d+)x(\d+)@(\d+)$/.exec(process.env.PATTERN ?? '256x144@24') ?? [];
const PATTERN = { width: Number(W), height: Number(H), fps: Number(FPS), audio: true };
const OUT = resolve(ROOT, process.env.OUT ?? 'bench/results');
const SLOTS = 2;

const started = Date.now();
const clock = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s`;
const log = (text) => console.log(`${clock()} ${text}`);

const chromium = (() => { try { return execFileSync(process.env.CHROMIUM ?? '/usr/bin/chromium', ['--version']).toString().trim(); } catch { return 'chromium'; } })();
const setup = `${VIEWERS} viewers (${MAIN} for the control window, latency, quality and departures; up to ${SCALE_MAX} for scale; ${SLOTS} relay slots each) + 1 broadcaster (fan-out 1), one headless ${chromium} each; `
  + `test pattern ${PATTERN.width}x${PATTERN.height} at ${PATTERN.fps} fps with audio, re-encoded at every hop; `
  + `${cpus().length} cores (${cpus()[0]?.model?.trim() ?? 'cpu'}), loopback only; ${RUNS} runs per policy, interleaved`;
log(`media benchmark: ${setup}`);

mkdirSync(OUT, { recursive: true });
const fleet = await startFleet({ viewers: SCALE_MAX, slots: SLOTS, log });
const runs = [];
let failed = false;
const stop = async () => { await fleet.close().catch(() => {}); };
process.on('SIGINT', async () => { await stop(); process.exit(130); });
try {
  for (let i = 1; i <= RUNS; i++) {
    for (const policy of POLICIES) {
      log(`run ${i}/${RUNS}, ${policy}`);
      try {
        const record = await oneRun({ fleet, policy, pattern: PATTERN, main: MAIN, all: VIEWERS, log });
        runs.push({ run: i, ...record });
        log(`run ${i}/${RUNS}, ${policy}: done in ${record.durationS} s (load ${record.load.before.join(' ')} -> ${record.load.after.join(' ')})`);
      } catch (err) {
        failed = true;
        log(`run ${i}/${RUNS}, ${policy} FAILED: ${err?.stack ?? err}`);
        runs.push({ run: i, policy, error: String(err?.message ?? err) });
        // Start the next run from clean browsers.
        for (const m of fleet.all()) { await m.dropTab().catch(() => {}); if (m.crashed) await m.launch().catch(() => {}); }
      }
    }
  }
} finally {
  await stop();
}

const agg = aggregate(runs, POLICIES, CTX);
const total = (Date.now() - started) / 1000;
const result = {
  benchmark: 'treecast media benchmark (issue 6)', date: new Date().toISOString(), setup, pattern: PATTERN, viewers: VIEWERS, slots: SLOTS,
  runsPerPolicy: RUNS, mainViewers: MAIN, policies: POLICIES, durationS: Math.round(total), commit: gitHead(), figures: agg, runs,
};
writeFileSync(join(OUT, 'media.json'), JSON.stringify(result, null, 1));
writeFileSync(join(OUT, 'media-figures.json'), `${JSON.stringify(figuresJson(result), null, 1)}\n`);
writeFileSync(join(OUT, 'media.svg'), svgChart(agg, POLICIES, setup, CTX));
const md = `Set-up: ${setup}. Run ${result.date.slice(0, 16).replace('T', ' ')} UTC at ${result.commit}, ${Math.round(total / 60)} min.\n\n${markdownTable(agg, POLICIES, CTX)}\n`;
writeFileSync(join(OUT, 'media.md'), md);
console.log(`\n${textTable(agg, POLICIES, CTX)}\n`);
console.log(`set-up: ${setup}`);
console.log(`figures: median [min-max] over ${RUNS} runs; '>=' marks a figure where some run hit the end of its window; the last column is seed's median over treecast's.`);
console.log(`wrote ${join(OUT, 'media.json')}, media-figures.json, media.md, media.svg; ${Math.floor(total / 60)} min ${Math.round(total % 60)} s in all`);
process.exit(failed ? 1 : 0);

function gitHead() {
  try { return execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).toString().trim(); } catch { return 'unknown'; }
}
