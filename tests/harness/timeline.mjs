// What each player did around an event, for diagnostics: its commands (from window.treecast.log())
// with peer ids replaced by the harness's names.

/** Names for peer ids: every peer's player id -> its harness name, plus the broadcaster as 'B'. */
export async function peerNames(peers, broadcaster) {
  const names = new Map();
  for (const p of peers) {
    if (p.gone) continue;
    try { names.set((await p.stats()).peerId, p.name); } catch { /* closed */ }
  }
  if (broadcaster) names.set((await broadcaster.stats()).peerId, 'B');
  return names;
}

export function rename(text, names) {
  return text.replace(/tc-[a-z0-9-]+/g, (id) => names.get(id) ?? id.slice(0, 12));
}

/**
 * One line per peer: its commands since `since` (ms relative to it; until `until` if given),
 * heartbeats left out.
 */
export async function commandLog(peers, since, names, until = Infinity) {
  const lines = [];
  for (const p of peers) {
    const log = await (await p.player()).evaluate(([t, end]) => window.treecast.log()
      .filter((l) => l.t > t - 200 && l.t <= end && !/ hb/.test(l.text)).map((l) => `${l.t - t} ${l.text}`), [since, until ?? Infinity]).catch(() => ['(closed)']);
    lines.push(`${p.name}: ${rename(log.join(' | '), names)}`);
  }
  return lines;
}

/** The tree as `name<parent/standby@depth` items. */
export function treeLine(tree, names) {
  const n = (id) => (id ? names.get(id) ?? id.slice(0, 12) : '-');
  return tree.nodes.map((x) => `${n(x.id)}<${n(x.parent)}/${n(x.standby)}@${x.depth}`).join(' ');
}
