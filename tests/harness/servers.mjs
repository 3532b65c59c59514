// Local stand-ins for the outside world: a stock PeerServer and an HTTPS server that plays
// live.nicovideo.jp (fixture watch pages with a strict CSP like the real site's).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeerServer } from 'peer';

export async function startPeerServer({ port = 9000, path = '/' } = {}) {
  return new Promise((resolve, reject) => {
    const app = PeerServer({ host: '127.0.0.1', port, path, key: 'peerjs', allow_discovery: false }, (server) => {
      resolve({
        port,
        path,
        app,
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
      });
    });
    app.on('error', reject);
  });
}

function selfSignedCert() {
  const dir = mkdtempSync(join(tmpdir(), 'treecast-cert-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-subj', '/CN=live.nicovideo.jp', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
  { stdio: 'ignore' });
  return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
}

const escapeAttr = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The `data-props` object of a watch page, with the fields the extension reads and some it must ignore. */
export function watchPageProps({ programId, title, status, broadcasterUserId, viewerUserId, description = '' }) {
  const loggedIn = viewerUserId != null;
  return {
    site: { relive: { webSocketUrl: 'wss://a.live2.nicovideo.jp/unused' }, locale: 'ja-jp' },
    program: {
      nicoliveProgramId: programId,
      title,
      description,
      status,
      providerType: 'community',
      beginTime: 1764000000,
      endTime: 1764007200,
      supplier: { name: 'streamer', programProviderId: broadcasterUserId, pageUrl: 'https://www.nicovideo.jp/user/' + broadcasterUserId },
    },
    user: loggedIn
      ? { isLoggedIn: true, isBroadcaster: viewerUserId === broadcasterUserId, accountType: 'standard', nickname: 'u' + viewerUserId, id: viewerUserId }
      : { isLoggedIn: false, isBroadcaster: false, accountType: 'non' },
    socialGroup: { id: 'co1', name: 'community', type: 'community' },
    player: { embedUrl: 'unused' },
  };
}

/**
 * Serves https://live.nicovideo.jp/watch/<id> (the browser maps the host here). Who is looking is
 * set per browser with the `fixture_user` cookie; programs are registered by the test.
 */
export async function startNicoServer({ port = 8443 } = {}) {
  const programs = new Map();
  const server = createServer(selfSignedCert(), (req, res) => {
    const url = new URL(req.url, 'https://live.nicovideo.jp');
    const m = /^\/watch\/([A-Za-z0-9]+)$/.exec(url.pathname);
    const program = m && programs.get(m[1]);
    if (!program) {
      res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>not found</title><p>not a program</p>');
      return;
    }
    const cookie = /(?:^|;\s*)fixture_user=([0-9]+)/.exec(req.headers.cookie ?? '');
    const props = watchPageProps({ ...program, programId: m[1], viewerUserId: cookie ? cookie[1] : null });
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      // Strict like the real site: no inline script, no wasm-unsafe-eval, frames only from self.
      'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; frame-src 'self'; img-src 'self' data:",
    });
    res.end(`<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>${escapeAttr(program.title)} - ニコニコ生放送</title></head>
<body style="margin:0;background:#222;color:#eee;font-family:sans-serif">
<script id="embedded-data" data-props="${escapeAttr(JSON.stringify(props))}"></script>
<div id="root"><div id="official-player" style="width:640px;height:360px;background:#000;margin:16px">official player</div>
<div id="comments">comments</div></div></body></html>`);
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return {
    port,
    setProgram: (id, program) => programs.set(id, { title: 'test program', status: 'ON_AIR', ...program }),
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
