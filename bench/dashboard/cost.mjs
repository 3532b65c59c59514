// What the relay dashboard costs the broadcaster's main thread, at 200, 1,000 and 10,000 viewers
// (`make bench-dashboard`, which runs it in the loopback namespace; SIZES=1000,10000 to choose).
//
// One Chromium with the real extension. An extension page plays the streamer's player frame: a
// real BroadcasterBrain (wasm) holding a synthetic broadcast of N viewers (joins through the
// coordinator, health reports on the root's edge carrying every viewer's figures), with churn
// every second (one viewer leaves, one joins, a health report with some stalls), answering the
// real dashboard page through the real player/dashboard_feed.js. Every extension page shares
// one renderer main thread, exactly like the dashboard tab and the player frame in the
// streamer's browser, so we measure on that thread:
//   - player: ms per answer (building the frame in wasm and handing it to the messaging layer);
//   - dashboard: ms per update on the main thread (applying the worker's result to the DOM),
//     and ms per update in its worker (parse, tree, fold, layout; off the main thread);
//   - main thread busy (CDP TaskDuration: script, style, layout, paint) per second with the
//     dashboard open minus the same without it;
//   - how late a 10 ms timer in the "player" fires (the relay's heartbeats run on such timers).
import { mkdirSync, writeFileSync } from 'node:fs';
import { launchPeer } from '../../tests/harness/browsers.mjs';

const SIZES = (process.env.SIZES ?? '200,1000,10000').split(',').map(Number);
const MEASURE_S = Number(process.env.MEASURE_S ?? 15);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const PROGRAM = 'lv900000042';

const KINDS = ['TaskDuration', 'ScriptDuration', 'RecalcStyleDuration', 'LayoutDuration'];

/** The renderer main thread's busy time so far, ms: total and by kind. */
async function busy(cdp) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  return Object.fromEntries(KINDS.map((k) => [k, 1000 * metrics.find((m) => m.name === k).value]));
}

const perSecond = (a, b, s) => Object.fromEntries(KINDS.map((k) => [k, (b[k] - a[k]) / s]));

/** Builds the synthetic broadcast in the "player" page and starts serving the dashboard. */
export async function setUpPlayer(page, n) {
  return page.evaluate(async ([n, program]) => {
    const wasm = await import('/wasm/treecast.js');
    await wasm.default();
    const { serveDashboard } = await import('/player/dashboard_feed.js');
    const me = wasm.broadcasterPeerId(program, '1001');
    const brain = new wasm.BroadcasterBrain(me, JSON.stringify({ fanout: 1 }), 7);
    const hex = (i) => i.toString(16).padStart(24, '0');
    const event = (now, e) => brain.handle(now, JSON.stringify(e));
    const join = (now, id) => event(now, { e: 'signal', from: id, text: JSON.stringify({ v: 1, t: 'join', slots: 2 }) });
    // Joins 50 ms apart on a clock that ends before now: the node's guard admits new ids at
    // that pace (a faster burst would be told to wait and never counted).
    let now = Date.now() - 60000 - n * 50 - Math.ceil(n / 24) * 600;
    let next = 0;
    const ids = [];
    for (; next < n; next++) {
      ids.push(`tc-v-${hex(next)}`);
      join(now, ids[next]);
      now += 50;
      if (next % 5 === 4) event(now, { e: 'tick' });
    }
    for (let i = 0; i < 80; i++) { now += 250; event(now, { e: 'tick' }); }
    const tree = () => JSON.parse(brain.tree());
    // Health through the root's edge: every viewer's figures, 24 per report, as relays forward them.
    const report = (t, records, top, levels) => event(t, {
      e: 'edge_message', peer: top, side: 'down',
      text: JSON.stringify({ v: 1, t: 'health', me: [12, 85, 0, 2, 2], lv: levels, r: records }),
    });
    const levelsBelow = (tr) => {
      const lv = [];
      for (const node of tr.nodes) if (node.depth >= 2) {
        const i = Math.min(node.depth - 2, 23);
        lv[i] = lv[i] ?? [0, 0, 0, 0];
        lv[i][0]++; lv[i][3] += 12;
      }
      return lv.map((l) => l ?? [0, 0, 0, 0]);
    };
    let tr = tree();
    const top = tr.nodes.find((x) => x.depth === 1).id;
    const fig = (id, gap) => [id, 12, gap, gap > 200 ? 1 : 0, 0, 2];
    const below = tr.nodes.filter((x) => x.id !== top).map((x) => x.id);
    for (let i = 0; i < below.length; i += 24) {
      now += 600;
      report(now, below.slice(i, i + 24).map((id) => fig(id, 85)), top, levelsBelow(tr));
    }
    // Churn once a second from now on, with the real clock.
    let rand = 12345;
    const random = (k) => { rand = (rand * 1103515245 + 12345) % 2147483648; return rand % k; };
    const tick = () => event(Date.now(), { e: 'tick' });
    window.churn = setInterval(() => {
      tr = tree();
      const leaver = tr.nodes[1 + random(tr.nodes.length - 1)];
      event(Date.now(), { e: 'signal', from: leaver.id, text: '{"v":1,"t":"leave"}' });
      const id = `tc-v-${hex(next++)}`;
      join(Date.now(), id);
      const t2 = tree();
      const topNow = t2.nodes.find((x) => x.depth === 1).id;
      const sample = [];
      for (let i = 0; i < 24; i++) {
        const x = t2.nodes[1 + random(t2.nodes.length - 1)];
        sample.push(fig(x.id, i < 3 ? 450 : 85));
      }
      setTimeout(() => report(Date.now(), sample, topNow, levelsBelow(t2)), 500);
    }, 1000);
    window.ticker = setInterval(tick, 50);
    // The relay's timers: how late does a 10 ms timer fire?
    window.late = { max: 0, over16: 0, n: 0 };
    let last = performance.now();
    window.probe = setInterval(() => {
      const t = performance.now();
      const l = t - last - 10;
      last = t;
      window.late.n++;
      window.late.max = Math.max(window.late.max, l);
      if (l > 16) window.late.over16++;
    }, 10);
    const feed = serveDashboard({ program, read: () => ({ brain, broadcasting: true, kbpsOut: 900, sourceFps: 12 }) });
    window.feedCosts = feed.costs;
    window.resetLate = () => { window.late = { max: 0, over16: 0, n: 0 }; };
    return { viewers: JSON.parse(brain.stats()).viewers };
  }, [n, PROGRAM]);
}

const stats = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, mean: s.reduce((x, y) => x + y, 0) / Math.max(1, s.length), p50: q(0.5), p95: q(0.95), max: s.at(-1) };
};
const f = (v) => (v == null ? '—' : v.toFixed(2));

const results = [];
const main = import.meta.url === `file://${process.argv[1]}`;
for (const n of main ? SIZES : []) {
  const peer = await launchPeer({ name: `bench-${n}`, user: null, nico: { port: 9 }, settings: null, size: { width: 1440, height: 900 } });
  try {
    const player = await peer.context.newPage();
    await player.goto(`${peer.origin}/options/options.html`);
    const setup = await setUpPlayer(player, n);
    if (setup.viewers !== n) throw new Error(`the synthetic broadcast holds ${setup.viewers} viewers, not ${n}`);
    const cdp = await peer.context.newCDPSession(player);
    await cdp.send('Performance.enable');
    await sleep(3000);
    // Without a dashboard.
    await player.evaluate(() => window.resetLate());
    let b0 = await busy(cdp);
    await sleep(MEASURE_S * 1000);
    const without = perSecond(b0, await busy(cdp), MEASURE_S);
    const baseline = { busyPerS: without.TaskDuration, late: await player.evaluate(() => window.late) };
    // With the dashboard open (after its first updates, which bring the whole log).
    const dash = await peer.context.newPage();
    await dash.goto(`${peer.origin}/dashboard/dashboard.html?program=${PROGRAM}`);
    await dash.waitForFunction(() => Number(document.documentElement.dataset.updates) >= 5, null, { timeout: 60000 });
    const first = await dash.evaluate(() => window.treecastDashboard.recentMs.slice(0, 2));
    const u0 = await dash.evaluate(() => window.treecastDashboard.updates);
    await player.evaluate(() => window.resetLate());
    const dashCdp = await peer.context.newCDPSession(dash);
    await dashCdp.send('Performance.enable');
    b0 = await busy(cdp);
    const d0 = await busy(dashCdp);
    await sleep(MEASURE_S * 1000);
    const withIt = perSecond(b0, await busy(cdp), MEASURE_S);
    const dashPage = perSecond(d0, await busy(dashCdp), MEASURE_S);
    const busyWith = withIt.TaskDuration;
    const d = await dash.evaluate(() => window.treecastDashboard);
    const updates = d.updates - u0;
    const late = await player.evaluate(() => window.late);
    const playerCosts = (await player.evaluate(() => window.feedCosts())).slice(-updates);
    const r = {
      viewers: setup.viewers,
      view: d.nodesDrawn > 0 ? `tree, ${d.nodesDrawn} nodes drawn` : 'levels',
      frameKiB: d.frameBytes / 1024,
      playerMs: stats(playerCosts),
      dashboardMs: stats(d.recentMs.slice(-updates)),
      firstUpdatesMs: first,
      workerMs: d.workerMeanMs,
      busyPerSWithout: baseline.busyPerS,
      busyPerSWith: busyWith,
      addedPerUpdateMs: (busyWith - baseline.busyPerS) / Math.max(1, updates / MEASURE_S),
      dashboardPagePerS: dashPage,
      playerPagePerS: { without, with: withIt },
      lateMaxWithoutMs: baseline.late.max,
      lateMaxWithMs: late.max,
      updatesPerS: updates / MEASURE_S,
    };
    results.push(r);
    console.log(`\n${r.viewers} viewers (${r.view}), frame ${r.frameKiB.toFixed(1)} KiB, ${r.updatesPerS.toFixed(2)} updates/s`);
    console.log(`  player frame, per answer:       mean ${f(r.playerMs.mean)} ms, p95 ${f(r.playerMs.p95)}, max ${f(r.playerMs.max)}`);
    console.log(`  dashboard main thread, per update: mean ${f(r.dashboardMs.mean)} ms, p95 ${f(r.dashboardMs.p95)}, max ${f(r.dashboardMs.max)} (first two: ${first.map(f).join(', ')})`);
    console.log(`  dashboard worker, per update:   mean ${f(r.workerMs)} ms (off the main thread)`);
    console.log(`  main thread busy: ${f(r.busyPerSWithout)} ms/s without the dashboard, ${f(r.busyPerSWith)} ms/s with it: +${f(r.addedPerUpdateMs)} ms per update (script, style, layout, paint)`);
    const k = r.dashboardPagePerS;
    const pk = withIt.ScriptDuration - without.ScriptDuration;
    console.log(`  the dashboard page, per second: script ${f(k.ScriptDuration)}, style ${f(k.RecalcStyleDuration)}, layout ${f(k.LayoutDuration)} ms; the player page's script: +${f(pk)} ms`);
    console.log(`  10 ms timer in the player, latest firing: ${f(r.lateMaxWithoutMs)} ms late without, ${f(r.lateMaxWithMs)} ms with the dashboard`);
    await dash.screenshot({ path: `tests/artifacts/dashboard-bench-${n}.png` });
  } finally {
    await peer.close();
  }
}
if (main) mkdirSync('bench/results', { recursive: true });
if (main) writeFileSync('bench/results/dashboard.json', JSON.stringify({ at: new Date().toISOString(), measureSeconds: MEASURE_S, results }, null, 2));
if (main) console.log('\nwritten: bench/results/dashboard.json');
