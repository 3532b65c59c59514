import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mediaVerdict, FIRST_FRAME_WAIT_MS } from '../../extension/player/media_watch.js';

const playing = (at) => ({ mark: 'a1/v1/', at, video: 'v1' });

test('nothing new, nothing to say; steady media counts at once', () => {
  assert.equal(mediaVerdict(playing(0), null, null, 10), null);
  assert.equal(mediaVerdict(playing(0), { all: 'a1/v1/', video: 'v1' }, null, 10), null);
  const v = mediaVerdict(playing(0), { all: 'a2/v1/', video: 'v1' }, null, 40);
  assert.deepEqual(v, { entry: { mark: 'a2/v1/', at: 40, video: 'v1' }, media: true, started: false });
});

test('a resumed edge waits for a decoded frame while the current upstream plays', () => {
  const current = playing(1_000);
  const parked = { mark: 'a0/v0/', at: 0, video: 'v0' };
  // Audio first: no new video frame yet, so the machine does not hear of it.
  const first = mediaVerdict(parked, { all: 'a5/v0/', video: 'v0' }, current, 1_050);
  assert.equal(first.media, false);
  assert.equal(first.entry.waitingSince, 1_050);
  // A decoded frame: now it counts, and it is logged as resumed.
  const framed = mediaVerdict(first.entry, { all: 'a6/v7/', video: 'v7' }, { ...current, at: 1_090 }, 1_100);
  assert.deepEqual(framed, { entry: { mark: 'a6/v7/', at: 1_100, video: 'v7' }, media: true, started: true });
});

test('with the current upstream quiet, or after the bound, the first media counts', () => {
  const parked = { mark: 'a0/v0/', at: 0, video: 'v0' };
  const quiet = playing(1_000);
  assert.equal(mediaVerdict(parked, { all: 'a5/v0/', video: 'v0' }, quiet, 1_200).media, true);
  assert.equal(mediaVerdict(parked, { all: 'a5/v0/', video: 'v0' }, null, 1_200).media, true);
  const waiting = { ...parked, waitingSince: 1_000 };
  const late = 1_000 + FIRST_FRAME_WAIT_MS;
  assert.equal(mediaVerdict(waiting, { all: 'a9/v0/', video: 'v0' }, playing(late - 10), late).media, true);
  // A brand-new edge without video yet waits too while we play.
  assert.equal(mediaVerdict(undefined, { all: 'a1/', video: null }, playing(990), 1_000).media, false);
});
