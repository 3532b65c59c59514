// Small statistics for the media benchmark: percentiles of one run, and the median with min and
// max across runs (the form every figure is reported in).

/** The p-th percentile (0..100) of `values` by linear interpolation; null when empty. */
export function percentile(values, p) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const pos = (v.length - 1) * (p / 100);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

export const median = (values) => percentile(values, 50);

export function max(values) {
  const v = values.filter((x) => Number.isFinite(x));
  return v.length ? Math.max(...v) : null;
}

/** { median, min, max, n, runs } over the per-run values (nulls are runs without a figure). */
export function across(values) {
  const v = values.filter((x) => Number.isFinite(x));
  return {
    median: median(v),
    min: v.length ? Math.min(...v) : null,
    max: v.length ? Math.max(...v) : null,
    n: v.length,
    runs: values.map((x) => (Number.isFinite(x) ? x : null)),
  };
}

/** Least-squares slope of y over x (e.g. latency per hop of depth); null with fewer than 2 distinct x. */
export function slope(points) {
  const p = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (new Set(p.map(([x]) => x)).size < 2) return null;
  const n = p.length;
  const mx = p.reduce((s, [x]) => s + x, 0) / n;
  const my = p.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of p) { num += (x - mx) * (y - my); den += (x - mx) ** 2; }
  return num / den;
}

/** Groups `[key, value]` pairs into key -> median of its values, keys ascending. */
export function medianBy(pairs) {
  const groups = new Map();
  for (const [k, v] of pairs) if (Number.isFinite(v)) groups.set(k, [...(groups.get(k) ?? []), v]);
  return new Map([...groups.entries()].sort((a, b) => a[0] - b[0]).map(([k, vs]) => [k, median(vs)]));
}

export const round = (x, digits = 0) => (x == null ? null : Math.round(x * 10 ** digits) / 10 ** digits);
