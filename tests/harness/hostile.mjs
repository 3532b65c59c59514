// A hostile peer: a plain web page with PeerJS and no extension, on the same PeerServer as the
// broadcast. It floods the broadcaster with garbage, oversized, replayed and well-formed-but-false
// messages, joins from streams of fresh ids, and PeerJS-level junk (data-channel offers, forged
// candidates), and tells honest viewers lies in the coordinator's name. Every message it sends is
// counted; the test reads the counts. `startSquat` instead takes the broadcaster's id first and
// impersonates it.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './browsers.mjs';

const PAGE = `<!doctype html><meta charset="utf-8"><title>hostile</title>
<script src="/peerjs.min.js"></script><script src="/hostile.js"></script>`;

/** The attack, run in the page: `startAttack({server, broadcaster, honest, seconds})`. */
function attackScript() {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const counts = { sent: 0, ids: 0, bytes: 0, byKind: {} };
  const recorded = [];
  const rand = (n) => Math.floor(Math.random() * n);
  const pick = (list) => list[rand(list.length)];
  const hex = (n) => Array.from({ length: n }, () => '0123456789abcdef'[rand(16)]).join('');

  function open(id, server) {
    return new Promise((resolve) => {
      const peer = new Peer(id, { ...server, debug: 0, config: { iceServers: [] } });
      peer.on('open', () => resolve(peer));
      peer.on('error', () => resolve(null));
      setTimeout(() => resolve(null), 10000);
    });
  }
  function send(peer, dst, kind, message) {
    if (!peer || peer.disconnected) return;
    peer.socket.send({ dst, ...message });
    counts.sent++;
    counts.byKind[kind] = (counts.byKind[kind] ?? 0) + 1;
    const text = JSON.stringify(message);
    counts.bytes += text.length;
  }
  const tc = (text) => ({ type: 'CANDIDATE', payload: { tc: text } });
  const msg = (o) => JSON.stringify({ v: 1, ...o });

  function lie(b, honest, self, parentOf) {
    const h = () => pick(honest);
    const kinds = [
      ['parent_lost', () => msg({ t: 'parent_lost', parent: parentOf() ?? b })],
      ['child_lost', () => msg({ t: 'child_lost', child: h() })],
      ['capacity', () => msg({ t: 'capacity', slots: pick([0, 16, 3]) })],
      ['fake_position', () => msg({ t: 'join', slots: 16, at: { parent: h(), standby: h() } })],
      ['join_again', () => msg({ t: 'join', slots: 0 })],
      ['leave', () => msg({ t: 'leave' })],
      ['garbage', () => pick(['', '{', 'null', '[]', '{"v":1}', '{"v":2,"t":"join","slots":1}', '\u0000\uffff', '{"v":1,"t":"join","slots":-1}', '{"v":1,"t":"reset_all"}', '['.repeat(3000)])],
      ['oversized', () => msg({ t: 'leave', pad: 'x'.repeat(20000) })],
      ['wrong_direction', () => msg({ t: pick(['assign', 'feed', 'drop', 'wait', 'hb', 'epoch']), epoch: 1, parent: self, child: self, role: 'primary', depth: 1, retry_ms: 5, seq: 1 })],
      ['replay', () => (recorded.length ? pick(recorded) : msg({ t: 'leave' }))],
    ];
    const [kind, make] = pick(kinds);
    const text = make();
    if (recorded.length < 200 && text.length < 4096) recorded.push(text);
    return [kind, text];
  }

  function peerJsJunk(peer, b) {
    const kind = pick(['data_offer', 'media_offer', 'stray_candidate', 'stray_answer']);
    const connectionId = `dc_${hex(12)}`;
    if (kind === 'data_offer') send(peer, b, kind, { type: 'OFFER', payload: { type: 'data', connectionId, serialization: 'json', reliable: true, sdp: { type: 'offer', sdp: 'v=0\r\n' }, browser: 'x', label: connectionId } });
    else if (kind === 'media_offer') send(peer, b, kind, { type: 'OFFER', payload: { type: 'media', connectionId: `mc_${hex(12)}`, sdp: { type: 'offer', sdp: 'v=0\r\n' }, metadata: { treecast: 1 } } });
    else if (kind === 'stray_candidate') send(peer, b, kind, { type: 'CANDIDATE', payload: { connectionId, candidate: { candidate: 'x'.repeat(2000), sdpMid: '0' } } });
    else send(peer, b, kind, { type: 'ANSWER', payload: { connectionId, sdp: { type: 'answer', sdp: 'v=0' } } });
  }

  window.startAttack = async ({ server, broadcaster: b, honest, seconds, liars: nLiars = 3, churners = 8 }) => {
    const until = performance.now() + seconds * 1000;
    // Liars sit in the tree as phones (no children: their lies, not their silence, are tested).
    const liars = (await Promise.all(Array.from({ length: nLiars }, (_, i) => open(`tc-v-liar${i}x${hex(6)}`, server)))).filter(Boolean);
    counts.ids += liars.length;
    for (const l of liars) send(l, b, 'join', tc(msg({ t: 'join', slots: 0 })));
    // A first batch of fresh ids is registered before the flood starts: under the flood a busy
    // PeerServer registers new ids slowly (13 in 49 s once), and the attack would test fewer.
    const ready = (await Promise.all(Array.from({ length: 3 * churners }, () => open(`tc-v-${hex(24)}`, server)))).filter(Boolean);
    await sleep(1500);
    const loops = liars.map(async (l) => {
      while (performance.now() < until) {
        for (let i = 0; i < 5; i++) {
          const [kind, text] = lie(b, honest, l.id, () => null);
          send(l, b, kind, tc(text));
          peerJsJunk(l, b);
          // Lies to honest viewers in the coordinator's words (their src is not the coordinator's).
          send(l, pick(honest), 'impersonation', tc(msg({ t: 'assign', epoch: 1, parent: l.id, depth: 1 })));
        }
        await sleep(40);
      }
    });
    // Streams of fresh ids: register (or take one of the first batch), join as a big relay, say
    // something false, go, repeat.
    const churn = Array.from({ length: churners }, async () => {
      while (performance.now() < until) {
        const p = ready.pop() ?? await open(`tc-v-${hex(24)}`, server);
        if (!p) continue;
        counts.ids++;
        send(p, b, 'flood_join', tc(msg({ t: 'join', slots: 16 })));
        for (let i = 0; i < 5; i++) {
          const [kind, text] = lie(b, honest, p.id, () => b);
          send(p, b, kind, tc(text));
        }
        await sleep(200 + rand(300));
        p.destroy();
      }
    });
    await Promise.all([...loops, ...churn]);
    for (const l of [...liars, ...ready]) l.destroy();
    return counts;
  };
  window.attackCounts = () => counts;

  // A squatter: registers the broadcaster's id before it does and plays coordinator. It places
  // every joiner under itself and calls it with its own video (a red picture); asked for a proof
  // of identity it answers with a key of its own (it cannot have the streamer's), and places the
  // asker under itself and calls it all the same (a viewer with the code does not join it).
  window.startSquat = async ({ server, id }) => {
    const peer = await open(id, server);
    if (!peer) throw new Error('could not register the id');
    const canvas = Object.assign(document.createElement('canvas'), { width: 160, height: 120 });
    const g = canvas.getContext('2d');
    setInterval(() => { g.fillStyle = `rgb(255,0,${Date.now() % 255})`; g.fillRect(0, 0, 160, 120); }, 100);
    const stream = canvas.captureStream(10);
    const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
    const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
    const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    const stats = { joins: 0, challenges: 0, calls: 0 };
    const placed = new Set();
    const place = (viewer) => {
      placed.add(viewer);
      send(peer, viewer, 'squat_assign', tc(msg({ t: 'assign', epoch: 7, parent: id, depth: 1 })));
      setTimeout(() => { stats.calls++; peer.call(viewer, stream, { metadata: { treecast: 1, role: 'primary' } }); }, 300);
    };
    peer.on('call', (c) => c.close());
    peer.socket.on('message', async (m) => {
      if (m?.type !== 'CANDIDATE' || !m.payload || typeof m.src !== 'string') return;
      if (typeof m.payload.tc === 'string' && m.payload.tc.includes('"join"')) {
        stats.joins++;
        place(m.src);
      } else if (m.payload.auth && typeof m.payload.auth.challenge === 'string') {
        stats.challenges++;
        const nonce = m.payload.auth.challenge;
        const text = new TextEncoder().encode(`treecast/v1/proof\n${id}\n${m.src}\n${nonce}`);
        const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, text);
        send(peer, m.src, 'squat_proof', { type: 'CANDIDATE', payload: { auth: { proof: { key: b64(raw), sig: b64(sig), nonce } } } });
        if (!placed.has(m.src)) place(m.src);
      }
    });
    window.squatter = { peer, stats, stop: () => peer.destroy() };
    return true;
  };
}

/** Serves the hostile page on 127.0.0.1 (a secure context, no extension). */
export async function startHostileServer({ port }) {
  const peerjs = readFileSync(join(ROOT, 'node_modules', 'peerjs', 'dist', 'peerjs.min.js'));
  const script = `(${attackScript.toString()})();`;
  const server = createServer((req, res) => {
    const body = { '/': PAGE, '/hostile.html': PAGE, '/peerjs.min.js': peerjs, '/hostile.js': script }[req.url];
    if (!body) { res.writeHead(404).end(); return; }
    const type = req.url.endsWith('.js') ? 'text/javascript' : 'text/html; charset=utf-8';
    res.writeHead(200, { 'content-type': type }).end(body);
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}/hostile.html`,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
