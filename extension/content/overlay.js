// The floating player window on the watch page: a closed shadow root (page CSS can't reach in,
// ours can't leak out) holding a title bar to drag, the player iframe, a resize handle and
// hide/close buttons. Its place, size and visibility are remembered in storage.local.
// Messages to and from the player go through postMessage with origin checks both ways; each
// message we send carries a per-mount token that page scripts cannot read (the iframe's URL is
// inside the closed shadow root), so the player can tell our messages from the page's.
(() => {
  'use strict';

  const api = globalThis.browser ?? globalThis.chrome;
  const STORAGE_KEY = 'overlay';
  const BAR_HEIGHT = 28;
  const MIN_SIZE = { width: 240, height: 135 + BAR_HEIGHT };
  const HIDDEN_WIDTH = 180;
  const MAX_QUEUE = 50;
  const KEY_STEP = 10;
  const KEY_STEP_LARGE = 50;
  // Events that must not reach the page's own handlers (shortcuts, comment box) when they start in the overlay.
  const CONTAINED_EVENTS = [
    'keydown', 'keyup', 'keypress', 'input', 'beforeinput',
    'pointerdown', 'pointerup', 'pointermove', 'pointercancel',
    'mousedown', 'mouseup', 'mousemove', 'click', 'dblclick', 'auxclick', 'contextmenu', 'wheel',
    'touchstart', 'touchmove', 'touchend', 'touchcancel', 'focusin', 'focusout',
  ];

  /** Keeps a rectangle inside the viewport and no smaller than the minimum size. Pure, for tests. */
  function clampRect(rect, viewport, min = MIN_SIZE) {
    const number = (value, fallback) => (Number.isFinite(value) ? value : fallback);
    const width = Math.max(min.width, Math.min(number(rect.width, min.width), viewport.width));
    const height = Math.max(min.height, Math.min(number(rect.height, min.height), viewport.height));
    const left = Math.max(0, Math.min(number(rect.left, 0), viewport.width - width));
    const top = Math.max(0, Math.min(number(rect.top, 0), viewport.height - height));
    return { left: Math.round(left), top: Math.round(top), width: Math.round(width), height: Math.round(height) };
  }

  /** Where a first-time overlay goes: the lower right corner, 16:9 video plus the bar. */
  function defaultRect(viewport) {
    const width = Math.min(426, viewport.width);
    const height = Math.round(width * 9 / 16) + BAR_HEIGHT;
    return { left: viewport.width - width - 16, top: viewport.height - height - 16, width, height };
  }

  const viewport = () => ({ width: document.documentElement.clientWidth || innerWidth, height: innerHeight });
  const message = (key, fallback) => api?.i18n?.getMessage(key) || fallback;

  function randomToken() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  let mounted = null; // everything about the current overlay, or null
  const callbacks = []; // player message listeners; they outlive remounts

  function setImportant(element, styles) {
    for (const [name, value] of Object.entries(styles)) element.style.setProperty(name, value, 'important');
  }

  function build() {
    const host = document.createElement('treecast-overlay');
    // Inline !important beats any page rule; `all: initial` drops inherited page styles.
    setImportant(host, { all: 'initial', position: 'fixed', 'z-index': '2147483000', display: 'block', visibility: 'hidden' });
    const shadow = host.attachShadow({ mode: 'closed' });

    const css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = api.runtime.getURL('content/overlay.css');

    const frame = document.createElement('div');
    frame.className = 'frame';

    const bar = document.createElement('div');
    bar.className = 'bar';
    bar.tabIndex = 0;
    bar.setAttribute('role', 'group');
    bar.setAttribute('aria-label', message('overlayBarLabel', 'treecast player: drag or use the arrow keys to move'));
    const title = document.createElement('span');
    title.className = 'title';
    title.textContent = message('extName', 'treecast');
    const toggle = document.createElement('button');
    toggle.className = 'toggle';
    toggle.type = 'button';
    const close = document.createElement('button');
    close.className = 'close';
    close.type = 'button';
    close.textContent = '\u00d7';
    close.title = message('overlayClose', 'Close (stops relaying on this page)');
    close.setAttribute('aria-label', close.title);
    bar.append(title, toggle, close);

    const body = document.createElement('div');
    body.className = 'body';
    const iframe = document.createElement('iframe');
    iframe.allow = 'autoplay; camera; microphone; display-capture; fullscreen; picture-in-picture';
    iframe.title = message('overlayFrameTitle', 'treecast player');
    setImportant(iframe, { border: '0', display: 'block' });
    body.append(iframe);

    const resize = document.createElement('div');
    resize.className = 'resize';
    resize.tabIndex = 0;
    resize.title = message('overlayResize', 'Resize (drag, or use the arrow keys)');
    resize.setAttribute('aria-label', resize.title);

    frame.append(bar, body, resize);
    shadow.append(css, frame);
    return { host, frame, bar, title, toggle, close, body, iframe, resize };
  }

  function render() {
    const { parts, rect, visible } = mounted;
    const width = visible ? rect.width : Math.min(HIDDEN_WIDTH, rect.width);
    const height = visible ? rect.height : BAR_HEIGHT;
    setImportant(parts.host, { left: `${rect.left}px`, top: `${rect.top}px`, width: `${width}px`, height: `${height}px` });
    // While hidden the iframe keeps its size and keeps running (relaying must go on); it is only clipped.
    setImportant(parts.iframe, { width: `${rect.width}px`, height: `${rect.height - BAR_HEIGHT}px` });
    parts.frame.classList.toggle('hidden', !visible);
    parts.toggle.textContent = visible ? '\u2013' : '\u25a1';
    parts.toggle.title = visible ? message('overlayHide', 'Hide') : message('overlayShow', 'Show');
    parts.toggle.setAttribute('aria-label', parts.toggle.title);
    parts.host.dataset.visible = String(visible);
  }

  function save() {
    if (!mounted) return;
    const { rect, visible } = mounted;
    api.storage.local.set({ [STORAGE_KEY]: { ...rect, visible } }).catch(() => {});
  }

  function setRect(rect) {
    mounted.rect = clampRect(rect, viewport());
    render();
  }

  // Dragging the bar moves the window; dragging the handle resizes it. Pointer capture keeps the
  // gesture alive over the iframe, whose pointer events are also switched off meanwhile.
  function dragWith(handle, apply, ignoreTarget) {
    handle.addEventListener('pointerdown', (event) => {
      if (event.button !== 0 || (ignoreTarget && ignoreTarget(event.target))) return;
      event.preventDefault();
      handle.setPointerCapture(event.pointerId);
      const start = { x: event.clientX, y: event.clientY, rect: { ...mounted.rect } };
      mounted.parts.frame.classList.add('dragging');
      const move = (e) => { if (mounted) apply(start.rect, e.clientX - start.x, e.clientY - start.y); };
      const end = () => {
        handle.removeEventListener('pointermove', move);
        handle.removeEventListener('pointerup', end);
        handle.removeEventListener('pointercancel', end);
        if (mounted) {
          mounted.parts.frame.classList.remove('dragging');
          save();
        }
      };
      handle.addEventListener('pointermove', move);
      handle.addEventListener('pointerup', end);
      handle.addEventListener('pointercancel', end);
    });
  }

  const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

  function keyboardWith(element, apply) {
    element.addEventListener('keydown', (event) => {
      const arrow = ARROWS[event.key];
      if (!arrow || event.target !== element) return;
      event.preventDefault();
      const step = event.shiftKey ? KEY_STEP_LARGE : KEY_STEP;
      apply({ ...mounted.rect }, arrow[0] * step, arrow[1] * step);
      save();
    });
  }

  function wire(parts) {
    const move = (rect, dx, dy) => setRect({ ...rect, left: rect.left + dx, top: rect.top + dy });
    const grow = (rect, dx, dy) => setRect({ ...rect, width: rect.width + dx, height: rect.height + dy });
    dragWith(parts.bar, move, (target) => target.closest('button'));
    dragWith(parts.resize, grow);
    keyboardWith(parts.bar, move);
    keyboardWith(parts.resize, grow);
    parts.toggle.addEventListener('click', () => setVisible(!mounted.visible));
    parts.close.addEventListener('click', () => unmount());
    // Listeners on the host see only events that started inside the overlay (retargeted to the host).
    for (const type of CONTAINED_EVENTS) parts.host.addEventListener(type, (event) => event.stopPropagation());
  }

  function onWindowMessage(event) {
    if (!mounted || event.origin !== mounted.playerOrigin) return;
    const data = event.data;
    if (!data || typeof data !== 'object' || typeof data.type !== 'string' || !data.type.startsWith('tc:')) return;
    if (data.type === 'tc:player-ready') {
      mounted.ready = true;
      mounted.queue.splice(0).forEach(send);
    }
    for (const callback of [...callbacks]) {
      try {
        callback(data);
      } catch (error) {
        console.error('treecast: player message handler failed', error);
      }
    }
  }

  function onWindowResize() {
    if (mounted) setRect(mounted.rect);
  }

  function send(msg) {
    mounted.parts.iframe.contentWindow?.postMessage({ ...msg, token: mounted.token }, mounted.playerOrigin);
  }

  /**
   * Shows the player. `src` is the player page URL with its query; a `token` parameter is added.
   * `onClose` is called when the user closes the overlay. Mounting again replaces the old overlay.
   */
  function mount({ src, onClose } = {}) {
    unmount({ silent: true });
    const playerOrigin = new URL(api.runtime.getURL('')).origin;
    const url = new URL(src, api.runtime.getURL(''));
    if (url.origin !== playerOrigin) throw new Error('treecast: the overlay only shows extension pages');
    const token = randomToken();
    url.searchParams.set('token', token);

    const parts = build();
    mounted = {
      parts, playerOrigin, token, onClose,
      rect: clampRect(defaultRect(viewport()), viewport()),
      visible: true, ready: false, queue: [],
    };
    wire(parts);
    render();
    addEventListener('message', onWindowMessage);
    addEventListener('resize', onWindowResize);
    parts.iframe.src = url.href;
    document.documentElement.append(parts.host);

    const current = mounted;
    api.storage.local.get(STORAGE_KEY).then((stored) => {
      if (mounted !== current) return;
      const saved = stored?.[STORAGE_KEY];
      if (saved && typeof saved === 'object') {
        mounted.rect = clampRect(saved, viewport());
        mounted.visible = saved.visible !== false;
      }
    }).catch(() => {}).finally(() => {
      if (mounted !== current) return;
      render();
      parts.host.style.setProperty('visibility', 'visible', 'important');
    });
  }

  /** Removes the overlay (the player page unloads, which ends its connections). */
  function unmount({ silent = false } = {}) {
    if (!mounted) return;
    const { parts, onClose } = mounted;
    removeEventListener('message', onWindowMessage);
    removeEventListener('resize', onWindowResize);
    parts.host.remove();
    mounted = null;
    if (!silent && typeof onClose === 'function') onClose();
  }

  function setVisible(visible) {
    if (!mounted) return;
    mounted.visible = Boolean(visible);
    render();
    save();
    postToPlayer({ type: 'tc:overlay-visible', visible: mounted.visible });
  }

  /** Sends a message to the player; messages sent before it says tc:player-ready wait in a short queue. */
  function postToPlayer(msg) {
    if (!mounted) return false;
    if (mounted.ready) {
      send(msg);
    } else if (mounted.queue.length < MAX_QUEUE) {
      mounted.queue.push(msg);
    }
    return true;
  }

  /** Calls back for every tc:* message from the (current) player, across remounts; returns an unsubscribe function. */
  function onPlayerMessage(callback) {
    callbacks.push(callback);
    return () => {
      const index = callbacks.indexOf(callback);
      if (index >= 0) callbacks.splice(index, 1);
    };
  }

  const isMounted = () => mounted !== null;
  const isVisible = () => Boolean(mounted && mounted.visible);
  const isPlayerReady = () => Boolean(mounted && mounted.ready);

  const overlay = { mount, unmount, setVisible, postToPlayer, onPlayerMessage, isMounted, isVisible, isPlayerReady, clampRect, defaultRect };
  globalThis.TreecastOverlay = overlay;
  if (typeof module === 'object' && module && typeof module.exports === 'object') module.exports = overlay;
})();
