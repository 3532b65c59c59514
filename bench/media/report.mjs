// Turns the runs into the benchmark's figures (median, min and max across runs for each policy),
// a text table, a Markdown table for the README and an SVG chart. Hand-written SVG: bars with
// min-max whiskers and lines by depth, no dependency.
import { across, round } from './stats.mjs';

/** Each figure: where it comes from in a run record, its unit, and the issue's target. */
export const figures = ({ all = 12, main = 8 } = {}) => [
  { key: 'join.p50', scenario: 'join', label: `join start -> first frame, p50 (${main} joins)`, unit: 'ms', target: '<= 250', get: (r) => r.join?.p50 },
  { key: 'join.p95', scenario: 'join', label: `join start -> first frame, p95 (${main} joins)`, unit: 'ms', get: (r) => r.join?.p95 },
  { key: 'join.openP50', scenario: 'join', label: `page open -> first frame, p50 (${main} joins)`, unit: 'ms', get: (r) => r.join?.openP50 },
  { key: 'storm.played', scenario: 'join storm', label: `viewers that play (of ${all})`, unit: '', target: 'all', get: (r) => r.storm?.played },
  { key: 'storm.p95', scenario: 'join storm', label: 'page open -> first frame, p95', unit: 'ms', target: '<= 2000', get: (r) => r.storm?.p95 },
  { key: 'storm.joinP95', scenario: 'join storm', label: 'join start -> first frame, p95', unit: 'ms', get: (r) => r.storm?.joinP95 },
  { key: 'leave.worst', scenario: 'graceful leave', label: 'largest gap below the leaver', unit: 'ms', target: '<= 100', get: (r) => r.leave?.worstGapMs, censored: (r) => r.leave?.censored },
  { key: 'crash.worst', scenario: 'crash', label: 'largest gap below the crashed relay', unit: 'ms', target: '<= 500', get: (r) => r.crash?.worstGapMs, censored: (r) => r.crash?.censored },
  { key: 'reload.recovery', scenario: 'broadcaster reload', label: 'until every viewer presents again', unit: 'ms', target: '<= 1500', get: (r) => r.reload?.recoveryMs ?? (r.reload ? r.reload.windowMs ?? 20000 : null), censored: (r) => r.reload?.censored },
  { key: 'reload.below', scenario: 'broadcaster reload', label: 'edges rebuilt below the broadcaster\'s', unit: '', target: '0', get: (r) => r.reload?.rebuiltBelow },
  { key: 'latencyEarly.depth1', scenario: 'latency', label: 'glass-to-glass at depth 1, 4 viewers', unit: 'ms', get: (r) => r.latencyEarly?.depth1Ms },
  { key: 'latencyEarly.perHop', scenario: 'latency', label: 'added per relaying hop, 4 viewers', unit: 'ms', target: '<= 20', get: (r) => r.latencyEarly?.perHopMs },
  { key: 'latency.depth1', scenario: 'latency', label: `glass-to-glass at depth 1, ${main} viewers`, unit: 'ms', get: (r) => r.latency?.depth1Ms },
  { key: 'latency.perHop', scenario: 'latency', label: `added per relaying hop, ${main} viewers`, unit: 'ms', target: '<= 20', get: (r) => r.latency?.perHopMs },
  { key: 'latency.jitter', scenario: 'latency', label: `receivers' video jitter buffer, ${main} viewers (median)`, unit: 'ms', get: (r) => r.latency?.jitterBufferMs },
  { key: 'uplink.one', scenario: 'uplink', label: 'broadcaster sends, 1 viewer', unit: 'kB/s', get: (r) => r.uplinkOne?.bytesPerS / 1000 },
  { key: 'uplink.full', scenario: 'uplink', label: `broadcaster sends, ${all} viewers`, unit: 'kB/s', get: (r) => r.uplinkFull?.bytesPerS / 1000 },
  { key: 'uplink.ratio', scenario: 'uplink', label: `${all} viewers / 1 viewer`, unit: 'x', target: '<= 1.1', get: (r) => r.uplinkRatio },
  { key: 'quality.depth1', scenario: 'quality', label: 'PSNR (luma) at depth 1', unit: 'dB', get: (r) => r.quality?.depth1Db },
  { key: 'quality.drop', scenario: 'quality', label: 'PSNR drop per hop', unit: 'dB', target: 'report', get: (r) => r.quality?.dropPerHopDb },
  { key: 'scale', scenario: 'scale', label: 'largest audience with >= 20 fps everywhere', unit: 'viewers', target: 'report', get: (r) => r.scale?.sustained, censored: (r) => r.scale?.censored },
  { key: 'steady.minFps', scenario: 'control', label: `slowest viewer, ${main} viewers, no event`, unit: 'fps', get: (r) => r.steady?.minFps },
  { key: 'steady.gap', scenario: 'control', label: `largest gap, ${main} viewers, no event`, unit: 'ms', get: (r) => r.steady?.maxGapMs },
  { key: 'cpu.main', scenario: 'control', label: `CPU busy, ${main} viewers, no event (ours + others)`, unit: '%', get: (r) => r.cpu?.machinePct },
  { key: 'cpu.others', scenario: 'control', label: `CPU used by other processes then`, unit: '%', get: (r) => (r.cpu ? Math.max(0, r.cpu.machinePct - r.cpu.browsersPct) : null) },
];

/**
 * The figures alone, small enough to keep in the repository (media.json holds every viewer and
 * timeline of every run): set-up, each figure's median, min, max and per-run values by policy,
 * and each run's duration and load.
 */
export function figuresJson(result) {
  const { runs, figures: agg, ...head } = result;
  return {
    ...head,
    figures: agg,
    runs: runs.map((r) => ({ run: r.run, policy: r.policy, error: r.error, durationS: r.durationS, load: r.load, cpu: r.cpu, cpuAll: r.cpuAll })),
  };
}

/** Per policy and figure: { median, min, max, n, runs, censored }. */
export function aggregate(runs, policies, ctx) {
  const out = {};
  for (const policy of policies) {
    const mine = runs.filter((r) => r.policy === policy && !r.error);
    out[policy] = {};
    for (const f of figures(ctx)) {
      const a = across(mine.map((r) => { const v = f.get(r); return v == null ? null : v; }));
      a.censored = f.censored ? mine.filter((r) => f.censored(r)).length : 0;
      out[policy][f.key] = a;
    }
    out[policy].latencyByDepth = byDepthAcross(mine, (r) => r.latency?.byDepth);
    out[policy].latencyEarlyByDepth = byDepthAcross(mine, (r) => r.latencyEarly?.byDepth);
    out[policy].psnrByDepth = byDepthAcross(mine, (r) => r.quality?.byDepth);
    out[policy].fpsByAudience = byDepthAcross(mine, (r) => Object.fromEntries((r.scale?.curve ?? []).map((c) => [c.audience, c.minFps])));
  }
  return out;
}

function byDepthAcross(runs, get) {
  const keys = new Set();
  for (const r of runs) for (const k of Object.keys(get(r) ?? {})) keys.add(Number(k));
  const out = {};
  for (const k of [...keys].sort((a, b) => a - b)) out[k] = across(runs.map((r) => get(r)?.[k] ?? null));
  return out;
}

const num = (x, unit) => {
  if (x == null || !Number.isFinite(x)) return '-';
  const digits = unit === 'x' || unit === 'dB' ? 2 : Math.abs(x) < 10 && unit !== 'viewers' && unit !== '' ? 1 : 0;
  return round(x, digits).toLocaleString('en-US');
};

function cell(a, unit) {
  if (!a || a.n === 0) return '-';
  const ge = a.censored ? '>=' : '';
  return `${ge}${num(a.median, unit)} [${num(a.min, unit)}-${num(a.max, unit)}]`;
}

function ratio(seed, treecast) {
  if (!seed?.n || !treecast?.n || !treecast.median) return '-';
  return `${round(seed.median / treecast.median, 2)}`;
}

/** Rows of [scenario, figure, target, treecast, seed, seed/treecast]. */
export function tableRows(agg, policies, ctx) {
  return figures(ctx).map((f) => [
    f.scenario, `${f.label}${f.unit ? ` (${f.unit})` : ''}`, f.target ?? '',
    ...policies.map((p) => cell(agg[p]?.[f.key], f.unit)),
    policies.length === 2 ? ratio(agg[policies[1]]?.[f.key], agg[policies[0]]?.[f.key]) : '',
  ]);
}

export function textTable(agg, policies, ctx) {
  const head = ['scenario', 'figure', 'target', ...policies.map((p) => `${p} median [min-max]`), policies.length === 2 ? `${policies[1]}/${policies[0]}` : ''];
  const rows = [head, ...tableRows(agg, policies, ctx)];
  const widths = head.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r, j) => {
    const line = r.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd();
    return j === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

export function markdownTable(agg, policies, ctx) {
  const head = ['scenario', 'figure', 'target', ...policies.map((p) => `${p} median [min-max]`), policies.length === 2 ? `${policies[1]} / ${policies[0]}` : ''];
  const esc = (c) => String(c).replace(/\|/g, '\\|').replace(/>=/g, '≥').replace(/<=/g, '≤').replace(/->/g, '→');
  return [head, head.map(() => '---'), ...tableRows(agg, policies, ctx)].map((r) => `| ${r.map(esc).join(' | ')} |`).join('\n');
}

// ---- SVG -----------------------------------------------------------------------------------

const COLORS = { treecast: '#1f6fb4', seed: '#c8402a' };
const color = (p) => COLORS[p] ?? '#555';
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const PW = 440;
const PH = 250;
const M = { l: 56, r: 12, t: 34, b: 42 };

function axisTicks(lo, hi, log) {
  if (log) {
    const out = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
    return out;
  }
  const span = hi - lo || 1;
  const step = 10 ** Math.floor(Math.log10(span / 4));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => span / s <= 6) ?? step * 10;
  const out = [];
  for (let v = Math.ceil(lo / nice) * nice; v <= hi + 1e-9; v += nice) out.push(round(v, 6));
  return out;
}

function panel({ x, y, title, ylabel, lo, hi, log = false, body, xTicks = [], xlabel = '' }) {
  const w = PW - M.l - M.r;
  const h = PH - M.t - M.b;
  const sy = (v) => {
    const t = log ? (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : (v - lo) / (hi - lo || 1);
    return M.t + h - Math.max(0, Math.min(1, t)) * h;
  };
  const parts = [`<g transform="translate(${x},${y})">`,
    `<text x="${PW / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(title)}</text>`,
    `<text transform="translate(14,${M.t + h / 2}) rotate(-90)" text-anchor="middle">${esc(ylabel)}</text>`];
  for (const t of axisTicks(lo, hi, log)) {
    if (t < lo - 1e-9 || t > hi + 1e-9) continue;
    parts.push(`<line x1="${M.l}" x2="${M.l + w}" y1="${sy(t)}" y2="${sy(t)}" stroke="#ddd"/>`,
      `<text x="${M.l - 4}" y="${sy(t) + 4}" text-anchor="end" font-size="10">${t.toLocaleString('en-US')}</text>`);
  }
  parts.push(`<line x1="${M.l}" x2="${M.l}" y1="${M.t}" y2="${M.t + h}" stroke="#333"/>`, `<line x1="${M.l}" x2="${M.l + w}" y1="${M.t + h}" y2="${M.t + h}" stroke="#333"/>`);
  for (const [tx, label] of xTicks) parts.push(`<text x="${tx}" y="${M.t + h + 14}" text-anchor="middle" font-size="10">${esc(label)}</text>`);
  if (xlabel) parts.push(`<text x="${M.l + w / 2}" y="${PH - 6}" text-anchor="middle" font-size="11">${esc(xlabel)}</text>`);
  parts.push(body({ sy, w, h }), '</g>');
  return parts.join('\n');
}

/** Grouped bars (median) with min-max whiskers; `groups`: [{ label, target, values: { policy: agg } }]. */
function barPanel({ x, y, title, ylabel, groups, policies, log = false }) {
  const all = groups.flatMap((g) => policies.flatMap((p) => [g.values[p]?.max, g.values[p]?.median, g.target])).filter((v) => Number.isFinite(v) && v > 0);
  const hi = log ? 10 ** Math.ceil(Math.log10(Math.max(...all, 10))) : Math.max(...all, 1) * 1.15;
  const lo = log ? Math.max(1, 10 ** Math.floor(Math.log10(Math.min(...all, hi) * 0.9))) : 0;
  const w = PW - M.l - M.r;
  const gw = w / groups.length;
  const bw = Math.min(34, (gw * 0.7) / policies.length);
  const xTicks = groups.map((g, i) => [M.l + gw * (i + 0.5), g.label]);
  return panel({ x, y, title, ylabel, lo, hi, log, xTicks, body: ({ sy }) => groups.map((g, i) => {
    const out = [];
    policies.forEach((p, j) => {
      const a = g.values[p];
      if (!a?.n) return;
      const bx = M.l + gw * (i + 0.5) + (j - policies.length / 2) * bw;
      const cx = bx + bw / 2;
      out.push(`<rect x="${bx + 1}" y="${sy(a.median)}" width="${bw - 2}" height="${Math.max(0, sy(lo) - sy(a.median))}" fill="${color(p)}" opacity="0.85"><title>${esc(`${p} ${g.label}: median ${round(a.median, 1)}, min ${round(a.min, 1)}, max ${round(a.max, 1)}${a.censored ? ' (censored)' : ''}`)}</title></rect>`,
        `<line x1="${cx}" x2="${cx}" y1="${sy(a.min)}" y2="${sy(a.max)}" stroke="#111"/>`,
        `<line x1="${cx - 4}" x2="${cx + 4}" y1="${sy(a.min)}" y2="${sy(a.min)}" stroke="#111"/>`,
        `<line x1="${cx - 4}" x2="${cx + 4}" y1="${sy(a.max)}" y2="${sy(a.max)}" stroke="#111"/>`);
    });
    if (Number.isFinite(g.target)) {
      const tx0 = M.l + gw * i + gw * 0.1;
      out.push(`<line x1="${tx0}" x2="${tx0 + gw * 0.8}" y1="${sy(g.target)}" y2="${sy(g.target)}" stroke="#2a2" stroke-dasharray="4 3" stroke-width="1.5"><title>target ${g.target}</title></line>`);
    }
    return out.join('\n');
  }).join('\n') });
}

/** Lines of the median by x with a min-max band; `lines`: [{ label, color, dash, data: { x: agg } }]. */
function linePanel({ x, y, title, ylabel, xlabel, lines, target }) {
  const xs = [...new Set(lines.flatMap((l) => Object.keys(l.data ?? {}).map(Number)))].sort((a, b) => a - b);
  const vals = lines.flatMap((l) => Object.values(l.data ?? {}).flatMap((a) => [a.min, a.max])).filter(Number.isFinite);
  if (Number.isFinite(target)) vals.push(target);
  if (!xs.length || !vals.length) return panel({ x, y, title, ylabel, lo: 0, hi: 1, body: () => '' });
  const span = Math.max(...vals) - Math.min(...vals) || 1;
  const lo = Math.max(0, Math.min(...vals) - span * 0.1);
  const hi = Math.max(...vals) + span * 0.1;
  const w = PW - M.l - M.r;
  const sx = (v) => M.l + (xs.length === 1 ? w / 2 : ((v - xs[0]) / (xs.at(-1) - xs[0])) * (w - 20) + 10);
  return panel({ x, y, title, ylabel, lo, hi, xlabel, xTicks: xs.map((v) => [sx(v), String(v)]), body: ({ sy }) => {
    const out = [];
    if (Number.isFinite(target)) out.push(`<line x1="${M.l}" x2="${M.l + w}" y1="${sy(target)}" y2="${sy(target)}" stroke="#2a2" stroke-dasharray="4 3" stroke-width="1.5"/>`);
    lines.forEach((l, i) => {
      const pts = xs.filter((v) => l.data?.[v]?.n).map((v) => [v, l.data[v]]);
      if (!pts.length) return;
      const band = [...pts.map(([v, a]) => `${sx(v)},${sy(a.max)}`), ...[...pts].reverse().map(([v, a]) => `${sx(v)},${sy(a.min)}`)].join(' ');
      const last = pts.at(-1);
      out.push(`<polygon points="${band}" fill="${l.color}" opacity="0.12"/>`,
        `<polyline points="${pts.map(([v, a]) => `${sx(v)},${sy(a.median)}`).join(' ')}" fill="none" stroke="${l.color}" stroke-width="2"${l.dash ? ' stroke-dasharray="5 3"' : ''}/>`,
        ...pts.map(([v, a]) => `<circle cx="${sx(v)}" cy="${sy(a.median)}" r="3" fill="${l.color}"><title>${esc(`${l.label} ${v}: median ${round(a.median, 1)} [${round(a.min, 1)}-${round(a.max, 1)}]`)}</title></circle>`));
      if (lines.length > 2 || l.dash) out.push(`<text x="${M.l + 6}" y="${M.t + 12 + 12 * i}" font-size="10" fill="${l.color}">${esc(l.label)}</text>`);
    });
    return out.join('\n');
  } });
}

export function svgChart(agg, policies, setup, { all: viewers = 12, main = 8 } = {}) {
  const v = (key) => Object.fromEntries(policies.map((p) => [p, agg[p]?.[key]]));
  const panels = [
    (x, y) => barPanel({ x, y, title: 'Largest frame gap at the affected viewers', ylabel: 'ms (log scale)', policies, log: true, groups: [
      { label: 'relay leaves', target: 100, values: v('leave.worst') },
      { label: 'relay crashes', target: 500, values: v('crash.worst') },
      { label: 'broadcaster reloads', target: 1500, values: v('reload.recovery') },
      { label: `no event (${main})`, values: v('steady.gap') },
    ] }),
    (x, y) => barPanel({ x, y, title: 'Joining: to the first presented frame', ylabel: 'ms', policies, groups: [
      { label: `${main} one by one, p50`, target: 250, values: v('join.p50') },
      { label: `${main} one by one, p95`, values: v('join.p95') },
      { label: `storm of ${viewers}, p95`, target: 2000, values: v('storm.p95') },
    ] }),
    (x, y) => linePanel({ x, y, title: 'Glass-to-glass latency by depth', ylabel: 'ms', xlabel: 'depth (hops from the broadcaster)', lines: policies.flatMap((p) => [
      { label: `${p}, ${main} viewers`, color: color(p), data: agg[p]?.latencyByDepth },
      { label: `${p}, 4 viewers`, color: color(p), dash: true, data: agg[p]?.latencyEarlyByDepth },
    ]) }),
    (x, y) => linePanel({ x, y, title: 'Picture quality by depth (PSNR, luma)', ylabel: 'dB', xlabel: 'depth', lines: policies.map((p) => ({ label: p, color: color(p), data: agg[p]?.psnrByDepth })) }),
    (x, y) => linePanel({ x, y, title: 'Slowest viewer\'s frame rate as viewers join', ylabel: 'fps', xlabel: 'audience', target: 20, lines: policies.map((p) => ({ label: p, color: color(p), data: agg[p]?.fpsByAudience })) }),
    (x, y) => barPanel({ x, y, title: 'Broadcaster upload', ylabel: 'kB/s', policies, groups: [
      { label: '1 viewer', values: v('uplink.one') },
      { label: `${viewers} viewers`, values: v('uplink.full') },
    ] }),
  ];
  const cols = 2;
  const rows = Math.ceil(panels.length / cols);
  const W = PW * cols;
  const lines = wrap(setup, 130);
  const top = 30 + 14 * lines.length;
  const H = top + PH * rows + 28;
  const legend = policies.map((p, i) => `<rect x="${16 + i * 150}" y="${H - 22}" width="12" height="12" fill="${color(p)}"/><text x="${32 + i * 150}" y="${H - 12}">${esc(p === 'seed' ? 'seed (the 2017 library)' : p)}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${W / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">treecast media benchmark: real Chromium, real extension, loopback</text>
${lines.map((l, i) => `<text x="${W / 2}" y="${38 + 14 * i}" text-anchor="middle" font-size="11">${esc(l)}</text>`).join('\n')}
${panels.map((f, i) => f((i % cols) * PW, top + Math.floor(i / cols) * PH)).join('\n')}
${legend}<text x="${W - 12}" y="${H - 12}" text-anchor="end" font-size="10">bars and points: median of runs; whiskers and bands: min to max; dashed green: target</text>
</svg>
`;
}

function wrap(text, width) {
  const lines = [''];
  for (const word of text.split(' ')) {
    if (lines.at(-1).length + word.length + 1 > width && lines.at(-1)) lines.push('');
    lines[lines.length - 1] += (lines.at(-1) ? ' ' : '') + word;
  }
  return lines;
}
