// Signalling through a stock PeerServer with PeerJS: our control messages ride as CANDIDATE
// messages without a connectionId (the server forwards only type/src/dst/payload; PeerJS ignores
// them), and tree edges are PeerJS media calls.

/** PeerJS options from the extension settings. */
export function peerOptions(settings) {
  const { host, port, path, key, secure } = settings.server;
  return {
    host, port, path, key, secure,
    debug: 0,
    config: { iceServers: settings.iceServers ?? [] },
  };
}

// Our messages' size limit (the core checks it again; this spares the copying of larger ones).
const MAX_TEXT = 4096;
// PeerJS keeps the candidates of a call until the call is answered; a call has a few dozen.
const MAX_EARLY_PER_CALL = 64;
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Whether PeerJS may see a message from the server. Anyone can send us anything through the
 * server, and PeerJS trusts it: a data-connection offer makes it open an RTCPeerConnection of its
 * own accord (a renderer has 500 at most), and a candidate for an unknown call id is stored
 * forever. Only what our media calls need gets through: the server's own messages, media offers
 * from peers we accept calls from, and answers/candidates for calls that exist.
 */
export function forPeerJs(peer, m, acceptsCall) {
  if (!isObject(m) || typeof m.type !== 'string') return false;
  const { type, payload, src } = m;
  switch (type) {
    case 'OPEN': case 'ERROR': case 'ID-TAKEN': case 'INVALID-KEY': case 'EXPIRE': case 'HEARTBEAT':
      return true;
    case 'LEAVE': // the server sets src: a peer can only end its own calls with us
      return typeof src === 'string';
    case 'OFFER':
      return isObject(payload) && payload.type === 'media' && typeof payload.connectionId === 'string'
        && payload.connectionId.length <= 64 && isObject(payload.sdp) && typeof src === 'string' && acceptsCall(src);
    case 'ANSWER': case 'CANDIDATE': {
      if (!isObject(payload) || typeof payload.connectionId !== 'string' || typeof src !== 'string') return false;
      const call = peer.getConnection(src, payload.connectionId);
      if (!call) return false;
      return !!call.peerConnection || (peer._lostMessages?.get(payload.connectionId)?.length ?? 0) < MAX_EARLY_PER_CALL;
    }
    default:
      return false;
  }
}

export class Signalling extends EventTarget {
  /**
   * Registers `id` on the PeerServer. Emits `open`, `message` ({from, payload}), `auth` ({from, auth}), `call`
   * (a PeerJS MediaConnection), `expire` ({to}), `disconnected`, `error` ({kind, message}).
   */
  constructor(id, settings) {
    super();
    this.id = id;
    this.settings = settings;
    this.open = false;
    this.destroyed = false;
    this.peer = null;
    // Who may offer us a call (the driver sets it: the parents the coordinator named).
    this.acceptsCall = () => true;
    // Server messages dropped before PeerJS or the core saw them.
    this.dropped = 0;
    this.connect();
  }

  connect() {
    const peer = new Peer(this.id, peerOptions(this.settings));
    this.peer = peer;
    // PeerJS 1.5 routes every server message through this method (pinned in package-lock.json).
    const handle = peer._handleMessage.bind(peer);
    peer._handleMessage = (m) => {
      if (forPeerJs(peer, m, (src) => this.acceptsCall(src))) handle(m);
      else if (!(m?.type === 'CANDIDATE' && isObject(m.payload) && m.payload.connectionId === undefined)) this.dropped++;
    };
    peer.on('open', () => {
      this.open = true;
      this.emit('open', {});
    });
    peer.on('call', (call) => this.emit('call', { call }));
    peer.on('disconnected', () => {
      this.open = false;
      this.emit('disconnected', {});
      // The server dropped us (or restarted): reconnect with the same id, backing off.
      if (!this.destroyed) setTimeout(() => !this.destroyed && !peer.destroyed && peer.reconnect(), 500);
    });
    peer.on('error', (err) => {
      // 'peer-unavailable' is the server's EXPIRE for a message to an absent id: not fatal.
      this.emit('error', { kind: err.type, message: String(err.message ?? err) });
      if (err.type === 'unavailable-id' || err.type === 'server-error' || err.type === 'network' || err.type === 'socket-error') {
        if (!this.destroyed) {
          setTimeout(() => {
            if (this.destroyed) return;
            try { peer.destroy(); } catch { /* already torn down */ }
            this.connect();
          }, err.type === 'unavailable-id' ? 2000 : 1000);
        }
      }
    });
    peer.socket.on('message', (m) => {
      if (m?.type === 'CANDIDATE' && m.payload && typeof m.payload.tc === 'string' && typeof m.src === 'string') {
        if (m.payload.tc.length > MAX_TEXT) { this.dropped++; return; }
        this.emit('message', { from: m.src, payload: m.payload.tc });
      } else if (m?.type === 'CANDIDATE' && isObject(m.payload) && isObject(m.payload.auth) && typeof m.src === 'string') {
        // The broadcaster's proof of identity, asked and answered beside our protocol (verify.js).
        if (JSON.stringify(m.payload.auth).length > 1024) { this.dropped++; return; }
        this.emit('auth', { from: m.src, auth: m.payload.auth });
      } else if (m?.type === 'EXPIRE' && typeof m.src === 'string') {
        this.emit('expire', { to: m.src });
      }
    });
  }

  /** Sends one of our messages (already encoded JSON text) to a peer through the server. */
  send(to, text) {
    if (!this.open || this.peer.disconnected) return false;
    this.peer.socket.send({ type: 'CANDIDATE', dst: to, payload: { tc: text } });
    return true;
  }

  /** Sends a verification challenge or proof (see extension/shared/verify.js). */
  sendAuth(to, auth) {
    if (!this.open || this.peer.disconnected) return false;
    this.peer.socket.send({ type: 'CANDIDATE', dst: to, payload: { auth } });
    return true;
  }

  call(to, stream, metadata) {
    return this.peer.call(to, stream, { metadata });
  }

  emit(type, detail) { this.dispatchEvent(Object.assign(new Event(type), detail)); }

  destroy() {
    this.destroyed = true;
    try { this.peer?.destroy(); } catch { /* PeerJS can throw while tearing down */ }
  }
}
