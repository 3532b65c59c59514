// Reading the broadcaster's tree (window.treecast.tree() in its player frame).
import { waitFor } from './browsers.mjs';

export async function readTree(broadcaster) {
  return (await broadcaster.player()).evaluate(() => window.treecast.tree());
}

/** Every viewer below `id` (not including it). */
export function descendants(tree, id) {
  const kids = new Map();
  for (const n of tree.nodes) kids.set(n.parent, [...(kids.get(n.parent) ?? []), n.id]);
  const out = [];
  const stack = [...(kids.get(id) ?? [])];
  while (stack.length) {
    const x = stack.pop();
    out.push(x);
    stack.push(...(kids.get(x) ?? []));
  }
  return out;
}

/** Waits until the tree holds `count` viewers and every viewer that can have a standby has one. */
export async function settledTree(broadcaster, count, { timeout = 30000 } = {}) {
  let last = null;
  try {
    return await waitFor(`a settled tree of ${count}`, async () => {
      const tree = (last = await readTree(broadcaster));
      if (!tree || tree.nodes.length !== count) return false;
      const needing = tree.nodes.filter((n) => n.depth >= 2);
      return needing.every((n) => n.standby) ? tree : false;
    }, { timeout, interval: 250 });
  } catch (err) {
    // Say what is missing: how many viewers, and who has no standby.
    const nodes = last?.nodes ?? [];
    const short = nodes.filter((n) => n.depth >= 2 && !n.standby).map((n) => `${n.id.slice(-6)}@${n.depth}`);
    throw new Error(`${err.message}: ${nodes.length} viewers, without a standby: ${short.join(' ') || 'none'}`);
  }
}

/** A relay at `depth` whose subtree is as large as possible (its loss is the worst case). */
export function interiorRelay(tree, depth) {
  const candidates = tree.nodes.filter((n) => n.depth === depth && n.children.length > 0);
  candidates.sort((a, b) => b.subtree_size - a.subtree_size);
  return candidates[0] ?? null;
}
