import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CODECS, DEFAULT_SETTINGS, DEGRADATIONS, MAX_KBPS, MIN_KBPS, SETTINGS_KEY, isHost, loadSettings, parseIceUrl, saveSettings, validateSettings, withDefaults,
} from '../../extension/shared/settings.js';

const valid = () => structuredClone(DEFAULT_SETTINGS);
const change = (mutate) => {
  const settings = valid();
  mutate(settings);
  return validateSettings(settings);
};
const fieldsOf = (result) => (result.ok ? [] : result.errors.map((e) => e.field));

// A chrome.storage.local stand-in.
function memoryStorage(initial = {}) {
  const data = structuredClone(initial);
  return {
    data,
    async get(key) { return key in data ? { [key]: structuredClone(data[key]) } : {}; },
    async set(items) { Object.assign(data, structuredClone(items)); },
  };
}

test('the defaults are valid and unchanged by validation', () => {
  const result = validateSettings(valid());
  assert.equal(result.ok, true);
  assert.deepEqual(result.settings, valid());
  assert.ok(Object.isFrozen(DEFAULT_SETTINGS.server));
});

test('cleans up what it accepts: trims, lower-cases the host, drops unknown keys', () => {
  const result = change((s) => {
    s.server.host = '  PEER.Example.ORG ';
    s.server.path = ' /myapp/ ';
    s.server.key = ' k ';
    s.extra = 1;
    s.server.extra = 2;
    s.encoding.extra = 3;
    s.iceServers = [{ urls: ['stun:a.example.org', 'turn:b.example.org:3478?transport=tcp'], username: 'u', credential: 'c', x: 1 }];
  });
  assert.equal(result.ok, true);
  assert.deepEqual(result.settings, {
    server: { host: 'peer.example.org', port: 443, path: '/myapp/', key: 'k', secure: true },
    iceServers: [{ urls: ['stun:a.example.org', 'turn:b.example.org:3478?transport=tcp'], username: 'u', credential: 'c' }],
    slots: 2,
    language: 'auto',
    encoding: { maxKbps: 1500, codec: 'auto', degradation: 'balanced' },
  });
});

test('accepts the usual kinds of host', () => {
  for (const host of ['localhost', '0.peerjs.com', '127.0.0.1', '192.168.1.20', '::1', '[::1]', 'fe80::1', '2001:db8::8a2e:370:7334',
    '::ffff:192.0.2.1', 'xn--eckwd4c7c.xn--zckzah', 'peer-server.example']) {
    assert.equal(isHost(host), true, host);
  }
});

test('rejects a bad host', () => {
  for (const host of ['', 'https://0.peerjs.com', '0.peerjs.com/', '0.peerjs.com:443', 'peer server', '-bad.example', 'bad-.example',
    '256.1.1.1', '1.2.3', 'a..b', '1:2:3:4:5:6:7:8:9', '1::2::3', 'a'.repeat(64) + '.com', 'ホスト.jp']) {
    assert.deepEqual(fieldsOf(change((s) => { s.server.host = host; })), ['host'], host);
  }
  assert.deepEqual(fieldsOf(change((s) => { s.server.host = 42; })), ['host']);
  assert.deepEqual(fieldsOf(change((s) => { delete s.server.host; })), ['host']);
});

test('rejects a port outside 1..65535 or not a whole number', () => {
  for (const port of [0, -1, 65536, 1.5, Number.NaN, '443', null]) {
    assert.deepEqual(fieldsOf(change((s) => { s.server.port = port; })), ['port'], String(port));
  }
  assert.equal(change((s) => { s.server.port = 65535; }).ok, true);
  assert.equal(change((s) => { s.server.port = 1; }).ok, true);
});

test('rejects a path that does not start with /', () => {
  for (const path of ['', 'myapp', 'my app', '/a b', '/a?x=1', '/a#b', 7]) {
    assert.deepEqual(fieldsOf(change((s) => { s.server.path = path; })), ['path'], String(path));
  }
});

test('rejects an empty key or one with spaces', () => {
  for (const key of ['', '   ', 'a b', null]) {
    assert.deepEqual(fieldsOf(change((s) => { s.server.key = key; })), ['key'], String(key));
  }
});

test('rejects a secure flag that is not a boolean', () => {
  assert.deepEqual(fieldsOf(change((s) => { s.server.secure = 'true'; })), ['secure']);
});

test('rejects ICE servers that are not STUN/TURN addresses', () => {
  for (const urls of ['http://stun.example.org', 'stun.example.org', 'stun:', 'stun:host:99999', 'stun:a.example?transport=udp',
    'turn:host?transport=sctp', 'stun:host name', ['stun:ok.example', 'bogus:x'], [], 5]) {
    const result = change((s) => { s.iceServers = [{ urls }]; });
    assert.deepEqual(fieldsOf(result), ['ice'], JSON.stringify(urls));
    assert.equal(result.errors[0].code, 'errIceUrl');
  }
  assert.deepEqual(fieldsOf(change((s) => { s.iceServers = 'stun:x'; })), ['ice']);
  assert.deepEqual(fieldsOf(change((s) => { s.iceServers = [null]; })), ['ice']);
});

test('rejects TURN without a user name and a credential', () => {
  for (const server of [{ urls: 'turn:t.example:3478' }, { urls: 'turns:t.example', username: 'u' },
    { urls: 'turn:t.example', username: 'u', credential: '' }, { urls: ['stun:s.example', 'turn:t.example'], credential: 'c' }]) {
    const result = change((s) => { s.iceServers = [server]; });
    assert.deepEqual(fieldsOf(result), ['ice'], JSON.stringify(server));
    assert.equal(result.errors[0].code, 'errIceTurnAuth');
    assert.match(result.errors[0].message, /turn/);
  }
  assert.equal(change((s) => { s.iceServers = [{ urls: 'turns:t.example:5349', username: 'u', credential: 'c' }]; }).ok, true);
  assert.equal(change((s) => { s.iceServers = []; }).ok, true, 'no ICE servers is allowed (LAN only)');
});

test('rejects slots outside 0..8 or not whole', () => {
  for (const slots of [-1, 9, 2.5, '2', null]) {
    assert.deepEqual(fieldsOf(change((s) => { s.slots = slots; })), ['slots'], String(slots));
  }
  assert.equal(change((s) => { s.slots = 0; }).ok, true);
  assert.equal(change((s) => { s.slots = 8; }).ok, true);
});

test('rejects an unknown language', () => {
  for (const language of ['fr', '', 'JA', null]) {
    assert.deepEqual(fieldsOf(change((s) => { s.language = language; })), ['language'], String(language));
  }
});

test('accepts every codec and degradation preference offered, and bitrates from 100 to 20000 kbps', () => {
  for (const codec of CODECS) assert.equal(change((s) => { s.encoding.codec = codec; }).ok, true, codec);
  for (const degradation of DEGRADATIONS) assert.equal(change((s) => { s.encoding.degradation = degradation; }).ok, true, degradation);
  for (const maxKbps of [MIN_KBPS, 200, MAX_KBPS]) {
    const result = change((s) => { s.encoding.maxKbps = maxKbps; });
    assert.equal(result.settings.encoding.maxKbps, maxKbps);
  }
  assert.deepEqual(CODECS, ['auto', 'vp8', 'vp9', 'h264', 'av1']);
  assert.deepEqual([MIN_KBPS, MAX_KBPS], [100, 20000]);
});

test('rejects a bitrate outside 100..20000 kbps or not a whole number', () => {
  for (const maxKbps of [0, 99, 20001, -200, 1500.5, Number.NaN, Number.POSITIVE_INFINITY, '1500', null, undefined]) {
    const result = change((s) => { s.encoding.maxKbps = maxKbps; });
    assert.deepEqual(fieldsOf(result), ['maxKbps'], String(maxKbps));
    assert.equal(result.errors[0].code, 'errMaxKbps');
    assert.match(result.errors[0].message, /100 to 20000/);
  }
});

test('rejects an unknown codec or degradation preference', () => {
  for (const codec of ['VP9', 'h265', 'video/VP9', '', null]) {
    const result = change((s) => { s.encoding.codec = codec; });
    assert.deepEqual(fieldsOf(result), ['codec'], String(codec));
    assert.equal(result.errors[0].code, 'errCodec');
  }
  for (const degradation of ['disabled', 'maintain_framerate', 'Balanced', '', 0]) {
    const result = change((s) => { s.encoding.degradation = degradation; });
    assert.deepEqual(fieldsOf(result), ['degradation'], String(degradation));
    assert.equal(result.errors[0].code, 'errDegradation');
  }
  assert.deepEqual(fieldsOf(change((s) => { delete s.encoding; })), ['maxKbps', 'codec', 'degradation']);
});

test('settings stored before the encoding group existed get its defaults; a partial group is completed', async () => {
  const { encoding, ...older } = valid();
  assert.deepEqual((await loadSettings(memoryStorage({ [SETTINGS_KEY]: older }))).encoding, encoding);
  const partial = await loadSettings(memoryStorage({ [SETTINGS_KEY]: { ...older, encoding: { codec: 'vp9' } } }));
  assert.deepEqual(partial.encoding, { maxKbps: 1500, codec: 'vp9', degradation: 'balanced' });
  assert.deepEqual(await loadSettings(memoryStorage({ [SETTINGS_KEY]: { ...older, encoding: { maxKbps: 5 } } })), valid());
});

test('reports every problem at once, each with a code and a message', () => {
  const result = validateSettings({ server: {}, iceServers: null, slots: 99, language: 'xx', encoding: 'fast' });
  assert.deepEqual(fieldsOf(result), ['host', 'port', 'path', 'key', 'secure', 'ice', 'slots', 'language', 'maxKbps', 'codec', 'degradation']);
  for (const error of result.errors) {
    assert.match(error.code, /^err[A-Z]/);
    assert.ok(error.message.length > 10);
  }
  for (const notObject of [null, undefined, [], 'x']) {
    assert.deepEqual(fieldsOf(validateSettings(notObject)), ['']);
  }
});

test('parseIceUrl splits what it accepts', () => {
  assert.deepEqual(parseIceUrl('stun:stun.l.google.com:19302'), { scheme: 'stun', host: 'stun.l.google.com', port: 19302, isTurn: false });
  assert.deepEqual(parseIceUrl('TURNS:[2001:db8::1]:5349?transport=tcp'), { scheme: 'turns', host: '[2001:db8::1]', port: 5349, isTurn: true });
  assert.equal(parseIceUrl('turn:user@host'), null);
});

test('loadSettings fills gaps from the defaults and falls back when storage holds junk', async () => {
  assert.deepEqual(await loadSettings(memoryStorage()), valid());
  const partial = await loadSettings(memoryStorage({ [SETTINGS_KEY]: { server: { host: 'peer.example.org' }, slots: 0 } }));
  assert.equal(partial.server.host, 'peer.example.org');
  assert.equal(partial.server.port, 443);
  assert.equal(partial.slots, 0);
  assert.deepEqual(await loadSettings(memoryStorage({ [SETTINGS_KEY]: { slots: 'many' } })), valid());
  assert.deepEqual(await loadSettings(memoryStorage({ [SETTINGS_KEY]: 'junk' })), valid());
  const broken = { async get() { throw new Error('storage down'); } };
  assert.deepEqual(await loadSettings(broken), valid());
});

test('loadSettings hands out copies, never the frozen defaults', async () => {
  const settings = await loadSettings(memoryStorage());
  settings.server.port = 9000;
  assert.equal(DEFAULT_SETTINGS.server.port, 443);
});

test('saveSettings stores only valid settings', async () => {
  const storage = memoryStorage();
  const bad = await saveSettings({ ...valid(), slots: 99 }, storage);
  assert.equal(bad.ok, false);
  assert.deepEqual(storage.data, {});
  const good = await saveSettings({ ...valid(), slots: 4 }, storage);
  assert.equal(good.ok, true);
  assert.equal(storage.data[SETTINGS_KEY].slots, 4);
});

test('withDefaults keeps stored values over defaults', () => {
  assert.equal(withDefaults({ language: 'ja' }).language, 'ja');
  assert.deepEqual(withDefaults(null), valid());
});
