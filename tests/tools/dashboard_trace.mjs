// Where the relay dashboard's main-thread time goes (development aid): the synthetic broadcast
// of bench/dashboard/cost.mjs with N viewers (default 1000), the dashboard open (NODASH=1: not),
// a 10 s Chromium trace of the shared renderer main thread, its busiest trace events and its
// longest tasks. Run: scripts/in-loopback.sh node tests/tools/dashboard_trace.mjs
import { launchPeer } from '../harness/browsers.mjs';
import { setUpPlayer, PROGRAM } from '../../bench/dashboard/cost.mjs';
const n = Number(process.env.N ?? 1000);
const peer = await launchPeer({ name: 'trace', user: null, nico: { port: 9 }, settings: null, size: { width: 1440, height: 900 } });
try {
  const player = await peer.context.newPage();
  await player.goto(`${peer.origin}/options/options.html`);
  await setUpPlayer(player, n);
  const dash = await peer.context.newPage();
  if (!process.env.NODASH) {
    await dash.goto(`${peer.origin}/dashboard/dashboard.html?program=${PROGRAM}`);
    await dash.waitForFunction(() => Number(document.documentElement.dataset.updates) >= 5, null, { timeout: 60000 });
  }
  const cdp = await peer.context.newCDPSession(player);
  const events = [];
  cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
  const done = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
  await cdp.send('Tracing.start', { categories: 'devtools.timeline,v8,blink,toplevel,disabled-by-default-devtools.timeline', transferMode: 'ReportEvents' });
  await new Promise((r) => setTimeout(r, 10000));
  await cdp.send('Tracing.end');
  await done;
  // The renderer main thread: the thread named CrRendererMain in the process that has our pages.
  const names = events.filter((e) => e.name === 'thread_name');
  const mains = names.filter((e) => e.args.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`);
  const complete = events.filter((e) => e.ph === 'X' && mains.includes(`${e.pid}:${e.tid}`));
  const byPid = {};
  for (const e of complete.filter((e) => e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask')) byPid[e.pid] = (byPid[e.pid] ?? 0) + e.dur / 1000;
  console.log('RunTask ms per renderer pid over 10 s:', byPid);
  const pid = Object.entries(byPid).sort((a, b) => b[1] - a[1])[0]?.[0];
  const agg = {};
  for (const e of complete.filter((e) => String(e.pid) === pid)) agg[e.name] = (agg[e.name] ?? 0) + e.dur / 1000;
  for (const [k, v] of Object.entries(agg).sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(v.toFixed(1).padStart(9), k);
  const longest = complete.filter((e) => String(e.pid) === pid && (e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask')).sort((a, b) => b.dur - a.dur).slice(0, 5);
  for (const t of longest) {
    const inside = complete.filter((e) => String(e.pid) === pid && e.tid === t.tid && e.ts >= t.ts && e.ts + e.dur <= t.ts + t.dur && e !== t);
    const top = {};
    for (const e of inside) top[e.name] = (top[e.name] ?? 0) + e.dur / 1000;
    console.log(`long task ${(t.dur / 1000).toFixed(1)} ms:`, Object.entries(top).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', '));
  }
} finally { await peer.close(); }
