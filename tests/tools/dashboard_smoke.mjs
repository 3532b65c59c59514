// Quick look at the dashboard with a few viewers (development aid): prints what it draws and
// writes tests/artifacts/dashboard-smoke.png. VIEWERS=n (default 3).
import { startSession } from '../harness/session.mjs';
import { waitFor } from '../harness/browsers.mjs';

const n = Number(process.env.VIEWERS ?? 3);
const session = await startSession({ slots: 2 });
try {
  const broadcaster = await session.broadcaster();
  const viewers = await session.audience(n);
  const page = await broadcaster.context.newPage();
  page.on('console', (m) => console.log('dashboard console:', m.type(), m.text()));
  page.on('pageerror', (e) => console.log('dashboard error:', e.message));
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(`${broadcaster.origin}/dashboard/dashboard.html?program=${session.program}&title=test`);
  await waitFor('nodes', async () => (await page.$$('#tree .node')).length === n + 1, { timeout: 30000 }).catch((e) => console.log(e.message));
  await new Promise((r) => setTimeout(r, Number(process.env.WAIT ?? 6000)));
  console.log(await page.evaluate(() => ({ status: document.getElementById('status-text').textContent, nodes: [...document.querySelectorAll('#tree .node')].map((g) => `${g.dataset.id}:${g.dataset.health}`), log: [...document.querySelectorAll('#log li')].map((l) => l.textContent), cost: window.treecastDashboard })));
  await page.screenshot({ path: 'tests/artifacts/dashboard-smoke.png' });
} finally {
  await session.close();
}
