// Encoding controls: every sending peer applies its own settings to its own uploads. A broadcaster
// set to VP9, 100 kbps and maintain-resolution sends its child VP9 under the cap; that child, a
// relay on the default settings (browser's codec, 1500 kbps, balanced), sends its own child VP8.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSession } from '../harness/session.mjs';
import { waitFor } from '../harness/browsers.mjs';

// Large enough that the uncapped encoder would send well over 200 kbps.
const PATTERN = { width: 640, height: 360, fps: 15 };
const CAP_KBPS = 100; // the lowest allowed: the pattern alone sends about 290 kbps uncapped (VP9, loopback)

/** The video stream of each of a peer's media-carrying edges on one side ('down': we send, 'up': we receive). */
function videoEdges(frame, side) {
  return frame.evaluate(async (side) => {
    const driver = window.treecast.node.driver;
    const rows = [];
    for (const [peer, edge] of side === 'down' ? driver.children : driver.parents) {
      const stats = await edge.pc.getStats();
      let codec = null;
      let bytes = 0;
      stats.forEach((r) => {
        if (r.kind !== 'video' || r.type !== (side === 'down' ? 'outbound-rtp' : 'inbound-rtp')) return;
        bytes += (side === 'down' ? r.bytesSent : r.bytesReceived) ?? 0;
        codec = stats.get(r.codecId)?.mimeType ?? codec;
      });
      const sender = edge.pc.getTransceivers().find((t) => t.receiver.track.kind === 'video').sender;
      const params = sender.getParameters();
      const active = side === 'down' ? driver.sending.get(peer) === true : driver.upstream === peer;
      if (!active) continue; // a standby edge: parked, no media
      rows.push({ peer, codec, bytes, at: performance.now(), maxBitrate: params.encodings?.[0]?.maxBitrate ?? null, degradation: params.degradationPreference ?? null });
    }
    return rows;
  }, side);
}

/** kbps of a peer's single edge on `side` over `ms`. */
async function rateKbps(frame, side, ms) {
  const [a] = await videoEdges(frame, side);
  await new Promise((r) => setTimeout(r, ms));
  const [b] = await videoEdges(frame, side);
  return Math.round(((b.bytes - a.bytes) * 8) / (b.at - a.at));
}

test('the broadcaster and a relay each send with their own codec, bitrate cap and degradation preference', { timeout: 60000 }, async (t) => {
  const session = await startSession();
  t.after(() => session.close());
  const encoding = { maxKbps: CAP_KBPS, codec: 'vp9', degradation: 'maintain-resolution' };
  const broadcaster = await session.broadcaster({ pattern: PATTERN, settings: { ...session.settings, encoding } });
  const relay = await session.viewer();
  const leaf = await session.viewer();
  await session.playing(relay);
  const leafStats = await session.playing(leaf);
  assert.equal(leafStats.depth, 2, 'fan-out 1: the second viewer hangs under the first');

  const source = await broadcaster.player();
  const relayFrame = await relay.player();
  const leafFrame = await leaf.player();
  // The child's own view of what arrives: the codec negotiated from the parent's preference.
  const [relayIn] = await waitFor('video to reach the relay', async () => {
    const rows = await videoEdges(relayFrame, 'up');
    return rows[0]?.codec ? rows : false;
  });
  const [leafIn] = await waitFor('video to reach the leaf', async () => {
    const rows = await videoEdges(leafFrame, 'up');
    return rows[0]?.codec ? rows : false;
  });
  const [sent] = await videoEdges(source, 'down');
  const [relayed] = await videoEdges(relayFrame, 'down');
  const capped = await rateKbps(source, 'down', 4000);
  const uncapped = await rateKbps(relayFrame, 'down', 4000);
  t.diagnostic(`broadcaster -> relay: ${relayIn.codec}, ${capped} kbps (cap ${CAP_KBPS}), maxBitrate ${sent.maxBitrate}, ${sent.degradation}`);
  t.diagnostic(`relay -> leaf: ${leafIn.codec}, ${uncapped} kbps (cap 1500), maxBitrate ${relayed.maxBitrate}, ${relayed.degradation}`);

  assert.equal(relayIn.codec, 'video/VP9', 'the broadcaster\'s codec preference reaches its child');
  assert.equal(sent.maxBitrate, CAP_KBPS * 1000);
  assert.equal(sent.degradation, 'maintain-resolution');
  assert.ok(capped > 20, `the capped edge still carries video (${capped} kbps)`);
  assert.ok(capped <= CAP_KBPS * 1.3, `the broadcaster sent ${capped} kbps over a ${CAP_KBPS} kbps cap`);
  // The relay encodes with its own (default) settings, not its parent's.
  assert.equal(leafIn.codec, 'video/VP8');
  assert.equal(relayed.maxBitrate, 1500 * 1000);
  assert.equal(relayed.degradation, 'balanced');
});

test('the options page (in Japanese) refuses a bitrate out of range beside its field and stores valid encoding settings', { timeout: 60000 }, async (t) => {
  const session = await startSession();
  t.after(() => session.close());
  const peer = await session.viewer({ open: false, settings: { ...session.settings, language: 'ja' } });
  const options = await peer.context.newPage();
  await options.goto(`${peer.origin}/options/options.html`);
  await options.waitForSelector('html[data-ready]');
  const stored = () => options.evaluate(async () => (await chrome.storage.local.get('settings')).settings.encoding);
  assert.equal(await options.inputValue('#maxKbps'), '1500', 'stored settings without the group show its defaults');
  assert.equal(await stored(), undefined);
  await options.fill('#maxKbps', '50');
  await options.selectOption('#codec', 'vp9');
  await options.click('#save');
  await options.waitForFunction(() => document.querySelector('#maxKbps-error').textContent.length > 0);
  const error = await options.textContent('#maxKbps-error');
  t.diagnostic(`maxKbps 50: "${error}"`);
  assert.match(error, /100〜20000 kbps/);
  assert.equal(await options.getAttribute('#maxKbps', 'aria-invalid'), 'true');
  assert.equal(await stored(), undefined, 'nothing stored while a field is wrong');
  await options.fill('#maxKbps', '800');
  await options.selectOption('#degradation', 'maintain-framerate');
  await options.click('#save');
  await waitFor('the encoding settings to be stored', async () => (await stored())?.maxKbps === 800);
  assert.deepEqual(await stored(), { maxKbps: 800, codec: 'vp9', degradation: 'maintain-framerate' });
  assert.equal(await options.textContent('label[for="degradation"]'), '帯域が足りないとき');
});
