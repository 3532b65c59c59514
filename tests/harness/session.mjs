// A broadcast on this machine for one test: the servers, the streamer's browser, viewers' browsers,
// and cleanup that always runs.
import { startNicoServer, startPeerServer } from './servers.mjs';
import { launchPeer, peerServerSettings, waitFor } from './browsers.mjs';

export const PROGRAM = 'lv900000001';
export const STREAMER = '1001';

let nextPort = 9100;
// Many browsers share two cores here: a small picture keeps every hop's re-encoding affordable.
export const SMALL_PATTERN = { width: 256, height: 144, fps: 12 };

export async function startSession({ program = PROGRAM, streamer = STREAMER, status = 'ON_AIR', slots = 2 } = {}) {
  const nico = await startNicoServer({ port: 8443 + (nextPort % 50) });
  const peerServer = await startPeerServer({ port: nextPort++ });
  nico.setProgram(program, { broadcasterUserId: streamer, status });
  const settings = { ...peerServerSettings(peerServer), slots };
  const peers = [];
  let viewerCount = 0;
  const session = {
    nico, peerServer, settings, program, peers,
    async launch(name, user, extra = {}) {
      const peer = await launchPeer({ name, user, nico, settings: extra.settings ?? settings, ...extra });
      peers.push(peer);
      return peer;
    },
    /** The streamer's browser on its own program, broadcasting the test pattern (`settings`: its own). */
    async broadcaster({ fanout = 1, pattern = SMALL_PATTERN, settings } = {}) {
      const peer = await session.launch('broadcaster', streamer, settings ? { settings } : {});
      await peer.openWatch(program);
      const frame = await peer.player();
      const result = await frame.evaluate(([f, p]) => window.treecast.startBroadcast({ source: 'pattern', fanout: f, pattern: p }), [fanout, pattern]);
      if (!result?.ok) throw new Error(`broadcast did not start: ${JSON.stringify(result)}`);
      return peer;
    },
    /** A viewer's browser with the watch page open (a distinct Niconico user unless `user` is given). */
    async viewer({ user, name, open = true, ...extra } = {}) {
      viewerCount++;
      const peer = await session.launch(name ?? `viewer${viewerCount}`, user ?? String(2000 + viewerCount), extra);
      if (open) await peer.openWatch(program);
      return peer;
    },
    /** `count` viewers, opened one after another, once all of them play. */
    async audience(count, { timeout = 60000 } = {}) {
      const viewers = [];
      for (let i = 0; i < count; i++) viewers.push(await session.viewer());
      await Promise.all(viewers.map((v) => session.playing(v, { timeout })));
      return viewers;
    },
    async playing(peer, { timeout = 20000, frames = 10 } = {}) {
      return waitFor(`${peer.name} playing`, async () => {
        const s = await peer.stats();
        return s.state === 'playing' && s.framesPresented >= frames ? s : false;
      }, { timeout });
    },
    async close() {
      await Promise.all(peers.map((p) => p.close().catch(() => {})));
      await peerServer.close().catch(() => {});
      await nico.close().catch(() => {});
    },
  };
  return session;
}
