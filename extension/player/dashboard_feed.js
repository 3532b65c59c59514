// The broadcaster frame's side of the relay dashboard. The dashboard page (an extension page in
// its own tab) asks about once a second with runtime.sendMessage; only the streamer's frame of
// the program it names answers, with the core's frame as one JSON text (built in wasm, never
// parsed here) plus the figures only the page knows (upload, source frame rate). Nothing runs
// while no dashboard is open, and each answer's main-thread time is measured and reported back.

import { clock } from './clock.js';

const api = () => globalThis.browser ?? globalThis.chrome;
const MAX_NODES_LIMIT = 20000;

/**
 * `read()` returns { brain, kbpsOut, sourceFps, broadcasting } now (brain: a BroadcasterBrain or
 * null). Returns { stop(), costs() }: costs() = the main-thread ms of the recent answers.
 */
export function serveDashboard({ program, read }) {
  const dashboardUrl = api().runtime.getURL('dashboard/');
  let lastCostMs = null;
  const recent = [];
  const listener = (msg, sender, sendResponse) => {
    if (!msg || msg.type !== 'tc:dashboard') return false;
    if (sender?.id !== api().runtime.id || !String(sender?.url ?? '').startsWith(dashboardUrl)) return false;
    if (msg.program && msg.program !== program) return false; // another tab's broadcast answers
    const started = performance.now();
    const { brain, kbpsOut, sourceFps, broadcasting } = read();
    const reply = { ok: true, program, broadcasting: !!(brain && broadcasting), kbpsOut, sourceFps, costMs: lastCostMs };
    if (reply.broadcasting) {
      const since = Number.isSafeInteger(msg.since) && msg.since >= 0 ? msg.since : 0;
      const maxNodes = Number.isInteger(msg.maxNodes) ? Math.min(Math.max(msg.maxNodes, 0), MAX_NODES_LIMIT) : 2000;
      reply.frame = brain.dashboard(clock(), since, maxNodes);
    }
    sendResponse(reply);
    lastCostMs = performance.now() - started;
    recent.push(lastCostMs);
    if (recent.length > 120) recent.shift();
    return false;
  };
  api().runtime.onMessage.addListener(listener);
  return { stop: () => api().runtime.onMessage.removeListener(listener), costs: () => [...recent] };
}
