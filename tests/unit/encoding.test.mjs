import { test } from 'node:test';
import assert from 'node:assert/strict';
import { preferredCodecs } from '../../extension/player/encoding.js';

// The shape of Chromium 156's video capabilities (trimmed).
const codec = (mimeType, sdpFmtpLine) => ({ mimeType, clockRate: 90000, ...(sdpFmtpLine ? { sdpFmtpLine } : {}) });
const CHROMIUM = [
  codec('video/VP8'), codec('video/rtx'), codec('video/VP9', 'profile-id=0'), codec('video/VP9', 'profile-id=2'),
  codec('video/H264', 'profile-level-id=42001f'), codec('video/H264', 'profile-level-id=42e01f'),
  codec('video/AV1'), codec('video/red'), codec('video/ulpfec'),
];
const mimes = (list) => list.map((c) => `${c.mimeType}${c.sdpFmtpLine ? ` ${c.sdpFmtpLine}` : ''}`);

test('puts every profile of the chosen codec first and keeps the rest in order', () => {
  assert.deepEqual(mimes(preferredCodecs('vp9', CHROMIUM, CHROMIUM)), [
    'video/VP9 profile-id=0', 'video/VP9 profile-id=2', 'video/VP8', 'video/rtx',
    'video/H264 profile-level-id=42001f', 'video/H264 profile-level-id=42e01f', 'video/AV1', 'video/red', 'video/ulpfec',
  ]);
  assert.deepEqual(mimes(preferredCodecs('h264', CHROMIUM, CHROMIUM)).slice(0, 3),
    ['video/H264 profile-level-id=42001f', 'video/H264 profile-level-id=42e01f', 'video/VP8']);
  assert.equal(preferredCodecs('av1', CHROMIUM, CHROMIUM)[0].mimeType, 'video/AV1');
  assert.equal(preferredCodecs('vp8', CHROMIUM, CHROMIUM).length, CHROMIUM.length, 'nothing dropped: the other side may lack the codec');
});

test('matches mime types whatever their case', () => {
  const lower = [codec('video/vp8'), codec('video/vp9')];
  assert.equal(preferredCodecs('vp9', lower, lower)[0].mimeType, 'video/vp9');
});

test('nothing to prefer for auto, an unknown name, or a codec this browser cannot send', () => {
  assert.equal(preferredCodecs('auto', CHROMIUM, CHROMIUM), null);
  assert.equal(preferredCodecs('h265', CHROMIUM, CHROMIUM), null);
  const noH264 = CHROMIUM.filter((c) => c.mimeType !== 'video/H264');
  assert.equal(preferredCodecs('h264', noH264, noH264), null, 'a build without H.264');
  assert.equal(preferredCodecs('av1', CHROMIUM, noH264.filter((c) => c.mimeType !== 'video/AV1')), null, 'decodes AV1 but cannot encode it');
  assert.equal(preferredCodecs('vp9', undefined, CHROMIUM), null);
  assert.equal(preferredCodecs('vp9', CHROMIUM, null), null);
});
