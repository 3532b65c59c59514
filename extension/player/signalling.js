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

export class Signalling extends EventTarget {
  /**
   * Registers `id` on the PeerServer. Emits `open`, `message` ({from, payload}), `call`
   * (a PeerJS MediaConnection), `expire` ({to}), `disconnected`, `error` ({kind, message}).
   */
  constructor(id, settings) {
    super();
    this.id = id;
    this.settings = settings;
    this.open = false;
    this.destroyed = false;
    this.peer = null;
    this.connect();
  }

  connect() {
    const peer = new Peer(this.id, peerOptions(this.settings));
    this.peer = peer;
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
        this.emit('message', { from: m.src, payload: m.payload.tc });
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

  call(to, stream, metadata) {
    return this.peer.call(to, stream, { metadata });
  }

  emit(type, detail) { this.dispatchEvent(Object.assign(new Event(type), detail)); }

  destroy() {
    this.destroyed = true;
    try { this.peer?.destroy(); } catch { /* PeerJS can throw while tearing down */ }
  }
}
