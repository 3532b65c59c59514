// The coordinator benchmark's workload (src/core/coordinator/workload.rs) run through the shipped
// wasm module (dist/wasm, as `make build` makes it) in real headless Chromium: n joins with mixed
// capacities, then n random joins / leaves / losses, a tick every 100 events; each phase timed in
// the page with performance.now(). Prints a table.
//
// Run (inside the loopback namespace, holding the CPU lock on a shared machine):
//   flock /tmp/treecast-cpu.lock scripts/in-loopback.sh node bench/core/wasm.mjs [--quick] [--n=N]
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, normalize, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const WASM_DIR = join(ROOT, 'dist', 'wasm');
const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

const args = process.argv.slice(2);
const only = args.find((a) => a.startsWith('--n='));
const sizes = only ? [Number(only.slice(4))] : args.includes('--quick') ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];

// A page on http://127.0.0.1 (a secure context) that serves the wasm module beside it.
const server = createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/') {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><meta charset="utf-8"><title>core bench</title>');
    return;
  }
  const file = normalize(join(WASM_DIR, path));
  if (!file.startsWith(WASM_DIR + '/')) {
    res.writeHead(404).end();
    return;
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const rows = [];
try {
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  const version = await browser.version();
  // Warm-up (not reported): lets the engine compile the module's hot code with its optimising tier.
  await page.evaluate(async () => {
    const wasm = await import('/treecast.js');
    await wasm.default();
    const bench = new wasm.CoreBench('treecast', 7);
    bench.joins(20_000);
    bench.churn(20_000);
    bench.free();
  });
  for (const n of sizes) {
    const r = await page.evaluate(async (n) => {
      const wasm = await import('/treecast.js');
      await wasm.default();
      const bench = new wasm.CoreBench('treecast', n);
      const t0 = performance.now();
      const joinCmds = bench.joins(n);
      const t1 = performance.now();
      const churnCmds = bench.churn(n);
      const t2 = performance.now();
      const stats = JSON.parse(bench.stats());
      bench.free();
      return { joinsMs: t1 - t0, churnMs: t2 - t1, joinCmds, churnCmds, stats };
    }, n);
    rows.push({ n, ...r });
  }
  console.log(`\nCoordinator in wasm (dist/wasm/treecast_bg.wasm), Chromium ${version}, headless:\n`);
  console.log('| viewers   | joins     | joins/s    | churn events/s | churn mean | max depth | mean depth | standby coverage |');
  console.log('|-----------|-----------|------------|----------------|------------|-----------|------------|------------------|');
  for (const r of rows) {
    const cells = [
      String(r.n).padStart(9),
      `${(r.joinsMs / 1000).toFixed(3)} s`.padStart(9),
      Math.round(r.n / (r.joinsMs / 1000)).toString().padStart(10),
      Math.round(r.n / (r.churnMs / 1000)).toString().padStart(14),
      `${((r.churnMs * 1000) / r.n).toFixed(2)} us`.padStart(10),
      String(r.stats.max_depth).padStart(9),
      r.stats.mean_depth.toFixed(2).padStart(10),
      `${(r.stats.standby_coverage * 100).toFixed(1)}%`.padStart(16),
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
  console.log('\nTarget (wasm in Chromium): >= 100,000 churn events/s. Timer: performance.now() per phase.');
} finally {
  await browser.close();
  server.close();
}
