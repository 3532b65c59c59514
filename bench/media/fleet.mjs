// The browsers of the media benchmark: one Chromium per peer (the real extension, through the
// test harness), launched once and reused across runs; the servers they talk to. Each run opens
// fresh watch pages on a fresh program, so no run inherits another's tree.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { startNicoServer, startPeerServer } from '../../tests/harness/servers.mjs';
import { launchPeer, peerServerSettings, waitFor } from '../../tests/harness/browsers.mjs';
import { recordPresentedFrames } from './probes.mjs';

export const STREAMER = '1001';
const LAUNCH_PARALLEL = 3;

/** Every process: pid -> { ppid, ticks (user + system CPU), args }. */
export function processes() {
  const out = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), args: readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0') });
    } catch { /* gone meanwhile */ }
  }
  return out;
}

/** The pids of the browser using `profile` and of all its descendants (renderers, GPU, utilities). */
export function browserPids(profile, table = processes()) {
  const flag = `--user-data-dir=${profile}`;
  const pids = new Set([...table].filter(([, p]) => p.args.includes(flag)).map(([pid]) => pid));
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, p] of table) if (!pids.has(pid) && pids.has(p.ppid)) { pids.add(pid); grew = true; }
  }
  return [...pids];
}

/** CPU seconds used so far by these browsers, and by the whole machine (all cores, busy time). */
export function cpuSeconds(profiles) {
  const table = processes();
  const hz = 100;
  let mine = 0;
  for (const profile of profiles) for (const pid of browserPids(profile, table)) mine += table.get(pid)?.ticks ?? 0;
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const busy = fields.reduce((a, b) => a + b, 0) - fields[3] - (fields[4] ?? 0);
  return { browsers: mine / hz, machine: busy / hz, at: Date.now() };
}

class Member {
  constructor(fleet, name, user) {
    this.fleet = fleet;
    this.name = name;
    this.user = user;
    this.peer = null;
    this.page = null;
    this.crashed = false;
  }

  async launch() {
    if (this.peer && this.crashed) await this.close();
    this.closing = false;
    this.peer = await launchPeer({ name: this.name, user: this.user, nico: this.fleet.nico, settings: this.fleet.settings, extraArgs: this.fleet.extraArgs });
    const peer = this.peer;
    peer.context.on('close', () => {
      if (this.peer !== peer || this.crashed || this.closing) return;
      this.fleet.log(`${this.name}: its browser went away unexpectedly`);
      this.crashed = true; // relaunched before the next run
    });
    await this.peer.context.addInitScript(recordPresentedFrames);
    this.crashed = false;
    this.page = null;
  }

  /** The hidden, test-only switch the player reads at start (see extension/player/player.js). */
  async setPolicy(policy) {
    const page = await this.peer.context.newPage();
    await page.goto(`${this.peer.origin}/options/options.html`);
    await page.evaluate((p) => (p === 'seed' ? chrome.storage.local.set({ 'bench:policy': 'seed' }) : chrome.storage.local.remove('bench:policy')), policy);
    await page.close();
  }

  /** A new tab, not yet navigated (so that many can start navigating at the same moment). */
  async newTab() {
    this.page = await this.peer.context.newPage();
    this.peer.page = this.page;
    return this.page;
  }

  /** Navigates this member's tab to the program's watch page; returns when the navigation started. */
  async open(program) {
    if (!this.page || this.page.isClosed()) await this.newTab();
    const openedAt = Date.now();
    await this.page.goto(`https://live.nicovideo.jp/watch/${program}`);
    return openedAt;
  }

  async player(timeout = 15000) { return this.peer.player(timeout); }

  async eval(fn, arg) { return (await this.player()).evaluate(fn, arg); }

  async stats() { return this.eval(() => window.treecast.stats()); }

  /** Graceful: the tab closes (beforeunload and pagehide run), as a viewer closing it would. */
  async closeTab() {
    const page = this.page;
    this.page = null;
    if (page && !page.isClosed()) await page.close({ runBeforeUnload: true });
  }

  /** Quietly: the tab goes away between runs. */
  async dropTab() {
    const page = this.page;
    this.page = null;
    if (page && !page.isClosed()) await page.close().catch(() => {});
  }

  /** Abrupt: SIGKILL every process of this browser, as a crash would. */
  crash() {
    for (const pid of browserPids(this.peer.profile)) { // by id, every process of this browser at once
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    this.crashed = true;
    this.page = null;
  }

  async close() {
    this.closing = true;
    if (this.crashed) { // its processes are gone already
      rmSync(this.peer.profile, { recursive: true, force: true });
      return;
    }
    await this.peer.close();
  }
}

export async function startFleet({ viewers, slots = 2, log = () => {}, extraArgs = [] }) {
  const nico = await startNicoServer({ port: 8443 });
  const peerServer = await startPeerServer({ port: 9000 });
  const fleet = {
    nico, peerServer, log, extraArgs,
    settings: { ...peerServerSettings(peerServer), slots },
    broadcaster: null,
    viewers: [],
    programs: 0,
    /** A fresh program on the fixture server, broadcast by the streamer. */
    newProgram() {
      const id = `lv9${String(++fleet.programs).padStart(8, '0')}`;
      nico.setProgram(id, { broadcasterUserId: STREAMER, status: 'ON_AIR' });
      return id;
    },
    all() { return [fleet.broadcaster, ...fleet.viewers]; },
    /** CPU seconds so far: { browsers (ours), machine (everything), at }. */
    cpu() { return cpuSeconds(fleet.all().filter((m) => m.peer && !m.crashed).map((m) => m.peer.profile)); },
    async close() {
      await Promise.all(fleet.all().filter(Boolean).map((m) => m.close().catch(() => {})));
      await peerServer.close().catch(() => {});
      await nico.close().catch(() => {});
    },
  };
  fleet.broadcaster = new Member(fleet, 'broadcaster', STREAMER);
  for (let i = 1; i <= viewers; i++) fleet.viewers.push(new Member(fleet, `viewer${i}`, String(2000 + i)));
  const t0 = Date.now();
  const queue = [...fleet.all()];
  await Promise.all(Array.from({ length: LAUNCH_PARALLEL }, async () => {
    for (let m = queue.shift(); m; m = queue.shift()) await m.launch();
  }));
  log(`launched ${fleet.all().length} browsers in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return fleet;
}

export { waitFor };
