// Id squatting: a plain PeerJS page registers the broadcaster's derived peer id before the
// broadcaster does and plays coordinator (it places joiners under itself and sends its own video).
// The streamer is told; a viewer whose page shows the streamer's verification code refuses the
// impostor (and says so) instead of playing its video, and does not join it; once the squatter
// goes, the broadcaster gets its id back, proves itself, and the viewer plays the real broadcast.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSession, STREAMER } from '../harness/session.mjs';
import { launchPlainBrowser, waitFor } from '../harness/browsers.mjs';
import { startHostileServer } from '../harness/hostile.mjs';

test('a squatter on the broadcaster id is reported and refused; the real broadcast then plays', { timeout: 180000 }, async (t) => {
  // One cleanup, in order: the attacker's browser holds WebSockets to the PeerServer, which
  // cannot close before they do.
  let attacker = null;
  let hostileServer = null;
  t.after(async () => {
    await attacker?.close().catch(() => {});
    await hostileServer?.close();
    await session?.close().catch(() => {});
  });
  const session = await startSession();
  const broadcaster = await session.broadcaster();
  const b = await broadcaster.stats();
  assert.match(b.verificationCode, /^treecast:[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
  assert.equal(b.pageHasCode, false);
  const bFrame = await broadcaster.player();
  const notice = async (frame) => frame.evaluate(() => { const n = document.getElementById('notice'); return n.hidden ? '' : n.textContent; });
  assert.ok((await notice(bFrame)).includes(b.verificationCode), 'the streamer is shown its code while the page lacks it');
  // The streamer pastes the code into the program description.
  session.nico.setProgram(session.program, { broadcasterUserId: STREAMER, description: `P2P中継あり\n${b.verificationCode}` });

  // The squatter takes the id while the broadcaster is off, and the broadcaster starts again.
  await bFrame.evaluate(() => window.treecast.stopBroadcast());
  hostileServer = await startHostileServer({ port: session.peerServer.port + 600 });
  attacker = await launchPlainBrowser();
  const page = await attacker.newPage();
  await page.goto(hostileServer.url);
  const server = { host: '127.0.0.1', port: session.peerServer.port, path: session.peerServer.path, key: 'peerjs', secure: false };
  await page.evaluate(async () => (await navigator.mediaDevices.getUserMedia({ audio: true })).getTracks().forEach((x) => x.stop())).catch(() => {});
  await page.evaluate((a) => window.startSquat(a), { server, id: b.peerId });
  await broadcaster.page.reload(); // the page now carries the code
  const bFrame2 = await broadcaster.player();
  await bFrame2.evaluate(() => window.treecast.startBroadcast({ source: 'pattern', pattern: { width: 256, height: 144, fps: 12 } }));
  const taken = await waitFor('the streamer to be told its id is taken', async () => {
    const s = await broadcaster.stats();
    return s.idTaken ? s : false;
  }, { timeout: 20000 });
  assert.equal(taken.pageHasCode, true);
  const takenNotice = await notice(bFrame2);
  t.diagnostic(`streamer's notice: ${takenNotice}`);
  assert.ok(takenNotice.length > 20, 'the streamer sees a notice');
  await broadcaster.page.screenshot({ path: 'tests/artifacts/squatting-streamer.png' });

  // A viewer with the code on its page: the squatter cannot prove it, so the viewer refuses it.
  const viewer = await session.viewer();
  const refused = await waitFor('the viewer to refuse the impostor', async () => {
    const s = await viewer.stats();
    return s.verification?.state === 'impostor' ? s : false;
  }, { timeout: 30000 });
  await new Promise((r) => setTimeout(r, 3000));
  const during = await viewer.stats();
  const squat = await page.evaluate(() => window.squatter.stats);
  const viewerNotice = await notice(await viewer.player());
  t.diagnostic(`viewer while squatted: state ${during.state}, verification ${JSON.stringify(during.verification)}, calls accepted ${during.callsAccepted}; squatter ${JSON.stringify(squat)}; notice: ${viewerNotice}`);
  assert.ok(squat.challenges >= 1, 'the squatter was asked for a proof and answered');
  assert.equal(squat.joins, 0, 'the viewer did not join the unproven id');
  assert.ok(squat.calls >= 1, 'the squatter placed the viewer and called it all the same');
  assert.notEqual(during.state, 'playing', 'the impostor\'s video does not play');
  assert.equal(during.callsAccepted, 0, 'no call from the impostor was accepted');
  assert.equal(during.parentId, null);
  assert.ok(viewerNotice.length > 20, 'the viewer sees a notice');
  assert.ok(refused.verification.bad >= 1);
  await viewer.page.screenshot({ path: 'tests/artifacts/squatting-viewer.png' });

  // The squatter goes: the broadcaster gets its id, proves itself, and the viewer plays it.
  await page.evaluate(() => window.squatter.stop());
  let since = Date.now();
  // On failure: what the pages saw since `since` (their logs and stats), times relative to it.
  const dumpOnFailure = async (peers, wait) => {
    try {
      return await wait();
    } catch (err) {
      for (const peer of peers) {
        const frame = await peer.player().catch(() => null);
        const seen = await frame?.evaluate((from) => ({
          stats: window.treecast.stats(),
          log: window.treecast.log().filter((l) => l.t >= from - 5000 && !/ hb$/.test(l.text)).slice(-80),
        }), since).catch((e) => ({ error: String(e) }));
        t.diagnostic(`${peer.name} stats: ${JSON.stringify(seen?.stats ?? seen)}`);
        for (const l of seen?.log ?? []) t.diagnostic(`${peer.name} ${l.t - since} ms ${l.level}: ${l.text}`);
      }
      throw err;
    }
  };
  const playing = await dumpOnFailure([broadcaster, viewer], async () => {
    await waitFor('the broadcaster to hold its id', async () => !(await broadcaster.stats()).idTaken, { timeout: 20000 });
    return session.playing(viewer, { timeout: 40000 });
  });
  t.diagnostic(`after the squatter left: viewer ${playing.state} at depth ${playing.depth}, verification ${JSON.stringify(playing.verification)}`);
  assert.equal(playing.verification.state, 'verified');
  assert.equal(playing.parentId, b.peerId);
  assert.equal(await notice(await viewer.player()), '');
  assert.equal(await notice(await broadcaster.player()), '', 'the streamer\'s notice is gone with the squatter');

  // A newcomer with the code on its page joins the real broadcaster as quickly as any viewer: it
  // asks for the proof first and joins once it has it.
  since = Date.now();
  const newcomer = await session.viewer();
  const joined = await dumpOnFailure([broadcaster, newcomer], () => session.playing(newcomer, { timeout: 20000 }));
  t.diagnostic(`newcomer: ${joined.state} at depth ${joined.depth}, verification ${JSON.stringify(joined.verification)}`);
  assert.equal(joined.verification.state, 'verified');
  assert.equal(joined.verification.bad, 0);
});
