// The streamer's frame: the coordinator of the tree (Rust, in wasm) and the root of the relay.
// Its state is saved in extension storage after every change, so a reload picks the tree up where
// it was and only the broadcaster's own edges are rebuilt.
import { BroadcasterBrain } from '../wasm/treecast.js';
import { Driver } from './driver.js';
import { TestPattern } from './pattern.js';
import { openCapture } from './sources.js';
import { clock } from './clock.js';
import { codeOf, fromBase64Url, newKeyPair, signer } from '../shared/verify.js';

const api = () => globalThis.browser ?? globalThis.chrome;
const SAVE_EVERY_MS = 500;
// Proofs of identity signed per second (each viewer with the code asks every 15 s), and saved up.
const PROOFS = { perSecond: 200, burst: 400 };

export class Broadcaster {
  constructor({ id, program, settings, video, ui, t, user, pageCode, policy = null }) {
    this.id = id;
    this.policy = policy; // 'seed': the original library's policy (media benchmark only)
    this.program = program;
    this.settings = settings;
    this.video = video;
    this.ui = ui;
    this.t = t ?? ((key) => key);
    // Another peer holds our id on the PeerServer (someone squatting it, or this program open in
    // a second tab): we retry, and say so.
    this.idTaken = false;
    // The streamer's verification key (one per Niconico user) and what the page shows.
    this.user = user ?? '';
    this.pageCode = pageCode ?? null;
    this.code = null;
    this.proofs = { tokens: PROOFS.burst, at: performance.now(), signed: 0, refused: 0 };
    this.key = `broadcast:${program}`;
    this.source = null;
    this.driver = null;
    this.config = { fanout: 1, source: 'pattern' };
  }

  /** After a reload: if this program was being broadcast, take it up again. */
  async resume() {
    const saved = (await api().storage.local.get(this.key))[this.key];
    if (saved?.on) {
      const result = await this.setBroadcasting({ on: true, source: saved.source, fanout: saved.fanout, snapshot: saved.snapshot, pattern: saved.pattern });
      if (!result.ok) this.ui.notice(result.error);
    } else {
      this.ui.badge({ state: 'idle' });
    }
  }

  async setBroadcasting({ on, source = 'pattern', fanout = 1, snapshot, pattern }) {
    if (!on) { await this.stop('stopped'); return { ok: true }; }
    if (this.driver) { // already on: a change of source or fan-out
      if (source !== this.config.source) await this.useSource(source);
      return { ok: true };
    }
    this.config = { fanout: clampFanout(fanout), source, pattern: patternSize(pattern ?? this.config.pattern) };
    try {
      await this.useSource(source);
    } catch (err) {
      const needsClick = err?.name === 'InvalidStateError' || err?.name === 'NotAllowedError';
      if (needsClick) this.offerClick(source);
      return { ok: false, error: String(err?.message ?? err), needsClick };
    }
    // Randomness for the hash tables whose keys (peer ids) hostile senders choose.
    const [hi, lo] = crypto.getRandomValues(new Uint32Array(2));
    const config = JSON.stringify({ fanout: this.config.fanout, seed: (hi >>> 11) * 2 ** 32 + lo, ...(this.policy ? { policy: this.policy } : {}) });
    // A fresh session number per page load: viewers notice the restart and report where they sit.
    const epoch = (crypto.getRandomValues(new Uint32Array(1))[0] % 0xfffffffe) + 1;
    this.brain = snapshot
      ? BroadcasterBrain.restore(this.id, config, epoch, snapshot, clock())
      : new BroadcasterBrain(this.id, config, epoch);
    const restoreError = this.brain.restoreError?.();
    if (restoreError) console.warn('treecast: saved tree not usable, rebuilding from viewers:', restoreError);
    this.display = new MediaStream();
    this.driver = new Driver({
      id: this.id, brain: this.brain, settings: this.settings, display: this.display,
      onCommand: (cmd) => this.onCommand(cmd),
    });
    // The streamer's own monitor stays silent (driver default): playing the microphone back
    // would only echo.
    this.driver.setTracks(this.sourceTracks());
    this.video.srcObject = this.display;
    this.video.play().catch(() => {});
    await this.loadKey();
    this.driver.start();
    this.watchId(this.driver.signalling);
    this.driver.signalling.addEventListener('auth', (ev) => this.answer(ev.from, ev.auth));
    this.ui.badge({ state: 'broadcasting', depth: 0, below: 0 });
    this.saveTimer = setInterval(() => this.save(), SAVE_EVERY_MS);
    await this.save();
    return { ok: true };
  }

  /** The streamer's key pair from storage (made once per user); the code viewers check it by. */
  async loadKey() {
    const key = `verifyKey:${this.user}`;
    let stored = (await api().storage.local.get(key))[key];
    if (!stored?.privateJwk || typeof stored.publicRaw !== 'string') {
      stored = await newKeyPair();
      await api().storage.local.set({ [key]: stored });
    }
    this.prove = await signer(stored);
    this.code = await codeOf(fromBase64Url(stored.publicRaw));
    if (this.pageCode !== this.code) this.ui.notice(this.t('verifyCodeHint', [this.code]));
  }

  /** Answers a viewer's challenge with a proof that we hold the key (rate-limited: signing costs). */
  async answer(from, auth) {
    if (typeof auth?.challenge !== 'string' || auth.challenge.length > 64 || !this.prove) return;
    const now = performance.now();
    const p = this.proofs;
    p.tokens = Math.min(PROOFS.burst, p.tokens + ((now - p.at) / 1000) * PROOFS.perSecond);
    p.at = now;
    if (p.tokens < 1) { p.refused++; return; }
    p.tokens -= 1;
    p.signed++;
    const proof = await this.prove({ broadcaster: this.id, viewer: from, nonce: auth.challenge });
    this.driver?.signalling.sendAuth(from, { proof: { ...proof, nonce: auth.challenge } });
  }

  /** Tells the streamer while the PeerServer refuses our id because another peer holds it. */
  watchId(signalling) {
    signalling.addEventListener('error', (ev) => {
      if (ev.kind !== 'unavailable-id') return;
      if (!this.idTaken) this.driver?.note('warn', 'our peer id is taken on the PeerServer: retrying');
      this.idTaken = true;
      this.ui.notice(this.t('idTaken'));
    });
    signalling.addEventListener('open', () => {
      if (!this.idTaken) return;
      this.idTaken = false;
      this.ui.notice(null);
    });
  }

  sourceTracks() {
    const s = this.source.stream;
    return { video: s.getVideoTracks()[0] ?? null, audio: s.getAudioTracks()[0] ?? null };
  }

  async useSource(kind) {
    const next = kind === 'pattern' ? new TestPattern(this.config.pattern) : await openCapture(kind);
    this.source?.stop();
    this.source = next;
    this.config.source = kind;
    this.driver?.setTracks(this.sourceTracks());
  }

  /** Screen capture needs a click inside this frame in some browsers: show that one button. */
  offerClick(kind) {
    const button = document.getElementById('share');
    button.hidden = false;
    button.onclick = async () => {
      button.hidden = true;
      const result = await this.setBroadcasting({ on: true, source: kind, fanout: this.config.fanout });
      if (!result.ok) this.ui.notice(result.error);
    };
  }

  onCommand(cmd) {
    if (cmd.c === 'log') this.driver.note(cmd.level, cmd.text);
  }

  /** Every half second: the tree to storage (so a reload resumes it) and the badge's count. */
  async save() {
    if (!this.brain) return;
    this.ui.badge({ state: 'broadcasting', depth: 0, below: JSON.parse(this.brain.stats()).viewers });
    const value = { on: true, source: this.config.source, fanout: this.config.fanout, pattern: this.config.pattern, snapshot: this.brain.snapshot() };
    await api().storage.local.set({ [this.key]: value });
  }

  stats() {
    const base = { peerId: this.id, role: 'broadcaster', broadcasting: !!this.driver, source: this.config.source, fanout: this.config.fanout, policy: this.policy ?? 'treecast' };
    if (!this.brain) return { ...base, state: 'idle' };
    const tree = JSON.parse(this.brain.stats());
    return { ...base, ...this.driver.stats(), ...tree, signallingDropped: this.driver.signalling?.dropped ?? 0, idTaken: this.idTaken, verificationCode: this.code, pageHasCode: this.pageCode === this.code, proofs: { signed: this.proofs.signed, refused: this.proofs.refused }, viewers: tree.viewers, maxDepth: tree.max_depth, repairs: tree.repairs, state: 'broadcasting', depth: 0 };
  }

  tree() { return this.brain ? JSON.parse(this.brain.tree()) : null; }

  /** The coordinator's invariants: null when they hold, else the first broken rule. */
  checkInvariants() { return this.brain ? (this.brain.checkInvariants() ?? null) : 'not broadcasting'; }

  /** What the relay dashboard reads (see dashboard_feed.js): the machine and the page's own figures. */
  dashboardSource() {
    const track = this.source?.stream?.getVideoTracks()[0];
    const sourceFps = this.config.source === 'pattern' ? this.config.pattern?.fps : track?.getSettings?.().frameRate;
    return { brain: this.brain ?? null, broadcasting: !!this.driver, kbpsOut: this.driver?.rates.kbpsOut ?? null, sourceFps: sourceFps ?? null };
  }

  get log() { return this.driver?.log ?? []; }

  async stop(reason) {
    clearInterval(this.saveTimer);
    // The page goes away (a reload, or the tab closes): keep the saved state so the tree survives.
    if (reason === 'pagehide' || reason === 'beforeunload') return;
    if (this.driver) this.driver.feed({ e: 'leave' });
    await api().storage.local.remove(this.key);
    await new Promise((r) => setTimeout(r, 200));
    this.driver?.destroy();
    this.driver = null;
    this.brain = null;
    this.source?.stop();
    this.source = null;
    this.ui.badge({ state: 'idle' });
  }
}

/** The test pattern's size and rate (smaller for tests that run many browsers on one machine). */
function patternSize(p) {
  const int = (v, lo, hi, d) => (Number.isInteger(v) && v >= lo && v <= hi ? v : d);
  return { width: int(p?.width, 160, 1920, 640), height: int(p?.height, 120, 1080, 360), fps: int(p?.fps, 5, 60, 30), audio: p?.audio !== false };
}

function clampFanout(n) {
  const v = Number(n);
  return Number.isInteger(v) && v >= 1 && v <= 8 ? v : 1;
}
