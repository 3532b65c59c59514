// Runs on Niconico live watch pages: reads the program from the page, shows the player overlay
// for it, follows in-page navigation and the program's end, and bridges the popup to the player.
(() => {
  'use strict';

  // Content scripts can be injected twice (e.g. after an extension reload in Firefox).
  if (globalThis.__treecastContentStarted) return;
  globalThis.__treecastContentStarted = true;

  const api = globalThis.browser ?? globalThis.chrome;
  const { readPageData } = globalThis.TreecastPageData;
  const overlay = globalThis.TreecastOverlay;

  const REPLY_TIMEOUT_MS = 2000;
  const POLL_MS = 1000;
  const SETTLE_MS = 100;

  let page = { ok: false, reason: 'idleStarting' };
  let current = null; // { programId, role, status } of the mounted player
  let closedFor = null; // the program whose overlay the user closed: don't bring it back on our own
  let endedSentFor = null;

  const roleOf = (data) => (data.isBroadcaster ? 'broadcaster' : 'viewer');

  function playerSrc(data) {
    const params = new URLSearchParams({
      program: data.programId,
      broadcaster: data.broadcasterUserId,
      role: roleOf(data),
      status: data.status,
    });
    if (data.verifyCode) params.set('code', data.verifyCode);
    return `${api.runtime.getURL('player/player.html')}?${params}`;
  }

  // ---- the player's lifetime follows the page's program ----

  function mountFor(data) {
    failPending();
    endedSentFor = null;
    current = { programId: data.programId, role: roleOf(data), status: data.status };
    overlay.mount({
      src: playerSrc(data),
      onClose: () => {
        closedFor = current && current.programId;
        current = null;
        failPending();
      },
    });
  }

  function unmountPlayer() {
    current = null;
    failPending();
    overlay.unmount({ silent: true });
  }

  function evaluate() {
    page = readPageData(document);
    if (page.ok) {
      if (closedFor && closedFor !== page.programId) closedFor = null;
      const sameProgram = current && current.programId === page.programId && current.role === roleOf(page);
      if (!sameProgram) {
        if (current) unmountPlayer();
        if (closedFor !== page.programId) mountFor(page);
      } else if (current.status !== page.status) {
        current.status = page.status;
        overlay.postToPlayer({ type: 'tc:program-status', status: page.status });
      }
      return;
    }
    if (!current) return;
    if (page.reason === 'idleProgramEnded' && page.programId === current.programId) {
      // Keep the overlay so the player can say so; it stops relaying and tells the tree.
      if (endedSentFor !== current.programId) {
        endedSentFor = current.programId;
        overlay.postToPlayer({ type: 'tc:program-ended' });
      }
      return;
    }
    unmountPlayer(); // navigated elsewhere, or the data went away
  }

  // ---- noticing changes: DOM observers for speed, a cheap poll as the safety net ----
  // (history.pushState in the page's own scripts fires no event we can see.)

  let lastSeen = '';
  let settleTimer = 0;

  function fingerprint() {
    const element = document.getElementById('embedded-data');
    const props = element ? element.getAttribute('data-props') : null;
    return `${location.href}\n${props}`;
  }

  function check() {
    const now = fingerprint();
    if (now === lastSeen) return;
    lastSeen = now;
    evaluate();
    watchDataElement();
  }

  function soon() {
    clearTimeout(settleTimer);
    settleTimer = setTimeout(check, SETTLE_MS);
  }

  const dataObserver = new MutationObserver(soon);
  // The title changes on in-page navigation; it is a small subtree, unlike the comment list.
  const titleObserver = new MutationObserver(soon);
  let observedElement = null;

  function watchDataElement() {
    const element = document.getElementById('embedded-data');
    if (element === observedElement) return;
    dataObserver.disconnect();
    observedElement = element;
    if (element) dataObserver.observe(element, { attributes: true, attributeFilter: ['data-props'] });
    if (document.head) titleObserver.observe(document.head, { childList: true, subtree: true, characterData: true });
  }

  // ---- the popup <-> player bridge ----

  const pending = new Map();
  let nextId = 1;

  function failPending() {
    for (const [id, request] of pending) {
      clearTimeout(request.timer);
      request.resolve({ error: 'no-player' });
      pending.delete(id);
    }
  }

  function askPlayer(msg) {
    return new Promise((resolve) => {
      if (!overlay.isMounted()) return resolve({ error: 'no-player' });
      const id = `req-${nextId++}`;
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve({ error: 'no-player' });
      }, REPLY_TIMEOUT_MS);
      pending.set(id, { resolve, timer });
      overlay.postToPlayer({ ...msg, id });
    });
  }

  overlay.onPlayerMessage((data) => {
    if (data.type !== 'tc:reply' || typeof data.id !== 'string') return;
    const request = pending.get(data.id);
    if (!request) return;
    pending.delete(data.id);
    clearTimeout(request.timer);
    const { type, id, token, ...reply } = data;
    request.resolve(reply);
  });

  function describePage() {
    return {
      active: page.ok === true,
      reason: page.ok ? null : page.reason,
      programId: page.programId ?? null,
      title: page.ok ? page.title : null,
      role: page.ok ? roleOf(page) : null,
      status: page.status ?? null,
      overlayMounted: overlay.isMounted(),
      overlayVisible: overlay.isVisible(),
      playerReady: overlay.isPlayerReady(),
    };
  }

  function showOverlay(visible) {
    if (visible && !overlay.isMounted() && page.ok) {
      closedFor = null;
      mountFor(page);
    } else {
      overlay.setVisible(visible);
    }
    return { ok: overlay.isMounted(), visible: overlay.isVisible() };
  }

  async function handle(msg) {
    switch (msg.type) {
      case 'tc:page':
        return describePage();
      case 'tc:overlay':
        return showOverlay(msg.visible !== false);
      default: {
        const reply = await askPlayer(msg);
        // Screen capture needs a click inside the player: make sure its button can be seen.
        if (reply && reply.needsClick) overlay.setVisible(true);
        return reply;
      }
    }
  }

  api.runtime.onMessage.addListener((msg, sender, sendResponse) => {
    if (sender.id !== api.runtime.id || sender.tab) return false; // only our own popup
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string' || !msg.type.startsWith('tc:')) return false;
    handle(msg).then(sendResponse, (error) => sendResponse({ error: String(error && error.message || error) }));
    return true; // answer asynchronously
  });

  addEventListener('popstate', soon);
  setInterval(check, POLL_MS);
  check();
})();
