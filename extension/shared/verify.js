// The streamer's verification code: proof that the peer holding the broadcaster's id on the
// PeerServer is the streamer's own browser, for viewers who read the code from the program page.
//
// Anyone can register the broadcaster's peer id first (it is derived from public page data), and
// the PeerServer only says who holds an id, not who should. So the streamer's extension keeps an
// ECDSA P-256 key pair (one per Niconico user, in extension storage; it never leaves the browser)
// and shows a short code: 80 bits of the SHA-256 of the public key, `treecast:XXXX-XXXX-XXXX-XXXX`
// in Crockford base32. The streamer pastes it into the program description (or its template: the
// code stays the same from program to program). A viewer whose page shows a code sends the
// broadcaster's id a fresh random challenge; only the key's holder can answer with a public key
// whose code matches and a signature over (broadcaster id, viewer id, challenge). Until it has that
// answer the viewer obeys no coordinator message, and it asks again every few seconds, so a
// squatter that takes the id over later is caught within one round.

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_BYTES = 10;
export const CODE_RE = /treecast:([0-9A-HJKMNP-TV-Z]{4})-([0-9A-HJKMNP-TV-Z]{4})-([0-9A-HJKMNP-TV-Z]{4})-([0-9A-HJKMNP-TV-Z]{4})/i;
const subtle = () => globalThis.crypto.subtle;
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGN = { name: 'ECDSA', hash: 'SHA-256' };

export function toBase64Url(bytes) {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64Url(text) {
  if (typeof text !== 'string' || text.length > 200 || !/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const s = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function base32(bytes) {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/** The code of a raw public key (65 bytes, uncompressed P-256 point). */
export async function codeOf(publicRaw) {
  const prefix = new TextEncoder().encode('treecast/v1/key\n');
  const data = new Uint8Array(prefix.length + publicRaw.length);
  data.set(prefix);
  data.set(publicRaw, prefix.length);
  const digest = new Uint8Array(await subtle().digest('SHA-256', data));
  const c = base32(digest.slice(0, CODE_BYTES));
  return `treecast:${c.slice(0, 4)}-${c.slice(4, 8)}-${c.slice(8, 12)}-${c.slice(12, 16)}`;
}

/** The first code in a text (a program description), normalised, or null. */
export function findCode(text) {
  const m = typeof text === 'string' ? CODE_RE.exec(text) : null;
  return m ? `treecast:${m.slice(1, 5).join('-').toUpperCase()}` : null;
}

/** A new key pair, as storable JSON: the private key as a JWK, the public key raw (base64url). */
export async function newKeyPair() {
  const pair = await subtle().generateKey(ECDSA, true, ['sign', 'verify']);
  const privateJwk = await subtle().exportKey('jwk', pair.privateKey);
  const publicRaw = toBase64Url(await subtle().exportKey('raw', pair.publicKey));
  return { privateJwk, publicRaw };
}

/** What a proof signs: who answers, to whom, to which challenge. */
export function statement({ broadcaster, viewer, nonce }) {
  return new TextEncoder().encode(`treecast/v1/proof\n${broadcaster}\n${viewer}\n${nonce}`);
}

/** A signer for a stored key pair: `prove({broadcaster, viewer, nonce}) -> {key, sig}`. */
export async function signer(stored) {
  const key = await subtle().importKey('jwk', stored.privateJwk, ECDSA, false, ['sign']);
  return async (what) => ({ key: stored.publicRaw, sig: toBase64Url(await subtle().sign(SIGN, key, statement(what))) });
}

/** Whether `proof` ({key, sig}) answers `what` with a key whose code is `code`. Never throws. */
export async function checkProof(proof, what, code) {
  try {
    const raw = fromBase64Url(proof?.key);
    const sig = fromBase64Url(proof?.sig);
    if (!raw || raw.length !== 65 || !sig || sig.length !== 64) return false;
    if ((await codeOf(raw)) !== code) return false;
    const key = await subtle().importKey('raw', raw, ECDSA, false, ['verify']);
    return await subtle().verify(SIGN, key, sig, statement(what));
  } catch {
    return false;
  }
}

/** A fresh challenge: 16 random bytes, base64url. */
export function newNonce() {
  return toBase64Url(globalThis.crypto.getRandomValues(new Uint8Array(16)));
}
