// What leaves the browser: every message the PeerServer receives (its operator sees all of them,
// and forwards their payloads to other peers) and every request the browsers make, during a
// broadcast with two viewers. No Niconico user id, nickname, program title or page content may
// appear in any of it; peer ids carry no user id; requests go only to the watch page and the
// PeerServer. The program id is in the broadcaster's peer id on purpose (viewers find it there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSession } from '../harness/session.mjs';

// Distinctive values, so that a match in SDP or random ids is not a coincidence.
const STREAMER = '73914052';
const VIEWER_USERS = ['86420135', '97531864'];
const TITLE = 'ひみつの番組 secret-title-4242';
const SECRETS = [STREAMER, ...VIEWER_USERS, ...VIEWER_USERS.map((u) => `u${u}`), 'u' + STREAMER, TITLE, 'secret-title-4242', 'official player', 'comments', 'streamer'];

test('nothing about the users or the page reaches the PeerServer or other peers', { timeout: 120000 }, async (t) => {
  const session = await startSession({ streamer: STREAMER });
  t.after(() => session.close());
  session.nico.setProgram(session.program, { broadcasterUserId: STREAMER, title: TITLE });
  // Everything the PeerServer receives: who connected (id, token) and every message.
  const seen = [];
  session.peerServer.app.on('connection', (client) => seen.push({ kind: 'connection', id: client.getId(), token: client.getToken() }));
  session.peerServer.app.on('message', (client, message) => seen.push({ kind: 'message', from: client.getId(), message }));
  const requests = [];
  const watchRequests = (peer) => peer.context.on('request', (r) => requests.push(r.url()));

  const broadcaster = await session.broadcaster();
  watchRequests(broadcaster);
  const viewers = [];
  for (const user of VIEWER_USERS) {
    const v = await session.viewer({ user, open: false });
    watchRequests(v);
    await v.openWatch(session.program);
    viewers.push(v);
  }
  for (const v of viewers) await session.playing(v);
  await viewers[1].closeTab(); // a leave, with its messages
  await new Promise((r) => setTimeout(r, 2000));

  const text = JSON.stringify(seen);
  const found = SECRETS.filter((s) => text.includes(s));
  const types = {};
  for (const s of seen) if (s.kind === 'message') types[s.message.type] = (types[s.message.type] ?? 0) + 1;
  const ids = [...new Set(seen.filter((s) => s.kind === 'connection').map((s) => s.id))];
  t.diagnostic(`PeerServer saw ${seen.length} events (${JSON.stringify(types)}), ${(text.length / 1024).toFixed(0)} KiB; peer ids: ${ids.join(', ')}`);
  assert.ok(seen.length > 20 && types.OFFER && types.CANDIDATE, 'the capture saw the broadcast');
  assert.deepEqual(found, [], `found on the PeerServer: ${found.join(', ')}`);
  for (const id of ids) {
    assert.ok(/^tc-(v-[0-9a-f]{24}|lv[0-9]+-[0-9a-f]{16})$/.test(id), `peer id ${id} is a random viewer id or the derived broadcaster id`);
  }
  // Our own messages carry protocol fields only.
  const ours = seen.filter((s) => s.kind === 'message' && s.message.payload && typeof s.message.payload.tc === 'string');
  const fields = new Set(ours.flatMap((s) => Object.keys(JSON.parse(s.message.payload.tc))));
  t.diagnostic(`our messages: ${ours.length}, fields used: ${[...fields].sort().join(', ')}`);
  for (const f of fields) assert.ok(['v', 't', 'slots', 'at', 'parent', 'standby', 'child', 'epoch', 'role', 'depth', 'retry_ms'].includes(f), `unexpected field ${f}`);

  // The browsers asked nothing of anyone but the watch page and the PeerServer.
  const hosts = new Set(requests.map((u) => new URL(u)).filter((u) => !['chrome-extension:', 'data:', 'blob:'].includes(u.protocol)).map((u) => u.host));
  t.diagnostic(`hosts requested: ${[...hosts].join(', ')}`);
  for (const h of hosts) assert.ok(h === 'live.nicovideo.jp' || h === `127.0.0.1:${session.peerServer.port}`, `a request went to ${h}`);
});
