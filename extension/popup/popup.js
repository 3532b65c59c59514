// The toolbar popup: asks the active tab's content script about the page, then shows the
// streamer's broadcast controls or the viewer's relay state, refreshed once a second.
import { initI18n, applyI18n } from '../shared/i18n.js';
import { loadSettings } from '../shared/settings.js';

const api = globalThis.browser ?? globalThis.chrome;
const REFRESH_MS = 1000;
const SLOT_CHOICES = [0, 1, 2, 3, 4];
const STATE_KEYS = {
  waiting: 'stateWaiting', joining: 'stateJoining', playing: 'statePlaying', repairing: 'stateRepairing',
  left: 'stateLeft', broadcasting: 'stateBroadcasting', idle: 'stateIdle',
};

const $ = (id) => document.getElementById(id);
const t = await initI18n();
applyI18n(document, t);
const settings = await loadSettings();
// Opened as a page (popup.html?tab=ID: keyboard users, tests) it serves that tab; as the
// toolbar popup, the active one.
const forcedTab = Number(new URLSearchParams(location.search).get('tab'));
const [tab] = Number.isInteger(forcedTab) && forcedTab > 0
  ? [{ id: forcedTab }]
  : await api.tabs.query({ active: true, currentWindow: true });

let broadcasting = false;
let currentPage = null; // what the content script last said about the page
let busy = false; // a broadcast request is on its way: don't let the refresh flip the button

/** Sends a message to the page's content script; null when there is none (not a Niconico live page). */
async function ask(msg) {
  if (!tab || tab.id === undefined) return null;
  try {
    return (await api.tabs.sendMessage(tab.id, msg)) ?? null;
  } catch {
    return null;
  }
}

const show = (id, visible) => { $(id).hidden = !visible; };
const setText = (id, text) => { $(id).textContent = text; };
const figure = (value) => (value === null || value === undefined || Number.isNaN(value) ? '\u2014' : String(value));
const rounded = (value) => (typeof value === 'number' ? Math.round(value) : value);

function say(text) {
  setText('message', text || '');
}

function stateName(state) {
  return typeof state === 'string' ? (STATE_KEYS[state] ? t(STATE_KEYS[state]) : state) : '\u2014';
}

// Leaves a select alone while the user is using it.
function setSelect(id, value) {
  const select = $(id);
  if (value === null || value === undefined || document.activeElement === select) return;
  select.value = String(value);
}

function fillSlotChoices(current) {
  const select = $('slots');
  const values = [...new Set([...SLOT_CHOICES, settings.slots, ...(Number.isInteger(current) ? [current] : [])])]
    .sort((a, b) => a - b);
  if (select.options.length === values.length) return;
  select.replaceChildren(...values.map((n) => new Option(n === 0 ? t('popupSlotsNone') : t('popupSlotsN', [String(n)]), String(n))));
  select.value = String(settings.slots);
}

function renderIdle(reasonKey) {
  say('');
  show('idle', true);
  show('program', false);
  show('streamer', false);
  show('viewer', false);
  setText('idle-reason', t(reasonKey));
}

function renderPage(page) {
  currentPage = page;
  show('idle', false);
  show('program', true);
  setText('role', t(page.role === 'broadcaster' ? 'popupRoleBroadcaster' : 'popupRoleViewer'));
  setText('program-title', page.title || '');
  setText('program-id', page.programId);
  show('streamer', page.role === 'broadcaster');
  show('viewer', page.role !== 'broadcaster');
}

function renderOverlayButton(page) {
  const button = $('overlay');
  const canShow = page && (page.active || page.overlayMounted);
  button.hidden = !canShow;
  if (!canShow) return;
  const visible = page.overlayMounted && page.overlayVisible;
  button.textContent = t(visible ? 'popupHidePlayer' : 'popupShowPlayer');
  button.dataset.show = String(!visible);
}

function renderStreamer(stats) {
  if (!busy) {
    broadcasting = stats.broadcasting === true;
    const button = $('broadcast');
    button.textContent = t(broadcasting ? 'popupStop' : 'popupStart');
    button.classList.toggle('on', broadcasting);
    button.disabled = false;
  }
  setSelect('source', stats.source);
  setSelect('fanout', stats.fanout);
  setText('s-viewers', figure(stats.viewers));
  setText('s-depth', figure(stats.maxDepth ?? stats.depth));
  setText('s-repairs', figure(stats.repairs));
  setText('s-kbps-out', typeof stats.kbpsOut === 'number' ? t('popupKbps', [String(Math.round(stats.kbpsOut))]) : '\u2014');
}

function renderViewer(stats) {
  fillSlotChoices(stats.slots);
  setText('v-state', stateName(stats.state));
  setText('v-depth', figure(stats.depth));
  setText('v-children', figure(Array.isArray(stats.children) ? stats.children.length : stats.children));
  setText('v-fps', typeof stats.fps === 'number' ? t('popupFpsValue', [String(rounded(stats.fps))]) : '\u2014');
  const stalls = stats.stalls;
  setText('v-stalls', stalls && typeof stalls.count === 'number'
    ? t('popupStallsValue', [String(stalls.count), String(rounded(stalls.totalMs ?? 0))])
    : '\u2014');
  setSelect('slots', stats.slots);
}

let lastPlayerError = false;

async function refresh() {
  const page = await ask({ type: 'tc:page' });
  renderOverlayButton(page);
  if (!page) return renderIdle('idleNotNiconico');
  if (!page.active) return renderIdle(page.reason || 'idleNoEmbeddedData');
  renderPage(page);
  if (!page.overlayMounted) {
    say(t('idleOverlayClosed'));
    return;
  }
  const stats = await ask({ type: 'tc:status' });
  if (!stats || stats.error) {
    say(t('popupNoPlayer'));
    lastPlayerError = true;
    return;
  }
  if (lastPlayerError) {
    say('');
    lastPlayerError = false;
  }
  if (page.role === 'broadcaster') renderStreamer(stats);
  else renderViewer(stats);
}

async function sendBroadcast(on) {
  busy = true;
  $('broadcast').disabled = true;
  say('');
  const reply = await ask({ type: 'tc:broadcast', on, source: $('source').value, fanout: Number($('fanout').value) });
  busy = false;
  if (!reply || reply.error === 'no-player') say(t('popupNoPlayer'));
  else if (reply.needsClick) say(t('popupNeedsClick'));
  else if (reply.ok === false) say(t('popupError', [String(reply.error ?? '?')]));
  await refresh();
}

$('broadcast').addEventListener('click', () => sendBroadcast(!broadcasting));
// While broadcasting, a new source or fan-out is sent at once; otherwise it waits for Start.
for (const id of ['source', 'fanout']) {
  $(id).addEventListener('change', () => { if (broadcasting) sendBroadcast(true); });
}

$('slots').addEventListener('change', async () => {
  const reply = await ask({ type: 'tc:slots', slots: Number($('slots').value) });
  if (!reply || reply.ok === false) say(reply && reply.error && reply.error !== 'no-player' ? t('popupError', [String(reply.error)]) : t('popupNoPlayer'));
});

$('overlay').addEventListener('click', async () => {
  await ask({ type: 'tc:overlay', visible: $('overlay').dataset.show === 'true' });
  await refresh();
});

// The streamer's relay dashboard opens in its own tab, for this page's program.
$('dashboard').addEventListener('click', async () => {
  const query = new URLSearchParams({ program: currentPage?.programId ?? '', title: currentPage?.title ?? '' });
  await api.tabs.create({ url: api.runtime.getURL(`dashboard/dashboard.html?${query}`) });
  window.close();
});

$('options').addEventListener('click', (event) => {
  event.preventDefault();
  api.runtime.openOptionsPage();
  window.close();
});

fillSlotChoices(null);
$('broadcast').textContent = t('popupStart');

// One refresh at a time, one a second, for as long as the popup is open.
async function loop() {
  try {
    await refresh();
  } catch (error) {
    console.error('treecast popup: refresh failed', error);
  }
  document.documentElement.dataset.ready = 'true'; // for tests: the first refresh is done
  setTimeout(loop, REFRESH_MS);
}
loop();
