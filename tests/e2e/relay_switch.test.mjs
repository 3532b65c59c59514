// A relay's switch of upstream is invisible below it: its children's sender carries the
// Forwarder's track, whose frames are re-made with fresh timestamps. With a plain replaceTrack,
// WebRTC's capture-time stamps jump by the lag between the two upstreams and the child freezes
// that long (the control below shows it on this very machine).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureSwitchGaps } from '../harness/relay_switch.mjs';

const LAG_MS = 400;

test('a relay that switches to a lagging upstream and back shows its child no freeze', { timeout: 120000 }, async (t) => {
  const forwarder = await measureSwitchGaps({ mode: 'forwarder', lagMs: LAG_MS });
  const direct = await measureSwitchGaps({ mode: 'direct', lagMs: LAG_MS });
  t.diagnostic(`child's largest gap (ms), steady / after switching to the lagging upstream / back: forwarder ${forwarder.base} / ${forwarder.toLagging} / ${forwarder.toLeading}; replaceTrack ${direct.base} / ${direct.toLagging} / ${direct.toLeading}`);
  // The control: replaceTrack freezes the child for about the lag, in at least one direction.
  assert.ok(Math.max(direct.toLagging, direct.toLeading) >= LAG_MS * 0.6, 'replaceTrack shows the lag (the set-up works)');
  // 12 fps: one frame every 83 ms; a freeze of the lag would be 400 ms.
  assert.ok(forwarder.toLagging < LAG_MS / 2, `switch to the lagging upstream: ${forwarder.toLagging} ms`);
  assert.ok(forwarder.toLeading < LAG_MS / 2, `switch back: ${forwarder.toLeading} ms`);
});
