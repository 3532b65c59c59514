// What PeerJS is allowed to see of the server's messages (extension/player/signalling.js): anyone
// can send a peer anything through the PeerServer, and PeerJS trusts it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forPeerJs } from '../../extension/player/signalling.js';

function fakePeer({ calls = [], early = {} } = {}) {
  return {
    getConnection: (src, id) => calls.find((c) => c.src === src && c.connectionId === id) ?? null,
    _lostMessages: new Map(Object.entries(early)),
  };
}
const anyone = () => true;
const nobody = () => false;
const offer = (type, extra = {}) => ({ type: 'OFFER', src: 'tc-v-a', payload: { type, connectionId: 'mc_1', sdp: { type: 'offer', sdp: 'v=0' }, ...extra } });

test("the server's own messages pass", () => {
  for (const type of ['OPEN', 'ERROR', 'ID-TAKEN', 'INVALID-KEY', 'EXPIRE', 'HEARTBEAT']) {
    assert.equal(forPeerJs(fakePeer(), { type }, anyone), true, type);
  }
  assert.equal(forPeerJs(fakePeer(), { type: 'LEAVE', src: 'tc-v-a' }, anyone), true);
});

test('media offers pass only from peers we accept calls from; data offers never', () => {
  assert.equal(forPeerJs(fakePeer(), offer('media'), anyone), true);
  assert.equal(forPeerJs(fakePeer(), offer('media'), nobody), false);
  assert.equal(forPeerJs(fakePeer(), offer('data', { serialization: 'binary' }), anyone), false);
  assert.equal(forPeerJs(fakePeer(), offer('media', { connectionId: 'x'.repeat(65) }), anyone), false);
  assert.equal(forPeerJs(fakePeer(), offer('media', { sdp: 'v=0' }), anyone), false);
  assert.equal(forPeerJs(fakePeer(), { type: 'OFFER', src: 'tc-v-a', payload: null }, anyone), false);
});

test('answers and candidates pass only for calls that exist, and early ones are bounded', () => {
  const cand = (id) => ({ type: 'CANDIDATE', src: 'tc-v-a', payload: { connectionId: id, candidate: {} } });
  const peer = fakePeer({ calls: [{ src: 'tc-v-a', connectionId: 'mc_1', peerConnection: {} }, { src: 'tc-v-a', connectionId: 'mc_2', peerConnection: null }],
    early: { mc_2: new Array(64).fill({}) } });
  assert.equal(forPeerJs(peer, cand('mc_1'), anyone), true);
  assert.equal(forPeerJs(peer, cand('mc_9'), anyone), false, 'unknown call ids would be stored forever');
  assert.equal(forPeerJs(peer, { ...cand('mc_1'), src: 'tc-v-b' }, anyone), false, 'another peer cannot feed our call');
  assert.equal(forPeerJs(peer, cand('mc_2'), anyone), false, 'at most 64 early messages per unanswered call');
  assert.equal(forPeerJs(peer, { type: 'ANSWER', src: 'tc-v-a', payload: { connectionId: 'mc_1', sdp: {} } }, anyone), true);
});

test('our own messages, unknown types and junk do not reach PeerJS', () => {
  for (const m of [
    { type: 'CANDIDATE', src: 'tc-v-a', payload: { tc: '{"v":1,"t":"leave"}' } },
    { type: 'WHATEVER', src: 'tc-v-a', payload: {} },
    null, 'OPEN', [], { type: 3 },
  ]) assert.equal(forPeerJs(fakePeer(), m, anyone), false, JSON.stringify(m));
});
