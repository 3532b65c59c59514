// The tree by level: one row per depth with its viewers, their health (summed up the tree by
// the relays, so exact at any size), relays and standby coverage. What the dashboard shows when
// there are too many viewers to draw each one (and on request).

function cell(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Renders `frame.levels` into `container` (a few dozen rows at most: cheap to rebuild). */
export function renderLevels(container, frame, { t, number }) {
  const levels = frame?.levels ?? [];
  const widest = Math.max(1, ...levels.map((l) => l.viewers));
  const head = cell('div', 'level-row head');
  for (const key of ['dashLevelDepth', 'dashLevelViewers', 'dashLevelHealth', 'dashLevelRelays', 'dashLevelStandby', 'dashLevelFps']) {
    head.append(cell('span', '', t(key)));
  }
  const rows = levels.map((l) => {
    const row = cell('div', 'level-row');
    row.dataset.depth = String(l.depth);
    const reported = l.ok + l.warn + l.bad;
    const unknown = Math.max(0, l.viewers - reported);
    const bar = cell('span', 'level-bar');
    const track = cell('span', 'level-track');
    track.style.width = `${Math.max(2, (100 * l.viewers) / widest)}%`;
    const total = Math.max(1, reported + unknown);
    for (const [cls, n] of [['ok', l.ok], ['warn', l.warn], ['bad', l.bad], ['unknown', unknown]]) {
      if (!n) continue;
      const part = cell('span', `part ${cls}`);
      part.style.flexGrow = String(n / total);
      part.title = `${t(`dashHealth${cls[0].toUpperCase()}${cls.slice(1)}`)}: ${number(n)}`;
      track.append(part);
    }
    bar.append(track);
    const needing = l.depth >= 2 ? l.viewers : 0;
    const coverage = needing ? `${Math.round((100 * l.with_standby) / needing)} %` : '—';
    row.append(
      cell('span', 'depth', String(l.depth)),
      cell('span', 'num', number(l.viewers)),
      bar,
      cell('span', 'num', number(l.relays)),
      cell('span', 'num', coverage),
      cell('span', 'num', reported ? (l.fps_sum / reported).toFixed(1) : '—'),
    );
    return row;
  });
  container.replaceChildren(head, ...rows);
}
