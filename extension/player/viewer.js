// A viewer: joins the broadcaster's tree, plays what its parent sends, relays it to its children.
import { ViewerBrain } from '../wasm/treecast.js';
import { Driver } from './driver.js';

// How long a closing relay's page keeps forwarding after telling its children it leaves: enough
// for them to activate their standbys and see its first frames (about 50 to 150 ms measured here).
const LEAVE_HOLD_MS = 300;

export class ViewerNode {
  constructor({ id, rootId, settings, video, ui }) {
    this.id = id;
    this.rootId = rootId;
    this.ui = ui;
    this.video = video;
    this.state = 'joining';
    this.view = { depth: null, children: 0 };
    const random = crypto.getRandomValues(new Uint32Array(1))[0];
    this.brain = new ViewerBrain(id, rootId, settings.slots, random);
    this.display = new MediaStream();
    video.srcObject = this.display;
    this.driver = new Driver({
      id, brain: this.brain, settings, display: this.display,
      onCommand: (cmd) => this.onCommand(cmd),
    });
  }

  start() {
    this.driver.start();
    this.ui.badge({ state: 'joining' });
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

  setSlots(slots) {
    if (!Number.isInteger(slots) || slots < 0 || slots > 8) return { ok: false, error: 'bad-slots' };
    this.driver.feed({ e: 'slots', slots });
    return { ok: true };
  }

  stats() {
    return { peerId: this.id, ...this.driver.stats(), ...JSON.parse(this.brain.stats()) };
  }

  get log() { return this.driver.log; }

  /**
   * Leaves make-before-break: tells children and the broadcaster first, keeps feeding briefly.
   * A closing tab cannot wait for its children: `pagehide` holds the page for a short bound while
   * they switch (relaying runs off the main thread, so a busy page still forwards every frame).
   */
  async stop(reason) {
    this.driver.feed({ e: 'leave' });
    if (reason === 'beforeunload') return; // pagehide follows
    if (reason === 'pagehide') {
      if (this.driver.feeding > 0 && !this.held) {
        this.held = true;
        const until = performance.now() + LEAVE_HOLD_MS;
        while (performance.now() < until) { /* children switch to their standbys meanwhile */ }
      }
      return;
    }
    await new Promise((r) => setTimeout(r, 300));
    this.driver.destroy();
  }
}
