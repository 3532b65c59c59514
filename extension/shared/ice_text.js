// The options page edits ICE servers as text, one URL per line:
//   stun:stun.example.org:3478
//   turn:turn.example.org:3478 username credential
// Blank lines and lines starting with # are ignored. Checking the URLs is validateSettings' job.

/** Returns { iceServers, errors: [{ field: 'ice', code, message, args }] }. */
export function parseIceText(text) {
  const iceServers = [];
  const errors = [];
  String(text ?? '').split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const parts = line.split(/\s+/);
    if (parts.length === 1) {
      iceServers.push({ urls: parts[0] });
    } else if (parts.length === 3) {
      iceServers.push({ urls: parts[0], username: parts[1], credential: parts[2] });
    } else {
      const lineNumber = String(index + 1);
      errors.push({
        field: 'ice',
        code: 'errIceLine',
        message: `Line ${lineNumber}: write one URL, or a TURN URL followed by a user name and a credential.`,
        args: [lineNumber],
      });
    }
  });
  return { iceServers, errors };
}

/** The inverse of parseIceText for valid servers (a server with several URLs becomes several lines). */
export function formatIceText(iceServers) {
  const lines = [];
  for (const server of iceServers ?? []) {
    const urls = Array.isArray(server.urls) ? server.urls : [server.urls];
    const auth = server.username && server.credential ? ` ${server.username} ${server.credential}` : '';
    for (const url of urls) lines.push(String(url) + (url.startsWith('stun:') ? '' : auth));
  }
  return lines.join('\n');
}
