/**
 * Is the heap that survives GC growing, or levelling off? The points are the heap right after each major
 * (mark-compact) collection (`hotpath.v8js.heap.live`): between two of them the heap in use also holds garbage
 * promoted since, and V8 can go minutes without one while the old space grows into a raised limit, so any
 * envelope of heap-in-use climbs in a healthy process. A process warming up (caches filling, the JIT, pools
 * opening) grows fast and then flattens; a leak keeps growing. Both models are fitted — a straight line, a curve
 * that saturates (c − d·e^(−t/τ), τ searched on a grid), and the two together (a warm-up followed by a leak) —
 * and the one with the lowest Akaike information criterion (residuals, penalised per parameter) wins. The growth
 * reported is the winner's slope at the end of the window: a levelled warm-up has almost none, a leak after its
 * warm-up keeps its slope. With fewer points than the curves have parameters plus two, only the line is fitted.
 */

/** Fewer collections than this give no trend: two points make a line with nothing to check it against. */
export const MIN_COLLECTIONS = 3;
/** The curves (3 and 4 parameters) are compared only with at least this many points. */
export const MIN_POINTS_FOR_CURVES = 6;

/**
 * A gauge sampled at a step repeats its value until the next collection changes it: one point per collection,
 * at the first step that saw it. Non-finite values (gaps) are dropped.
 */
export function collections(points: readonly (readonly [number, number])[]): [number, number][] {
  const out: [number, number][] = [];
  for (const [t, v] of points) {
    if (!Number.isFinite(v)) continue;
    if (out.length > 0 && (out.at(-1) as [number, number])[1] === v) continue;
    out.push([t, v]);
  }
  return out;
}

export interface HeapTrend {
  /** Bytes per hour at the end of the window, by the better model. */
  readonly bytesPerHour: number;
  readonly model: 'linear' | 'levelling' | 'warm-up then linear';
  /**
   * Seconds from the first collection to the last: what the trend saw, which is less than the window when the
   * process is younger than it or V8 went a while without a major collection.
   */
  readonly seconds: number;
}

interface Fit {
  readonly sse: number;
  readonly slopeAtEnd: number;
}

/** Least squares y = a + b·x; the slope is b. */
function linear(xs: readonly number[], ys: readonly number[]): { a: number; b: number; sse: number } {
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    sxx += ((xs[i] as number) - mx) ** 2;
  }
  const b = sxx === 0 ? 0 : sxy / sxx;
  const a = my - b * mx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += ((ys[i] as number) - a - b * (xs[i] as number)) ** 2;
  return { a, b, sse };
}

/** The best c − d·e^(−t/τ) over a grid of τ (from a tenth of the span to twice it), by least squares in c, d. */
function saturating(ts: readonly number[], ys: readonly number[]): Fit | null {
  const t0 = ts[0] as number;
  const span = (ts.at(-1) as number) - t0;
  if (span <= 0) return null;
  let best: Fit | null = null;
  for (let i = 0; i <= 24; i++) {
    const tau = span * 0.1 * 20 ** (i / 24);
    const us = ts.map((t) => Math.exp(-(t - t0) / tau));
    // y = c + k·u with k = −d: linear in u.
    const { b: k, sse } = linear(us, ys);
    const slopeAtEnd = (-k / tau) * (us.at(-1) as number);
    if (best === null || sse < best.sse) best = { sse, slopeAtEnd };
  }
  return best;
}

/** Least squares y = c + k·u + b·x (normal equations, Cramer's rule); null when singular. */
function plane(
  us: readonly number[],
  xs: readonly number[],
  ys: readonly number[],
): { k: number; b: number; sse: number } | null {
  const n = ys.length;
  let su = 0,
    sx = 0,
    sy = 0,
    suu = 0,
    sxx = 0,
    sux = 0,
    suy = 0,
    sxy = 0;
  for (let i = 0; i < n; i++) {
    const u = us[i] as number,
      x = xs[i] as number,
      y = ys[i] as number;
    su += u;
    sx += x;
    sy += y;
    suu += u * u;
    sxx += x * x;
    sux += u * x;
    suy += u * y;
    sxy += x * y;
  }
  const det3 = (m: readonly number[]) =>
    (m[0] as number) * ((m[4] as number) * (m[8] as number) - (m[5] as number) * (m[7] as number)) -
    (m[1] as number) * ((m[3] as number) * (m[8] as number) - (m[5] as number) * (m[6] as number)) +
    (m[2] as number) * ((m[3] as number) * (m[7] as number) - (m[4] as number) * (m[6] as number));
  const a = [n, su, sx, su, suu, sux, sx, sux, sxx];
  const d = det3(a);
  if (Math.abs(d) < 1e-12) return null;
  const c = det3([sy, su, sx, suy, suu, sux, sxy, sux, sxx]) / d;
  const k = det3([n, sy, sx, su, suy, sux, sx, sxy, sxx]) / d;
  const b = det3([n, su, sy, su, suu, suy, sx, sux, sxy]) / d;
  let sse = 0;
  for (let i = 0; i < n; i++)
    sse += ((ys[i] as number) - c - k * (us[i] as number) - b * (xs[i] as number)) ** 2;
  return { k, b, sse };
}

/** The best c − d·e^(−t/τ) + b·t over the same grid of τ. */
function warmupThenLinear(ts: readonly number[], ys: readonly number[]): Fit | null {
  const t0 = ts[0] as number;
  const span = (ts.at(-1) as number) - t0;
  if (span <= 0) return null;
  const xs = ts.map((t) => t - t0);
  let best: Fit | null = null;
  for (let i = 0; i <= 24; i++) {
    const tau = span * 0.1 * 20 ** (i / 24);
    const us = xs.map((x) => Math.exp(-x / tau));
    const fit = plane(us, xs, ys);
    if (fit === null) continue;
    const slopeAtEnd = fit.b + (-fit.k / tau) * (us.at(-1) as number);
    if (best === null || fit.sse < best.sse) best = { sse: fit.sse, slopeAtEnd };
  }
  return best;
}

function aic(sse: number, n: number, parameters: number): number {
  return n * Math.log(Math.max(sse, 1e-9) / n) + 2 * parameters;
}

/** `points` are [unix seconds, bytes], one per collection, in time order; null with too few to make a trend. */
export function heapTrend(points: readonly (readonly [number, number])[]): HeapTrend | null {
  if (points.length < MIN_COLLECTIONS) return null;
  const ts = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const n = points.length;
  const seconds = (ts.at(-1) as number) - (ts[0] as number);
  const line = linear(ts, ys);
  const candidates: { model: HeapTrend['model']; aic: number; slope: number }[] = [
    { model: 'linear', aic: aic(line.sse, n, 2), slope: line.b },
  ];
  if (n < MIN_POINTS_FOR_CURVES) return { bytesPerHour: line.b * 3600, model: 'linear', seconds };
  const curve = saturating(ts, ys);
  if (curve !== null)
    candidates.push({ model: 'levelling', aic: aic(curve.sse, n, 3), slope: curve.slopeAtEnd });
  const both = warmupThenLinear(ts, ys);
  if (both !== null) {
    candidates.push({ model: 'warm-up then linear', aic: aic(both.sse, n, 4), slope: both.slopeAtEnd });
  }
  const best = candidates.reduce((a, b) => (b.aic < a.aic ? b : a));
  return { bytesPerHour: best.slope * 3600, model: best.model, seconds };
}
