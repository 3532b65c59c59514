// The event log beside the tree: newest first, filterable by kind, by repairs and by id, and
// exportable as JSON for bug reports. Clicking an entry selects its viewer in the tree.
import { EVENT_KINDS, filterEvents, isRepair, shortId } from './model.js';

const PAGE = 150; // rows rendered at first; "Show older" adds as many (everything is in the export)

const KIND_KEYS = {
  join: 'dashKindJoin', leave: 'dashKindLeave', loss: 'dashKindLoss', standby: 'dashKindStandby', move: 'dashKindMove', reload: 'dashKindReload',
};

export class EventLog {
  constructor({ list, filters, repairsOnly, search, count, more, exportButton, t, onSelect, exportInfo }) {
    Object.assign(this, { list, repairsOnly, search, count, more, t, onSelect, exportInfo });
    this.shown = PAGE;
    more.addEventListener('click', () => { this.shown += PAGE; this.render(true); });
    this.kinds = new Set(EVENT_KINDS);
    this.items = [];
    this.rows = new Map(); // entry key -> { li, signature }
    this.renderedKey = '';
    this.timeFormat = new Intl.DateTimeFormat(t('localeCode'), { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
    for (const kind of EVENT_KINDS) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = `chip ${kind}`;
      b.dataset.kind = kind;
      b.setAttribute('aria-pressed', 'true');
      b.textContent = t(KIND_KEYS[kind]);
      b.addEventListener('click', () => {
        if (this.kinds.has(kind)) this.kinds.delete(kind); else this.kinds.add(kind);
        b.setAttribute('aria-pressed', String(this.kinds.has(kind)));
        this.render(true);
      });
      filters.append(b);
    }
    repairsOnly.addEventListener('change', () => { this.shown = PAGE; this.render(true); });
    search.addEventListener('input', () => { this.shown = PAGE; this.render(true); });
    exportButton.addEventListener('click', () => this.export());
    list.addEventListener('click', (e) => {
      const li = e.target.closest('li[data-peer]');
      if (li) this.onSelect?.(li.dataset.peer);
    });
    list.addEventListener('keydown', (e) => {
      const li = e.target.closest('li[data-peer]');
      if (li && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); this.onSelect?.(li.dataset.peer); }
    });
  }

  /** New log contents (`version` changes when entries were added or updated). */
  update(items, version, broadcaster) {
    this.items = items;
    this.broadcaster = broadcaster;
    this.version = version;
    this.render(false);
  }

  filtered() {
    return filterEvents(this.items, { kinds: this.kinds, repairsOnly: this.repairsOnly.checked, text: this.search.value });
  }

  render(force) {
    const key = `${this.version}|${[...this.kinds].join()}|${this.repairsOnly.checked}|${this.search.value}`;
    if (!force && key === this.renderedKey) return;
    this.renderedKey = key;
    const shown = this.filtered();
    // Newest first; rows are kept by entry and rebuilt only when the entry changed, so a new
    // event costs one new row (this page shares its main thread with the relay).
    const wanted = [];
    for (let i = shown.length - 1; i >= 0 && wanted.length < this.shown; i--) {
      const e = shown[i];
      const signature = e.stall ? `${e.stall.reported}/${e.stall.max_gap_ms}` : '';
      let row = this.rows.get(e.key);
      if (!row || row.signature !== signature) {
        const li = this.row(e);
        if (row) row.li.replaceWith(li);
        row = { li, signature };
        this.rows.set(e.key, row);
      }
      wanted.push(row.li);
    }
    const keep = new Set(wanted);
    for (const [k, row] of this.rows) if (!keep.has(row.li)) { row.li.remove(); this.rows.delete(k); }
    let at = this.list.firstChild;
    for (const li of wanted) {
      if (at === li) { at = at.nextSibling; continue; }
      this.list.insertBefore(li, at);
    }
    const text = shown.length > this.shown
      ? this.t('dashLogCountMore', [String(this.shown), String(shown.length), String(this.items.length)])
      : this.t('dashLogCount', [String(shown.length), String(this.items.length)]);
    if (this.count.textContent !== text) this.count.textContent = text;
    const hideMore = shown.length <= this.shown;
    if (this.more.hidden !== hideMore) this.more.hidden = hideMore;
  }

  row(e) {
    const t = this.t;
    const li = document.createElement('li');
    li.dataset.kind = e.kind;
    li.dataset.seq = String(e.seq);
    if (e.peer) { li.dataset.peer = e.peer; li.tabIndex = 0; }
    if (isRepair(e)) li.classList.add('repair');
    const time = document.createElement('time');
    time.dateTime = new Date(e.at_ms).toISOString();
    time.textContent = this.timeFormat.format(new Date(e.at_ms));
    const kind = document.createElement('span');
    kind.className = `kind ${e.kind}`;
    kind.textContent = t(KIND_KEYS[e.kind] ?? 'dashKindMove');
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = this.describe(e);
    li.append(time, kind, text);
    if (e.stall) {
      const stall = document.createElement('span');
      const s = e.stall;
      stall.className = 'stall';
      if (s.reported > 0) {
        stall.textContent = t('dashStall', [String(s.reported), String(s.viewers), String(s.max_gap_ms)]);
        stall.dataset.level = s.max_gap_ms >= 1000 ? 'bad' : s.max_gap_ms > 200 ? 'warn' : 'ok';
      } else if (s.viewers > 0) {
        stall.textContent = t('dashStallWaiting', [String(s.viewers)]);
      }
      if (stall.textContent) li.append(stall);
    }
    return li;
  }

  describe(e) {
    const t = this.t;
    const id = (p) => shortId(p, this.broadcaster);
    const to = e.to === this.broadcaster ? t('dashYou') : id(e.to);
    const from = e.from === this.broadcaster ? t('dashYou') : id(e.from);
    const n = (v) => String(v ?? 0);
    switch (e.kind) {
      case 'join': return t('dashEventJoin', [id(e.peer), to, n(e.depth)]);
      case 'leave': return t('dashEventLeave', [id(e.peer), n(e.depth), n(e.below)]);
      case 'loss': return t(e.via === 'server' ? 'dashEventLossServer' : 'dashEventLossParent', [id(e.peer), n(e.depth), n(e.below)]);
      case 'standby': {
        const text = t('dashEventStandby', [id(e.peer), to, from]);
        return e.below ? `${text} ${t('dashEventBelow', [n(e.below)])}` : text;
      }
      case 'move': {
        const text = t('dashEventMove', [id(e.peer), from, to, n(e.depth)]);
        return e.cause ? `${text} ${t('dashEventRepairOf', [n(e.cause)])}` : text;
      }
      case 'reload': return e.note ? t('dashEventReloadLost', [e.note]) : t('dashEventReload', [n(e.below)]);
      default: return e.kind;
    }
  }

  /** Downloads the whole log (not only what the filter shows) as JSON. */
  export() {
    const info = this.exportInfo?.() ?? {};
    const doc = { format: 'treecast-relay-log', version: 1, exportedAt: new Date().toISOString(), ...info, events: this.items };
    const blob = new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `treecast-log-${info.program || 'broadcast'}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    return doc;
  }
}
