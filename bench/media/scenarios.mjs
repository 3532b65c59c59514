// One run of the media benchmark for one policy: a broadcast of the test pattern through the real
// extension, viewers joining one after another, then a relay leaving, a relay crashing, the
// broadcaster reloading, and a join storm on a second program. Every gap, join and latency comes
// from frames the players presented.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { descendants, interiorRelay, readTree } from '../../tests/harness/tree.mjs';
import { waitFor } from './fleet.mjs';
import { bytesSent, framesIn, joinFacts, sampleFrames } from './probes.mjs';
import { median, percentile, round, slope } from './stats.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);

/**
 * How long each scenario watches (ms). A departure is watched until every viewer below it has
 * presented frames steadily for `settle` ms, at least `min` and at most `max` after the event
 * (the seed policy needs ICE's 5.3 s before its repair even starts).
 */
export const WINDOWS = {
  leave: { min: 4000, max: 10000 },
  crash: { min: 4000, max: 14000 },
  settle: 1500,
  reloadTimeout: 20000,
  joinTimeout: 20000,
  stormTimeout: 30000,
  healthyTimeout: 10000,
  steady: 4000,
  uplink: 4000,
  sample: 3000,
};

/** The audience at which the early latency sample is taken. */
const EARLY = 4;

/** A gap longer than this is a visible freeze (about 3 frames at 24 fps plus jitter). */
const FREEZE_MS = 200;

/**
 * One run of one policy, in three phases:
 * A. `main` viewers join one by one (few enough that the machine is not starved): joins, the
 *    scale curve, the control window, latency and quality, then a relay leaves, a relay crashes,
 *    the broadcaster reloads;
 * B. viewers join one by one until `all` are in (the uplink with all), then more of the fleet
 *    while every audience so far kept 20 fps everywhere: the scale curve;
 * C. `all` viewers open a second program at the same moment: the join storm.
 */
export async function oneRun({ fleet, policy, pattern, main, all, log, windows = WINDOWS }) {
  const { broadcaster, viewers } = fleet;
  const audience = viewers.slice(0, all);
  const record = { policy, startedAt: new Date().toISOString(), load: { before: loadavg() }, audience: { all, main, scaleMax: viewers.length } };
  const t0 = Date.now();
  const step = (what) => log(`  [${policy}] ${((Date.now() - t0) / 1000).toFixed(0).padStart(3)} s  ${what}`);
  const names = new Map(); // peer id -> member name, so that timelines read as names
  record.names = names;

  await Promise.all(fleet.all().map((m) => m.setPolicy(policy)));
  const program = fleet.newProgram();
  record.program = program;
  await startBroadcast(broadcaster, program, pattern, policy);
  const rootId = (await broadcaster.stats()).peerId;
  names.set(rootId, 'broadcaster');

  // --- A. the first viewers join one after another ---------------------------------------------
  const joins = [];
  const scale = [];
  const joined = [];
  /** `v` opens the watch page; its join, and every joined viewer's frame rate once it plays. */
  const join = async (v) => {
    const openedAt = await v.open(program);
    const facts = await firstFrame(v, windows.joinTimeout);
    names.set((await v.stats()).peerId, v.name);
    joined.push(v);
    const entry = {
      name: v.name, audience: joined.length, openToFrameMs: facts.first ? facts.first - openedAt : null,
      joinToFrameMs: facts.first && facts.joinStart ? facts.first - facts.joinStart : null, openToJoinMs: facts.joinStart ? facts.joinStart - openedAt : null,
      timeline: await timeline(v, names, facts.joinStart ?? openedAt, (facts.first ?? Date.now()) + 100),
    };
    if (joined.length === 1) {
      await sleep(1500);
      record.uplinkOne = await uplink(broadcaster, windows.uplink);
    }
    // Every viewer's frame rate over 2 s, from half a second after the newcomer's first frame;
    // below 20 fps somewhere, once more over the next 2 s (a join's own stir is not the machine's
    // limit), and the better of the two counts. The second look only while it can change the
    // figure: below the smallest audience that already fell short.
    const rates = async (from) => {
      await sleep(Math.max(0, from + 2000 - Date.now()));
      const seen = await Promise.all(joined.map((m) => m.eval(framesIn, [from, from + 2000]).catch(() => ({ fps: 0, maxGapMs: 2000 }))));
      return { audience: joined.length, minFps: round(Math.min(...seen.map((x) => x.fps)), 1), medianFps: round(median(seen.map((x) => x.fps)), 1), maxGapMs: Math.max(...seen.map((x) => x.maxGapMs)) };
    };
    let point = await rates((facts.first ?? Date.now()) + 500);
    if (point.minFps < 20 && joined.length < shortAt(scale)) {
      const again = await rates(Date.now());
      point = { ...(again.minFps > point.minFps ? again : point), first: point.minFps };
    }
    scale.push(point);
    return entry;
  };
  for (const v of viewers.slice(0, main)) {
    joins.push(await join(v));
    if (joined.length === EARLY) {
      // The relay's own latency before the machine gets busy (jitter buffers grow under load and
      // stay grown): a short sample with the first few viewers.
      const early = await latencyAndQuality(joined, await readTree(broadcaster.peer), await idsOf(joined), pattern, 2000);
      record.latencyEarly = { ...early.latency, audience: EARLY };
      step(`${EARLY} viewers: latency by depth ${JSON.stringify(early.latency.byDepth)} ms (+${fmt(early.latency.perHopMs)} per hop)`);
    }
  }
  const pick = (key) => joins.map((j) => j[key]);
  record.join = {
    of: joins.length, p50: percentile(pick('joinToFrameMs'), 50), p95: percentile(pick('joinToFrameMs'), 95),
    openP50: percentile(pick('openToFrameMs'), 50), openP95: percentile(pick('openToFrameMs'), 95),
    played: joins.filter((j) => j.openToFrameMs != null).length, perViewer: joins,
  };
  step(`${joins.length} joined one by one: join->frame p50 ${fmt(record.join.p50)} p95 ${fmt(record.join.p95)} ms, page open->frame p50 ${fmt(record.join.openP50)} ms`);

  // --- A. steady state: the control window, latency and quality by depth -----------------------
  const cast = viewers.slice(0, main);
  let tree = await settledTree(broadcaster, cast.length, policy, windows.healthyTimeout);
  record.settled = { viewers: tree?.nodes.length ?? 0, maxDepth: tree ? Math.max(...tree.nodes.map((n) => n.depth)) : null };
  record.healthyBeforeSteady = await healthy(cast, pattern.fps, windows.healthyTimeout);
  let byId = await idsOf(cast);
  const steadyFrom = Date.now();
  const cpuFrom = fleet.cpu();
  await sleep(windows.steady);
  record.cpu = cpuShare(cpuFrom, fleet.cpu());
  const steady = await Promise.all(cast.map(async (v) => ({ name: v.name, depth: depthOf(tree, byId, v), ...(await v.eval(framesIn, [steadyFrom, steadyFrom + windows.steady])) })));
  record.steady = { perViewer: steady.map(({ name, depth, fps, maxGapMs }) => ({ name, depth, fps: round(fps, 1), maxGapMs })), maxGapMs: Math.max(...steady.map((x) => x.maxGapMs)), minFps: round(Math.min(...steady.map((x) => x.fps)), 1) };
  step(`${cast.length} viewers, no event: slowest ${record.steady.minFps} fps, largest gap ${record.steady.maxGapMs} ms; CPU: browsers ${record.cpu.browsersPct}%, everything ${record.cpu.machinePct}% of ${record.cpu.cores} cores`);

  Object.assign(record, await latencyAndQuality(cast, tree, byId, pattern, windows.sample));
  step(`latency by depth ${JSON.stringify(record.latency.byDepth)} ms (+${fmt(record.latency.perHopMs)} per hop); PSNR by depth ${JSON.stringify(record.quality.byDepth)} dB`);

  // --- A. an interior relay closes its tab -----------------------------------------------------
  const alive = new Set(cast);
  record.leave = await departure({ kind: 'leave', tree, byId, alive, names, pattern, windows, step, act: (m) => m.closeTab() });
  tree = await settledTree(broadcaster, alive.size, policy, windows.healthyTimeout);

  // --- A. an interior relay's browser is killed ------------------------------------------------
  record.crash = await departure({ kind: 'crash', tree, byId: await idsOf([...alive]), alive, names, pattern, windows, step, act: (m) => m.crash() });
  tree = await settledTree(broadcaster, alive.size, policy, windows.healthyTimeout);

  // --- A. the broadcaster reloads its page -----------------------------------------------------
  record.reload = await reload({ broadcaster, rootId, members: [...alive], pattern, windows });
  step(`reload: all presenting again after ${fmt(record.reload.recoveryMs)} ms (${record.reload.recovered}/${record.reload.of}); edges rebuilt: ${record.reload.rebuiltAtRoot} at the broadcaster, ${record.reload.rebuiltBelow} below`);

  // --- B. more viewers join one by one until `all` are in (uplink), then beyond while every
  // viewer keeps 20 fps (scale) --------------------------------------------------------------
  for (const v of viewers.filter((m) => m.crashed)) { await v.launch(); await v.setPolicy(policy); }
  joined.splice(0, joined.length, ...alive);
  for (const v of audience.filter((m) => !alive.has(m))) record.join.perViewer.push(await join(v));
  await settledTree(broadcaster, joined.length, policy, windows.healthyTimeout);
  const cpuAll = fleet.cpu();
  record.uplinkFull = await uplink(broadcaster, windows.uplink);
  record.cpuAll = cpuShare(cpuAll, fleet.cpu());
  record.uplinkRatio = record.uplinkOne?.bytesPerS ? record.uplinkFull.bytesPerS / record.uplinkOne.bytesPerS : null;
  step(`${joined.length} viewers: uplink 1 -> ${joined.length}: ${fmt(record.uplinkOne?.bytesPerS / 1000)} -> ${fmt(record.uplinkFull.bytesPerS / 1000)} kB/s; CPU: browsers ${record.cpuAll.browsersPct}%, everything ${record.cpuAll.machinePct}%`);
  // Beyond `all` only while no audience fell short: the figure ends at the first that did.
  for (const v of viewers.slice(all)) {
    if (shortAt(scale) !== Infinity) break;
    record.join.perViewer.push(await join(v));
  }
  const curve = new Map();
  for (const c of scale) if (!curve.has(c.audience) || c.minFps < curve.get(c.audience).minFps) curve.set(c.audience, c);
  const points = [...curve.values()].sort((a, b) => a.audience - b.audience);
  const sustained = sustainedAudience(points, 20);
  record.scale = { curve: points, sustained, censored: sustained === viewers.length };
  step(`scale: every viewer at >= 20 fps up to ${sustained} viewers${record.scale.censored ? ' (all there were)' : ''} (slowest by audience: ${points.map((p) => p.minFps).join(' ')})`);

  // --- C. a join storm on a new program --------------------------------------------------------
  await stopBroadcast(broadcaster);
  await Promise.all(viewers.map((v) => v.dropTab()));
  const storm = fleet.newProgram();
  await startBroadcast(broadcaster, storm, pattern, policy);
  await sleep(1000);
  await Promise.all(audience.map((v) => v.newTab()));
  const opened = await Promise.all(audience.map(async (v) => {
    const openedAt = v.open(storm);
    return { v, openedAt: await openedAt };
  }));
  const firsts = await Promise.all(opened.map(async ({ v, openedAt }) => ({ openedAt, facts: await firstFrame(v, windows.stormTimeout) })));
  const starts = firsts.map((f) => f.openedAt);
  const toFrame = firsts.map((f) => (f.facts.first ? f.facts.first - f.openedAt : null));
  const joinToFrame = firsts.map((f) => (f.facts.first && f.facts.joinStart ? f.facts.first - f.facts.joinStart : null));
  record.storm = {
    of: audience.length, played: toFrame.filter((x) => x != null).length, openSpreadMs: Math.max(...starts) - Math.min(...starts),
    p50: percentile(toFrame, 50), p95: percentile(toFrame, 95), max: Math.max(...toFrame.filter((x) => x != null)),
    joinP50: percentile(joinToFrame, 50), joinP95: percentile(joinToFrame, 95), perViewer: toFrame,
  };
  step(`storm: ${record.storm.played}/${record.storm.of} play (opened within ${record.storm.openSpreadMs} ms), open->frame p50 ${fmt(record.storm.p50)} p95 ${fmt(record.storm.p95)} ms`);

  await Promise.all(viewers.map((v) => v.dropTab()));
  await stopBroadcast(broadcaster);
  await broadcaster.dropTab();
  record.names = Object.fromEntries(names);
  record.load.after = loadavg();
  record.durationS = round((Date.now() - t0) / 1000, 1);
  return record;
}

/** Glass-to-glass latency and PSNR by depth, from every member's presented frames over `ms`. */
async function latencyAndQuality(members, tree, byId, pattern, ms) {
  const samples = await Promise.all(members.map((v) => v.eval(sampleFrames, { width: pattern.width, height: pattern.height, ms, qualityEvery: 4 }).catch((e) => ({ error: String(e), latency: [], psnr: [] }))));
  const perViewer = members.map((v, i) => ({
    name: v.name, depth: depthOf(tree, byId, v), latencyMs: median(samples[i].latency), psnrDb: round(median(samples[i].psnr), 2),
    frames: samples[i].latency.length, unreadable: samples[i].unreadable, sizes: samples[i].sizes, receiver: samples[i].receiver, error: samples[i].error,
  }));
  const latencyByDepth = byDepth(perViewer, 'latencyMs');
  const psnrByDepth = byDepth(perViewer, 'psnrDb');
  const jitter = perViewer.map((p) => p.receiver?.jitterBufferMs).filter(Number.isFinite);
  return {
    latency: { perViewer, byDepth: latencyByDepth, perHopMs: slope(perViewer.map((p) => [p.depth, p.latencyMs])), depth1Ms: latencyByDepth[1] ?? null, jitterBufferMs: median(jitter) },
    quality: { byDepth: psnrByDepth, dropPerHopDb: negate(slope(perViewer.map((p) => [p.depth, p.psnrDb]))), depth1Db: psnrByDepth[1] ?? null },
  };
}

/** Shares of all cores over an interval: ours (the browsers) and the machine's (everything). */
function cpuShare(a, b) {
  const s = (b.at - a.at) / 1000;
  const cores = cpus().length;
  const browsersPct = Math.round((100 * (b.browsers - a.browsers)) / s / cores);
  const machinePct = Math.round((100 * (b.machine - a.machine)) / s / cores);
  // Per-process and machine-wide counters disagree by a few percent: never below zero.
  return { cores, browsersPct, machinePct, othersPct: Math.max(0, machinePct - browsersPct) };
}

async function startBroadcast(broadcaster, program, pattern, policy) {
  await broadcaster.open(program);
  const result = await broadcaster.eval((p) => window.treecast.startBroadcast({ source: 'pattern', fanout: 1, pattern: p }), pattern);
  if (!result?.ok) throw new Error(`broadcast did not start: ${JSON.stringify(result)}`);
  const stats = await broadcaster.stats();
  if (stats.policy !== policy) throw new Error(`the broadcaster runs ${stats.policy}, not ${policy}`);
}

async function stopBroadcast(broadcaster) {
  await broadcaster.eval(() => window.treecast.stopBroadcast()).catch(() => {});
}

/** Waits for a member's first real presented frame; { first, joinStart } (first null on timeout). */
async function firstFrame(member, timeout) {
  try {
    return await waitFor(`${member.name}'s first frame`, async () => {
      const f = await member.eval(joinFacts);
      return f.first ? f : false;
    }, { timeout, interval: 50 });
  } catch {
    return { first: null, joinStart: null };
  }
}

/** Broadcaster bytes sent per second over `ms` on edges that lived through the window. */
async function uplink(broadcaster, ms) {
  const a = await broadcaster.eval(bytesSent);
  const t = Date.now();
  await sleep(ms);
  const b = await broadcaster.eval(bytesSent);
  const s = (Date.now() - t) / 1000;
  let bytes = 0;
  let media = 0;
  for (const [child, e] of Object.entries(b)) {
    if (!a[child]) continue;
    bytes += e.bytes - a[child].bytes;
    media += e.media - a[child].media;
  }
  return { bytesPerS: Math.round(bytes / s), mediaBytesPerS: Math.round(media / s), edges: Object.keys(b).length };
}

/** Every member presented frames steadily over the last second; { ok, waitedMs }. */
async function healthy(members, fps, timeout) {
  const t = Date.now();
  try {
    await waitFor('steady frames everywhere', async () => {
      const now = Date.now();
      for (const m of members) {
        const seen = await m.eval(framesIn, [now - 1000, now]);
        if (seen.frames < fps * 0.6 || seen.maxGapMs > 250) return false;
      }
      return true;
    }, { timeout, interval: 500 });
    return { ok: true, waitedMs: Date.now() - t };
  } catch {
    return { ok: false, waitedMs: Date.now() - t };
  }
}

/** The broadcaster's tree once it holds `count` viewers (and, for treecast, every standby). */
async function settledTree(broadcaster, count, policy, timeout) {
  let last = null;
  try {
    return await waitFor(`a settled tree of ${count}`, async () => {
      last = await readTree(broadcaster.peer);
      if (!last || last.nodes.length !== count) return false;
      return policy === 'seed' || last.nodes.filter((n) => n.depth >= 2).every((n) => n.standby) ? last : false;
    }, { timeout, interval: 250 });
  } catch {
    return last;
  }
}

async function idsOf(members) {
  const ids = new Map();
  for (const m of members) ids.set((await m.stats()).peerId, m);
  return ids;
}

function depthOf(tree, byId, member) {
  for (const [id, m] of byId) if (m === member) return tree?.nodes.find((n) => n.id === id)?.depth ?? null;
  return null;
}

/** An interior relay leaves (`act`): the largest gap each of its descendants presents. */
async function departure({ kind, tree, byId, alive, names, pattern, windows, step, act }) {
  const relay = tree && (interiorRelay(tree, 2) ?? interiorRelay(tree, 1));
  if (!relay) return { error: 'no interior relay' };
  const member = byId.get(relay.id);
  const below = descendants(tree, relay.id).map((id) => byId.get(id)).filter(Boolean);
  const health = await healthy([...alive], pattern.fps, windows.healthyTimeout);
  const { min, max } = windows[kind];
  const at = Date.now();
  await act(member);
  alive.delete(member);
  const end = await watchUntilSteady(below, pattern.fps, at, min, max, windows.settle);
  const gaps = await Promise.all(below.map(async (m) => {
    const seen = await m.eval(framesIn, [at, end]);
    return { name: m.name, maxGapMs: seen.maxGapMs, gapAt: seen.gapAt?.map((x) => x - at) ?? null, frames: seen.frames };
  }));
  // What every remaining viewer's player did meanwhile (a descendant's freeze can come from a
  // relay above it that switched), in ms from the event.
  const timelines = {};
  for (const m of alive) timelines[m.name] = await timeline(m, names, at - 200, end, at);
  const worst = Math.max(...gaps.map((g) => g.maxGapMs));
  step(`${kind} of ${member.name} (depth ${relay.depth}, ${below.length} below): largest gap ${worst} ms (${gaps.map((g) => `${g.name} ${g.maxGapMs}`).join(', ')})`);
  return {
    relay: { name: member.name, depth: relay.depth, below: below.length }, healthyBefore: health,
    worstGapMs: worst, censored: end - at >= max && gaps.some((g) => g.gapAt && g.gapAt[1] >= end - at - 50), windowMs: end - at, perViewer: gaps, timelines,
  };
}

/** The broadcaster's page reloads: how long until every viewer presents frames again, and which edges were rebuilt. */
async function reload({ broadcaster, rootId, members, pattern, windows }) {
  const health = await healthy(members, pattern.fps, windows.healthyTimeout);
  const before = new Map(await Promise.all(members.map(async (m) => [m, await m.stats()])));
  const at = Date.now();
  await broadcaster.page.reload();
  const recoveredAt = new Map();
  const deadline = at + windows.reloadTimeout;
  while (Date.now() < deadline && recoveredAt.size < members.length) {
    await sleep(250);
    for (const m of members) {
      if (recoveredAt.has(m)) continue;
      const now = Date.now();
      const seen = await m.eval(framesIn, [at, now]).catch(() => null);
      // Presenting again: the freeze the reload caused is over and frames follow steadily.
      if (seen && seen.frames >= 5 && now - seen.last < 300) {
        const lastFreeze = await m.eval(freezeEnd, [at, now, FREEZE_MS]);
        if (lastFreeze !== null && now - lastFreeze >= 500) recoveredAt.set(m, lastFreeze);
      }
    }
  }
  await sleep(1000);
  const after = new Map(await Promise.all(members.map(async (m) => [m, await m.stats().catch(() => null)])));
  let rebuiltAtRoot = 0;
  let rebuiltBelow = 0;
  const perViewer = [];
  for (const m of members) {
    const b = before.get(m);
    const a = after.get(m);
    const fedByRoot = b.parentId === rootId || b.standbyId === rootId;
    const newUp = a ? a.callsAccepted - b.callsAccepted : null;
    const newDown = a ? a.callsMade - b.callsMade : null;
    if (fedByRoot) rebuiltAtRoot += newUp ?? 0; else rebuiltBelow += newUp ?? 0;
    rebuiltBelow += newDown ?? 0;
    perViewer.push({ name: m.name, fedByRoot, newParentEdges: newUp, newChildEdges: newDown, recoveredMs: recoveredAt.has(m) ? recoveredAt.get(m) - at : null });
  }
  const times = perViewer.map((p) => p.recoveredMs);
  return {
    healthyBefore: health, of: members.length, recovered: recoveredAt.size,
    recoveryMs: recoveredAt.size === members.length ? Math.max(...times) : null,
    censored: recoveredAt.size < members.length, windowMs: windows.reloadTimeout, rebuiltAtRoot, rebuiltBelow, perViewer,
  };
}

/**
 * Waits from `at` until every member presented frames steadily over the last `settle` ms, at
 * least `min` and at most `max` ms after `at`; returns the end of the watch (wall clock).
 */
async function watchUntilSteady(members, fps, at, min, max, settle) {
  for (;;) {
    await sleep(500);
    const now = Date.now();
    if (now - at >= max) return now;
    if (now - at < min) continue;
    const seen = await Promise.all(members.map((m) => m.eval(framesIn, [now - settle, now]).catch(() => null)));
    if (seen.every((s) => s && s.frames >= (fps * settle * 0.6) / 1000 && s.maxGapMs <= 250)) return now;
  }
}

/** The player's log (commands it carried out, no heartbeats) in [from, to], in ms from `zero`, peers by name. */
async function timeline(member, names, from, to, zero = from) {
  const lines = await member.eval(([a, b, z]) => window.treecast.log().filter((l) => l.t >= a && l.t <= b && !/ hb\b/.test(l.text)).map((l) => `${l.t - z} ${l.text}`), [from, to, zero]).catch(() => []);
  return lines.map((line) => line.replace(/tc-[a-z0-9-]+/g, (id) => names.get(id) ?? id));
}

/** In the player: when the last freeze (gap > minGap) in [from, to] ended; `from` if there was none. */
function freezeEnd([from, to, minGap]) {
  const t = (window.__bench?.frames ?? []).filter(([x, w]) => x >= from && x <= to && w >= 17).map(([x]) => x);
  let end = null;
  const edges = [from, ...t];
  for (let i = 1; i < edges.length; i++) if (edges[i] - edges[i - 1] > minGap) end = edges[i];
  return end ?? from;
}

/** The smallest audience measured below 20 fps somewhere (Infinity when none was). */
function shortAt(points) {
  return Math.min(Infinity, ...points.filter((p) => p.minFps < 20).map((p) => p.audience));
}

/** The largest audience up to which every viewer presented at least `fps` frames per second. */
function sustainedAudience(curve, fps) {
  let n = 0;
  for (const c of curve) { if (c.minFps >= fps) n = c.audience; else break; }
  return n;
}

function byDepth(rows, key) {
  const out = {};
  const groups = new Map();
  for (const r of rows) if (r.depth != null && Number.isFinite(r[key])) groups.set(r.depth, [...(groups.get(r.depth) ?? []), r[key]]);
  for (const [d, vs] of [...groups].sort((a, b) => a[0] - b[0])) out[d] = round(median(vs), 1);
  return out;
}

const negate = (x) => (x == null ? null : -x);
const fmt = (x) => (x == null || !Number.isFinite(x) ? '-' : String(Math.round(x)));
