// The user's settings: defaults, validation, and storage in chrome.storage.local.
// Validation is pure so the options page, the player and the unit tests share it.

export const SETTINGS_KEY = 'settings';
export const LANGUAGES = Object.freeze(['auto', 'en', 'ja']);
export const MAX_SLOTS = 8;
// What this browser sends on each edge where it feeds a child (see extension/player/encoding.js).
export const CODECS = Object.freeze(['auto', 'vp8', 'vp9', 'h264', 'av1']);
export const DEGRADATIONS = Object.freeze(['balanced', 'maintain-framerate', 'maintain-resolution']);
export const MIN_KBPS = 100;
export const MAX_KBPS = 20000;

export const DEFAULT_SETTINGS = deepFreeze({
  server: { host: '0.peerjs.com', port: 443, path: '/', key: 'peerjs', secure: true },
  iceServers: [{ urls: 'stun:stun.l.google.com:19302' }],
  slots: 2,
  language: 'auto',
  // Every child costs its parent a full copy of the video upstream, and a relay is usually a home
  // line: 1500 kbps per child keeps 720p watchable while the default 2 children need about 3 Mbps
  // up (congestion control still goes lower on a thinner uplink). 'auto' leaves the codec to the
  // browsers (VP8 in Chromium, which every WebRTC browser decodes in software); 'balanced' is
  // Chromium's own choice for camera-like video.
  encoding: { maxKbps: 1500, codec: 'auto', degradation: 'balanced' },
});

function deepFreeze(value) {
  if (value && typeof value === 'object') {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

// Each error carries an i18n key (`code`) for the pages and plain English (`message`) for logs and tests.
const MESSAGES = {
  errSettings: 'The settings must be an object.',
  errHost: 'Enter a host name (like 0.peerjs.com) or an IP address, without https:// or a path.',
  errPort: 'The port must be a whole number from 1 to 65535.',
  errPath: 'The path must start with / (for example / or /myapp/).',
  errKey: 'The key can\'t be empty or contain spaces.',
  errSecure: 'Secure connection must be on or off.',
  errIceList: 'ICE servers must be a list.',
  errIceUrl: '"$1" is not a STUN or TURN address: it must start with stun:, turn: or turns:, then a host and an optional port.',
  errIceTurnAuth: '"$1" needs a user name and a credential: write turn:host:port username credential.',
  errSlots: `Relay capacity must be a whole number from 0 to ${MAX_SLOTS}.`,
  errLanguage: 'Choose Automatic, English or Japanese.',
  errMaxKbps: `The bitrate must be a whole number of kbps from ${MIN_KBPS} to ${MAX_KBPS}.`,
  errCodec: 'Choose Automatic, VP8, VP9, H.264 or AV1.',
  errDegradation: 'Choose balanced, keep frame rate or keep resolution.',
};

function error(field, code, args = []) {
  const message = args.reduce((text, arg, i) => text.replaceAll(`$${i + 1}`, arg), MESSAGES[code]);
  return { field, code, message, args };
}

const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

function isIPv4(text) {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

function isIPv6(text) {
  if (!/^[0-9a-f:.]+$/i.test(text) || !text.includes(':')) return false;
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((part) => (part === '' ? [] : part.split(':')));
  let count = groups.length;
  // An IPv4 address may end the address; it counts as two groups.
  if (groups.length && groups[groups.length - 1].includes('.')) {
    if (!isIPv4(groups.pop())) return false;
    count += 1;
  }
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return false;
  return halves.length === 2 ? count < 8 : count === 8;
}

// A DNS name (letters, digits, hyphens, dots), an IPv4 address, or an IPv6 address (bare or in brackets).
export function isHost(text) {
  if (typeof text !== 'string' || text === '' || text.length > 253) return false;
  if (text.startsWith('[') && text.endsWith(']')) return isIPv6(text.slice(1, -1));
  if (isIPv4(text) || isIPv6(text)) return true;
  const labels = text.replace(/\.$/, '').split('.');
  // A name whose last label is all digits would be a mistyped IPv4 address.
  return labels.every((l) => HOST_LABEL.test(l)) && !/^[0-9]+$/.test(labels[labels.length - 1]);
}

const isPort = (value) => Number.isInteger(value) && value >= 1 && value <= 65535;

// stun:host[:port], turn:host[:port][?transport=udp|tcp], turns:... (RFC 7064 / 7065).
const ICE_URL = /^(stun|turns?):(\[[0-9a-f:.]+\]|[^\s:/?#[\]@]+)(?::([0-9]{1,5}))?(\?transport=(udp|tcp))?$/i;

export function parseIceUrl(url) {
  const match = typeof url === 'string' ? ICE_URL.exec(url) : null;
  if (!match) return null;
  const [, scheme, host, port, query] = match;
  const lower = scheme.toLowerCase();
  if (!isHost(host) || (port !== undefined && !isPort(Number(port))) || (lower === 'stun' && query)) return null;
  return { scheme: lower, host, port: port === undefined ? null : Number(port), isTurn: lower !== 'stun' };
}

function validateIceServer(server, errors) {
  if (!isObject(server)) {
    errors.push(error('ice', 'errIceUrl', [String(server)]));
    return null;
  }
  const urls = Array.isArray(server.urls) ? server.urls : [server.urls];
  if (urls.length === 0) {
    errors.push(error('ice', 'errIceUrl', ['']));
    return null;
  }
  let ok = true;
  let needsAuth = false;
  for (const url of urls) {
    const parsed = parseIceUrl(url);
    if (!parsed) {
      errors.push(error('ice', 'errIceUrl', [String(url)]));
      ok = false;
    } else if (parsed.isTurn) {
      needsAuth = true;
    }
  }
  const hasText = (value) => typeof value === 'string' && value.trim() !== '';
  if (ok && needsAuth && !(hasText(server.username) && hasText(server.credential))) {
    errors.push(error('ice', 'errIceTurnAuth', [urls.join(' ')]));
    ok = false;
  }
  if (!ok) return null;
  const clean = { urls: Array.isArray(server.urls) ? [...server.urls] : server.urls };
  if (hasText(server.username)) clean.username = server.username;
  if (hasText(server.credential)) clean.credential = server.credential;
  return clean;
}

/**
 * Checks a complete settings object.
 * Returns { ok: true, settings } (a clean copy: trimmed, unknown keys dropped)
 * or { ok: false, errors: [{ field, code, message, args }] }; `field` is the options form's input id.
 */
export function validateSettings(obj) {
  if (!isObject(obj)) return { ok: false, errors: [error('', 'errSettings')] };
  const errors = [];
  const server = isObject(obj.server) ? obj.server : {};

  const host = typeof server.host === 'string' ? server.host.trim().toLowerCase() : null;
  if (!isHost(host)) errors.push(error('host', 'errHost'));
  if (!isPort(server.port)) errors.push(error('port', 'errPort'));
  const path = typeof server.path === 'string' ? server.path.trim() : null;
  if (!path || !/^\/[^\s?#]*$/.test(path)) errors.push(error('path', 'errPath'));
  if (typeof server.key !== 'string' || !/^\S+$/.test(server.key.trim())) errors.push(error('key', 'errKey'));
  if (typeof server.secure !== 'boolean') errors.push(error('secure', 'errSecure'));

  let iceServers = [];
  if (!Array.isArray(obj.iceServers)) {
    errors.push(error('ice', 'errIceList'));
  } else {
    iceServers = obj.iceServers.map((s) => validateIceServer(s, errors));
  }

  if (!Number.isInteger(obj.slots) || obj.slots < 0 || obj.slots > MAX_SLOTS) errors.push(error('slots', 'errSlots'));
  if (!LANGUAGES.includes(obj.language)) errors.push(error('language', 'errLanguage'));

  const encoding = isObject(obj.encoding) ? obj.encoding : {};
  if (!Number.isInteger(encoding.maxKbps) || encoding.maxKbps < MIN_KBPS || encoding.maxKbps > MAX_KBPS) {
    errors.push(error('maxKbps', 'errMaxKbps'));
  }
  if (!CODECS.includes(encoding.codec)) errors.push(error('codec', 'errCodec'));
  if (!DEGRADATIONS.includes(encoding.degradation)) errors.push(error('degradation', 'errDegradation'));

  if (errors.length) return { ok: false, errors };
  return {
    ok: true,
    settings: {
      server: { host, port: server.port, path, key: server.key.trim(), secure: server.secure },
      iceServers,
      slots: obj.slots,
      language: obj.language,
      encoding: { maxKbps: encoding.maxKbps, codec: encoding.codec, degradation: encoding.degradation },
    },
  };
}

// Fills what a stored (possibly older or partial) object lacks from the defaults.
export function withDefaults(stored) {
  const base = structuredClone(DEFAULT_SETTINGS);
  if (!isObject(stored)) return base;
  return {
    ...base,
    ...stored,
    server: { ...base.server, ...(isObject(stored.server) ? stored.server : {}) },
    encoding: { ...base.encoding, ...(isObject(stored.encoding) ? stored.encoding : {}) },
  };
}

const storageArea = () => (globalThis.browser ?? globalThis.chrome)?.storage?.local;

/** Reads the settings; anything invalid in storage falls back to the defaults, so callers always get usable settings. */
export async function loadSettings(storage = storageArea()) {
  let stored;
  try {
    stored = (await storage.get(SETTINGS_KEY))[SETTINGS_KEY];
  } catch {
    stored = undefined;
  }
  const result = validateSettings(withDefaults(stored));
  return result.ok ? result.settings : structuredClone(DEFAULT_SETTINGS);
}

/** Validates, then stores. Returns the validation result. */
export async function saveSettings(settings, storage = storageArea()) {
  const result = validateSettings(settings);
  if (result.ok) await storage.set({ [SETTINGS_KEY]: result.settings });
  return result;
}

/** Calls back with the new settings whenever they change in storage; returns an unsubscribe function. */
export function onSettingsChanged(callback, api = globalThis.browser ?? globalThis.chrome) {
  const listener = (changes, area) => {
    if (area === 'local' && changes[SETTINGS_KEY]) {
      const result = validateSettings(withDefaults(changes[SETTINGS_KEY].newValue));
      callback(result.ok ? result.settings : structuredClone(DEFAULT_SETTINGS));
    }
  };
  api.storage.onChanged.addListener(listener);
  return () => api.storage.onChanged.removeListener(listener);
}
