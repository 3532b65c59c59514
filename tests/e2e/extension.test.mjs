// The extension as people use it, on fixture watch pages: activation and idle cases, the popup's
// broadcast toggle, the options page choosing the PeerServer, and the end of a program.
// Screenshots of the overlay, popup and options go to tests/artifacts/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSession } from '../harness/session.mjs';
import { startPeerServer } from '../harness/servers.mjs';
import { waitFor } from '../harness/browsers.mjs';

const ART = 'tests/artifacts';

/** The popup, opened as a page for the peer's watch page tab. */
async function openPopup(peer) {
  const index = peer.context.pages().indexOf(peer.page);
  const popup = await peer.context.newPage();
  await popup.goto(`${peer.origin}/options/options.html`);
  const tabId = await popup.evaluate(async (i) => (await chrome.tabs.query({ currentWindow: true })).find((t) => t.index === i).id, index);
  await popup.setViewportSize({ width: 360, height: 520 });
  await popup.goto(`${peer.origin}/popup/popup.html?tab=${tabId}`);
  await popup.waitForSelector('html[data-ready]');
  return popup;
}

const hasPlayer = (peer) => peer.page.frames().some((f) => f.url().startsWith(`${peer.origin}/player/player.html`));

test('idle where there is no live program: no overlay, and the popup says why', { timeout: 90000 }, async (t) => {
  const session = await startSession();
  t.after(() => session.close());
  session.nico.setProgram('lv900000009', { broadcasterUserId: '1001', status: 'ENDED' });
  const viewer = await session.viewer({ open: false });
  viewer.page = await viewer.context.newPage();
  const reasons = [];
  for (const [path, expected] of [['lv123456789', 'not a program page'], ['lv900000009', 'an ended program']]) {
    await viewer.page.goto(`https://live.nicovideo.jp/watch/${path}`);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(hasPlayer(viewer), false, `no player on ${expected}`);
    const popup = await openPopup(viewer);
    await popup.waitForSelector('#idle:not([hidden])');
    const reason = await popup.textContent('#idle-reason');
    t.diagnostic(`${expected}: popup says "${reason}"`);
    reasons.push(reason);
    await popup.screenshot({ path: `${ART}/popup-idle-${path}.png` });
    await popup.close();
  }
  assert.ok(reasons.every((r) => r.length > 5) && reasons[0] !== reasons[1], 'each idle case has its own reason');
});

test('the streamer starts the broadcast from the popup and a viewer plays it', { timeout: 120000 }, async (t) => {
  const session = await startSession();
  t.after(() => session.close());
  const streamer = await session.launch('broadcaster', '1001');
  await streamer.openWatch(session.program);
  await streamer.player();
  const popup = await openPopup(streamer);
  await popup.waitForSelector('#streamer:not([hidden])');
  await popup.selectOption('#source', 'pattern');
  await popup.click('#broadcast');
  await waitFor('the broadcast to start', async () => (await streamer.stats()).broadcasting);
  const viewer = await session.viewer();
  await session.playing(viewer);
  await waitFor('the popup to count the viewer', async () => (await popup.textContent('#s-viewers')).trim() === '1');
  await popup.screenshot({ path: `${ART}/popup-streamer.png` });
  await viewer.page.screenshot({ path: `${ART}/overlay-viewer.png` });
  await streamer.page.screenshot({ path: `${ART}/overlay-streamer.png` });
  const viewerPopup = await openPopup(viewer);
  await viewerPopup.waitForSelector('#viewer:not([hidden])');
  await waitFor('the viewer popup to show playing', async () => /play|再生/i.test(await viewerPopup.textContent('#v-state')));
  await viewerPopup.screenshot({ path: `${ART}/popup-viewer.png` });
  // And off again: the viewer loses the picture.
  await popup.click('#broadcast');
  await waitFor('the broadcast to stop', async () => !(await streamer.stats()).broadcasting);
});

test('the options page chooses the PeerServer the player uses', { timeout: 120000 }, async (t) => {
  const session = await startSession();
  t.after(() => session.close());
  await session.broadcaster();
  const unused = await startPeerServer({ port: 9999 });
  await unused.close(); // a port where no PeerServer answers
  const viewer = await session.viewer({ open: false, settings: { ...session.settings, server: { ...session.settings.server, port: 9999 } } });
  await viewer.openWatch(session.program);
  await new Promise((r) => setTimeout(r, 4000));
  assert.notEqual((await viewer.stats()).state, 'playing', 'no picture through a PeerServer that is not there');
  const options = await viewer.context.newPage();
  await options.goto(`${viewer.origin}/options/options.html`);
  await options.waitForSelector('html[data-ready]');
  await options.fill('#port', '70000');
  await options.click('#save');
  await options.waitForFunction(() => document.querySelector('#status').textContent.length > 0);
  await options.screenshot({ path: `${ART}/options-error.png`, fullPage: true });
  const stored = await options.evaluate(async () => (await chrome.storage.local.get('settings')).settings.server.port);
  assert.equal(stored, 9999, 'an invalid port is refused, not stored');
  t.diagnostic(`port 70000: "${await options.textContent('#status')}"`);
  await options.fill('#port', String(session.peerServer.port));
  await options.click('#save');
  await waitFor('the new port to be stored', async () => (await options.evaluate(async () => (await chrome.storage.local.get('settings')).settings.server.port)) === session.peerServer.port);
  await options.screenshot({ path: `${ART}/options.png`, fullPage: true });
  await session.playing(viewer, { timeout: 30000 });
  t.diagnostic('the viewer plays once the options name the right PeerServer');
});

test('the end of the program stops the relay', { timeout: 120000 }, async (t) => {
  const session = await startSession();
  t.after(() => session.close());
  const streamer = await session.broadcaster();
  const viewer = await session.viewer();
  await session.playing(viewer);
  // The page moves the program to ENDED, as Niconico's single-page app does.
  for (const peer of [streamer, viewer]) {
    await peer.page.evaluate(() => {
      const el = document.getElementById('embedded-data');
      const props = JSON.parse(el.getAttribute('data-props'));
      props.program.status = 'ENDED';
      el.setAttribute('data-props', JSON.stringify(props));
    });
  }
  await waitFor('the broadcast to stop', async () => !(await streamer.stats()).broadcasting);
  await waitFor('the viewer to leave', async () => (await viewer.stats()).state === 'left');
  t.diagnostic('program ENDED: the streamer stopped broadcasting and the viewer left the tree');
});
