import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIceText, parseIceText } from '../../extension/shared/ice_text.js';
import { DEFAULT_SETTINGS, validateSettings } from '../../extension/shared/settings.js';

test('reads STUN lines and TURN lines with credentials, skipping blanks and comments', () => {
  const text = 'stun:stun.example.org:3478\n\n  # our relay\r\nturn:turn.example.org:3478 alice s3cret  \n';
  assert.deepEqual(parseIceText(text), {
    iceServers: [
      { urls: 'stun:stun.example.org:3478' },
      { urls: 'turn:turn.example.org:3478', username: 'alice', credential: 's3cret' },
    ],
    errors: [],
  });
});

test('a line with two or four parts is an error that names the line', () => {
  const { errors } = parseIceText('stun:a.example\nturn:b.example alice\nturn:c.example a b c');
  assert.deepEqual(errors.map((e) => [e.field, e.code, e.args]), [['ice', 'errIceLine', ['2']], ['ice', 'errIceLine', ['3']]]);
});

test('empty text means no ICE servers', () => {
  assert.deepEqual(parseIceText('').iceServers, []);
  assert.deepEqual(parseIceText(undefined).iceServers, []);
});

test('format and parse are inverses for valid settings', () => {
  const servers = [
    { urls: 'stun:stun.l.google.com:19302' },
    { urls: 'turns:turn.example.org:5349?transport=tcp', username: 'u', credential: 'c' },
  ];
  assert.deepEqual(parseIceText(formatIceText(servers)).iceServers, servers);
  assert.equal(formatIceText(DEFAULT_SETTINGS.iceServers), 'stun:stun.l.google.com:19302');
  const text = formatIceText([{ urls: ['stun:a.example', 'turn:b.example'], username: 'u', credential: 'c' }]);
  assert.equal(text, 'stun:a.example\nturn:b.example u c');
  assert.equal(validateSettings({ ...structuredClone(DEFAULT_SETTINGS), iceServers: parseIceText(text).iceServers }).ok, true);
});
