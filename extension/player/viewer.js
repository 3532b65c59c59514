// A viewer: joins the broadcaster's tree, plays what its parent sends, relays it to its children.
import { ViewerBrain } from '../wasm/treecast.js';
import { Driver } from './driver.js';

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

  /** Leaves make-before-break: tells children and the broadcaster first, keeps feeding briefly. */
  async stop(reason) {
    this.driver.feed({ e: 'leave' });
    if (reason !== 'pagehide') {
      await new Promise((r) => setTimeout(r, 300));
      this.driver.destroy();
    }
  }
}
