// The streamer's verification code and the challenge/proof (extension/shared/verify.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkProof, codeOf, findCode, fromBase64Url, newKeyPair, newNonce, signer } from '../../extension/shared/verify.js';

test('a key pair proves itself against its own code, and nothing else does', async () => {
  const pair = await newKeyPair();
  const code = await codeOf(fromBase64Url(pair.publicRaw));
  assert.match(code, /^treecast:[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
  const prove = await signer(pair);
  const what = { broadcaster: 'tc-lv1-0123456789abcdef', viewer: 'tc-v-00', nonce: newNonce() };
  const proof = await prove(what);
  assert.equal(await checkProof(proof, what, code), true);
  // Another challenge, another viewer, another broadcaster id: the signature does not carry over.
  assert.equal(await checkProof(proof, { ...what, nonce: newNonce() }, code), false);
  assert.equal(await checkProof(proof, { ...what, viewer: 'tc-v-01' }, code), false);
  assert.equal(await checkProof(proof, { ...what, broadcaster: 'tc-lv1-ffffffffffffffff' }, code), false);
  // An impostor's own key: a valid signature, but not the streamer's code.
  const other = await newKeyPair();
  assert.equal(await checkProof(await (await signer(other))(what), what, code), false);
  // Junk never throws.
  for (const junk of [null, {}, { key: 'x', sig: 'y' }, { key: pair.publicRaw, sig: '!'.repeat(86) }, { key: 1, sig: [] }]) {
    assert.equal(await checkProof(junk, what, code), false);
  }
});

test('codes are found in a description whatever the case, and normalised', () => {
  assert.equal(findCode('配信説明\nP2P: treecast:ab12-CD34-ef56-GH78 です'), 'treecast:AB12-CD34-EF56-GH78');
  assert.equal(findCode('no code here'), null);
  assert.equal(findCode('treecast:AB12-CD34-EF56'), null);
  assert.equal(findCode('treecast:AB1I-CD34-EF56-GH78'), null, 'I, L, O, U are not Crockford digits');
  assert.equal(findCode(null), null);
});
