// The channel between this frame and the content script of the page that embeds it. Messages are
// accepted only from the parent window at a live.nicovideo.jp origin, carrying the token the
// content script put in this frame's URL (the page's own scripts share that origin but cannot read
// the token), and answered there only.

const PAGE_ORIGIN = 'https://live.nicovideo.jp';
const TOKEN = new URLSearchParams(location.search).get('token');

export function listenToPage(handlers) {
  window.addEventListener('message', async (e) => {
    if (e.source !== window.parent || e.origin !== PAGE_ORIGIN) return;
    const msg = e.data;
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string' || !TOKEN || msg.token !== TOKEN) return;
    const handler = handlers[msg.type];
    if (!handler) return;
    let reply;
    try { reply = await handler(msg); } catch (err) { reply = { ok: false, error: String(err?.message ?? err) }; }
    if (msg.id !== undefined) window.parent.postMessage({ type: 'tc:reply', id: msg.id, ...reply }, PAGE_ORIGIN);
  });
}

export function tellPage(msg) {
  if (window.parent !== window) window.parent.postMessage(msg, PAGE_ORIGIN);
}
