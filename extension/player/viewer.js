// A viewer: joins the broadcaster's tree, plays what its parent sends, relays it to its children.
import { ViewerBrain } from '../wasm/treecast.js';
import { Driver } from './driver.js';
import { checkProof, newNonce } from '../shared/verify.js';

// With a verification code on the page: challenge the broadcaster's id this often until it proves
// itself, then this often to catch a later squatter; obey it only this long after a proof.
const CHALLENGE_UNVERIFIED_MS = 3_000;
const CHALLENGE_VERIFIED_MS = 15_000;
const PROOF_VALID_MS = 45_000;
// Orders from an unproven broadcaster id for this long: tell the viewer.
const UNPROVEN_NOTICE_MS = 10_000;

export class ViewerNode {
  constructor({ id, rootId, settings, video, ui, t, code, original = false }) {
    this.id = id;
    this.rootId = rootId;
    this.ui = ui;
    this.video = video;
    this.state = 'joining';
    this.view = { depth: null, children: 0 };
    const random = crypto.getRandomValues(new Uint32Array(1))[0];
    // `original`: the 2017 library's loss detection, for the media benchmark only (see player.js).
    this.original = original;
    this.brain = original
      ? ViewerBrain.withOriginalDetection(id, rootId, settings.slots, random)
      : new ViewerBrain(id, rootId, settings.slots, random);
    this.t = t ?? ((key) => key);
    // The streamer's code from the page (null: no code, nothing to check: the broadcaster's id
    // is trusted as it is).
    this.verification = { code: code ?? null, state: code ? 'pending' : 'none', provenAt: -Infinity, lastChallenge: 0, nonces: [], dropped: 0, heldJoins: 0, unprovenSince: null, proofs: 0, bad: 0 };
    this.display = new MediaStream();
    video.srcObject = this.display;
    const brain = this.brain;
    // Until the broadcaster's id has proven itself, its orders do not reach the machine and our
    // joins do not reach it.
    const gated = { handle: (now, json) => (this.admits(json) ? this.holdJoins(brain.handle(now, json)) : '[]'), stats: () => brain.stats() };
    this.driver = new Driver({
      id, brain: gated, settings, display: this.display, relay: !original,
      onCommand: (cmd) => this.onCommand(cmd),
    });
    const listen = () => this.driver.setAudible(!video.muted && video.volume > 0);
    video.addEventListener('volumechange', listen);
    listen();
  }

  start() {
    this.driver.start();
    this.ui.badge({ state: 'joining' });
    if (this.verification.code) {
      const s = this.driver.signalling;
      s.addEventListener('auth', (ev) => this.onProof(ev.from, ev.auth));
      s.addEventListener('open', () => this.challenge());
      this.challengeTimer = setInterval(() => {
        const proven = this.proven();
        if (!proven || performance.now() - this.verification.lastChallenge >= CHALLENGE_VERIFIED_MS) this.challenge();
      }, CHALLENGE_UNVERIFIED_MS);
    }
  }

  proven() {
    return performance.now() - this.verification.provenAt < PROOF_VALID_MS;
  }

  /** Whether a driver event may reach the machine: everything but unproven coordinator orders. */
  admits(json) {
    const v = this.verification;
    if (!v.code || !json.startsWith('{"e":"signal"') || this.proven()) return true;
    let event;
    try { event = JSON.parse(json); } catch { return true; }
    if (event.from !== this.rootId) return true;
    v.dropped++;
    v.unprovenSince ??= performance.now();
    if (performance.now() - v.unprovenSince > UNPROVEN_NOTICE_MS && v.state !== 'impostor') this.impostor();
    return false;
  }

  /**
   * The machine's commands minus any join to the broadcaster's id while it is unproven. A join
   * is answered at once (`assign`, and the parent's call), a proof only after a signature: orders
   * that overtook the proof would be dropped, the call refused, and the broadcaster would keep
   * waiting on that call. So a viewer with a code joins only a proven broadcaster (`onProof`
   * joins at once); its orders then always come after the proof.
   */
  holdJoins(out) {
    const v = this.verification;
    if (!v.code || !out.includes('join') || this.proven()) return out;
    const isJoin = (cmd) => {
      if (cmd.c !== 'signal' || cmd.to !== this.rootId) return false;
      try { return JSON.parse(cmd.text).t === 'join'; } catch { return false; }
    };
    const commands = JSON.parse(out);
    const kept = commands.filter((cmd) => !isJoin(cmd));
    v.heldJoins += commands.length - kept.length;
    return kept.length === commands.length ? out : JSON.stringify(kept);
  }

  challenge() {
    const v = this.verification;
    const nonce = newNonce();
    v.nonces = [...v.nonces.slice(-3), nonce];
    v.lastChallenge = performance.now();
    this.driver.signalling.sendAuth(this.rootId, { challenge: nonce });
  }

  async onProof(from, auth) {
    const v = this.verification;
    const proof = auth?.proof;
    if (from !== this.rootId || typeof proof?.nonce !== 'string' || !v.nonces.includes(proof.nonce)) return;
    v.nonces = v.nonces.filter((n) => n !== proof.nonce);
    if (await checkProof(proof, { broadcaster: this.rootId, viewer: this.id, nonce: proof.nonce }, v.code)) {
      const was = this.proven();
      v.proofs++;
      v.provenAt = performance.now();
      v.unprovenSince = null;
      if (v.state !== 'verified') {
        v.state = 'verified';
        this.ui.notice(null);
        this.driver.note('info', 'the broadcaster id proved the code on the page');
      }
      // Our joins were held while it was unproven: join now (the machine joins at once when it
      // is not placed, as when the server connection opens; a placed one does nothing).
      if (!was && this.driver.signalling?.open) this.driver.feed({ e: 'signalling_open' });
    } else {
      v.bad++;
      v.provenAt = -Infinity;
      this.impostor();
    }
  }

  impostor() {
    this.verification.state = 'impostor';
    this.driver.note('warn', 'the peer holding the broadcaster id did not prove the code on the page');
    this.ui.notice(this.t('impostor'));
  }

  onCommand(cmd) {
    if (cmd.c === 'state') {
      this.state = cmd.state;
      this.ui.badge({ state: cmd.state, depth: cmd.depth, below: cmd.below });
      if (cmd.state === 'playing') this.video.play().catch(() => {});
    } else if (cmd.c === 'log') {
      this.driver.note(cmd.level, cmd.text);
    }
  }

  /** About once a second: what this viewer sees goes to the broadcaster, up the tree. */
  reportHealth(frames, everyMs = 1000) {
    clearInterval(this.healthTimer);
    this.healthTimer = setInterval(() => {
      const s = frames.sample();
      this.driver.feed({ e: 'health', fps: s.fps, gap_ms: s.gapMs, stalls: s.stalls });
    }, everyMs);
  }

  setSlots(slots) {
    if (!Number.isInteger(slots) || slots < 0 || slots > 8) return { ok: false, error: 'bad-slots' };
    this.driver.feed({ e: 'slots', slots });
    return { ok: true };
  }

  stats() {
    const v = this.verification;
    const verification = { state: v.state, proofs: v.proofs, bad: v.bad, dropped: v.dropped, heldJoins: v.heldJoins };
    return { peerId: this.id, ...this.driver.stats(), ...JSON.parse(this.brain.stats()), verification };
  }

  get log() { return this.driver.log; }

  /**
   * Leaves make-before-break: tells children and the broadcaster first, keeps feeding briefly.
   * A closing tab cannot feed on: its media stops within about 60 ms of the close whether or not its
   * pagehide handler holds the page (tests/tools/hold_probe.mjs), so the notice sent at
   * beforeunload is what lets the children switch early, and the page does not wait.
   */
  async stop(reason) {
    clearInterval(this.challengeTimer);
    clearInterval(this.healthTimer);
    // The original library had no leave notice: its relays just closed their connections, and
    // said nothing to the root on the way out (signalling goes first, so no report escapes).
    if (this.original) { this.driver.signalling?.destroy(); this.driver.destroy(); return; }
    this.driver.feed({ e: 'leave' });
    if (reason === 'beforeunload' || reason === 'pagehide') return;
    await new Promise((r) => setTimeout(r, 300));
    this.driver.destroy();
  }
}
