/**
 * The tests `hotpath compare` decides with. Each answers one question, one-sided (is the candidate worse?), and
 * comes with an effect size, because with thousands of requests a test alone calls a 1 % shift significant:
 *
 * - latency: the Mann–Whitney U test on the two runs' histogram buckets (each request counts as its bucket;
 *   requests in one bucket are ties). Latency is skewed, often bimodal, never normal, and a bucketed histogram
 *   is all Prometheus keeps of a window: a rank test needs neither a distribution nor the raw values. Effect:
 *   Vargha–Delaney A (the probability that a candidate request is slower than a baseline one), "medium" from
 *   0.64 (Vargha & Delaney 2000, "A critique and improvement of the CL common language effect size statistics
 *   of McGraw and Wong", J. Educ. Behav. Stat. 25(2)).
 * - a tail (p95) that grew while the bulk did not: the share of requests above the baseline's p95 bucket, and
 *   an error rate: two proportions, a one-sided z test. Effect: Cohen's h, "small" from 0.2 (Cohen 1988,
 *   "Statistical Power Analysis for the Behavioral Sciences", ch. 6).
 * - a rate (throughput, calls per request): counts over exposures (seconds, requests), compared as two
 *   Poisson rates with the conditional binomial test (Przyborowski & Wilenski 1940), effect Cohen's h between
 *   the observed share and the share equal rates give.
 * - a statement's mean: Welch's z on the two windows' means and standard deviations (pg_stat_statements keeps
 *   no distribution; with ≥ 30 calls a side the means are near normal). Effect: Cohen's d, "medium" from 0.5.
 *
 * Many routes and statements are compared at once, so the p-values are corrected with Holm–Bonferroni (Holm
 * 1979): the chance of any false alarm in a whole comparison stays under α.
 */

/** The complementary error function, fractional error < 1.2e-7 (Numerical Recipes, 2nd ed., §6.2, `erfcc`). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** P(Z > z) for a standard normal Z. */
export function normalSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

export interface RankTest {
  /** U of the candidate: pairs where the candidate is slower, ties counted half. */
  readonly u: number;
  readonly z: number;
  /** One-sided: the candidate is slower. */
  readonly p: number;
  /** Vargha–Delaney A = U / (n₁ n₂): 0.5 is no difference, 1 every candidate request slower. */
  readonly a: number;
}

/**
 * The Mann–Whitney U test on two samples given as counts per ordered bucket (the same buckets on both sides):
 * mid-ranks for ties, the tie-corrected variance, the normal approximation with continuity correction (as
 * scipy's `mannwhitneyu(method='asymptotic')`). Valid from about 20 observations a side.
 */
export function mannWhitney(baseline: readonly number[], candidate: readonly number[]): RankTest {
  if (baseline.length !== candidate.length) throw new Error('both samples need the same buckets');
  const n1 = baseline.reduce((s, c) => s + c, 0);
  const n2 = candidate.reduce((s, c) => s + c, 0);
  if (n1 === 0 || n2 === 0) return { u: 0, z: 0, p: 1, a: 0.5 };
  let below = 0; // baseline observations in lower buckets
  let u = 0;
  let ties = 0;
  for (let i = 0; i < baseline.length; i++) {
    const b = baseline[i] ?? 0;
    const c = candidate[i] ?? 0;
    u += c * (below + b / 2);
    below += b;
    const t = b + c;
    ties += t ** 3 - t;
  }
  const n = n1 + n2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  if (!(variance > 0)) return { u, z: 0, p: 1, a: u / (n1 * n2) };
  const z = (u - mean - 0.5) / Math.sqrt(variance);
  return { u, z, p: normalSf(z), a: u / (n1 * n2) };
}

export interface ProportionTest {
  readonly z: number;
  /** One-sided: the candidate's proportion is larger. */
  readonly p: number;
  /** Cohen's h = 2 asin √p₂ − 2 asin √p₁. */
  readonly h: number;
}

const arcsine = (p: number) => 2 * Math.asin(Math.sqrt(Math.min(1, Math.max(0, p))));

/** Is x₂/n₂ larger than x₁/n₁? The pooled two-proportion z test. */
export function proportionIncrease(x1: number, n1: number, x2: number, n2: number): ProportionTest {
  if (n1 <= 0 || n2 <= 0) return { z: 0, p: 1, h: 0 };
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const pooled = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  const h = arcsine(p2) - arcsine(p1);
  if (!(se > 0)) return { z: 0, p: p2 > p1 ? 0 : 1, h };
  const z = (p2 - p1) / se;
  return { z, p: normalSf(z), h };
}

export interface RateTest {
  /** The candidate's rate over the baseline's. */
  readonly ratio: number;
  readonly z: number;
  /** One-sided, in the direction asked. */
  readonly p: number;
  /** Cohen's h between the candidate's share of all counts and the share equal rates would give. */
  readonly h: number;
}

/**
 * Two Poisson rates, c₁ per e₁ and c₂ per e₂: given c₁ + c₂, c₂ is binomial with p₀ = e₂ / (e₁ + e₂) when the
 * rates are equal. `direction` is what counts as worse: a lower rate (throughput) or a higher one (calls).
 */
export function rateChange(
  c1: number,
  e1: number,
  c2: number,
  e2: number,
  direction: 'lower' | 'higher',
): RateTest {
  const total = c1 + c2;
  const ratio = c1 > 0 && e2 > 0 ? c2 / e2 / (c1 / e1) : c2 > 0 ? Number.POSITIVE_INFINITY : 1;
  if (total === 0 || e1 <= 0 || e2 <= 0) return { ratio, z: 0, p: 1, h: 0 };
  const p0 = e2 / (e1 + e2);
  const share = c2 / total;
  const z = (c2 - total * p0) / Math.sqrt(total * p0 * (1 - p0));
  const signed = direction === 'higher' ? z : -z;
  const h = arcsine(share) - arcsine(p0);
  return { ratio, z, p: normalSf(signed), h: direction === 'higher' ? h : -h };
}

export interface MeanTest {
  readonly z: number;
  /** One-sided: the candidate's mean is larger. */
  readonly p: number;
  /** Cohen's d with the two sides' pooled standard deviation. */
  readonly d: number;
}

/** Is the candidate's mean larger? Welch's statistic from each side's count, mean and standard deviation. */
export function meanIncrease(
  baseline: { readonly n: number; readonly mean: number; readonly sd: number },
  candidate: { readonly n: number; readonly mean: number; readonly sd: number },
): MeanTest {
  const diff = candidate.mean - baseline.mean;
  const se = Math.sqrt(baseline.sd ** 2 / baseline.n + candidate.sd ** 2 / candidate.n);
  const pooled = Math.sqrt((baseline.sd ** 2 + candidate.sd ** 2) / 2);
  const d = pooled > 0 ? diff / pooled : diff > 0 ? Number.POSITIVE_INFINITY : 0;
  if (!(se > 0)) return { z: 0, p: diff > 0 ? 0 : 1, d };
  const z = diff / se;
  return { z, p: normalSf(z), d };
}

/**
 * Holm–Bonferroni: which of `pValues` are rejected at family-wise level `alpha`. Sorted ascending, the k-th
 * smallest (from 0) is compared with alpha / (m − k), stopping at the first that is not below.
 */
export function holm(pValues: readonly number[], alpha: number): boolean[] {
  const order = pValues.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p);
  const rejected = pValues.map(() => false);
  const m = pValues.length;
  for (let k = 0; k < m; k++) {
    const entry = order[k];
    if (entry === undefined || !(entry.p < alpha / (m - k))) break;
    rejected[entry.i] = true;
  }
  return rejected;
}

/**
 * A histogram's quantile as Prometheus's `histogram_quantile` computes it: linear within the bucket, the lowest
 * bucket from 0, and the bucket's lower bound when the quantile falls in the +Inf bucket. `bounds` are the upper
 * bounds (the last may be Infinity), `counts` per bucket (not cumulative).
 */
export function bucketQuantile(
  q: number,
  bounds: readonly number[],
  counts: readonly number[],
): number | null {
  const total = counts.reduce((s, c) => s + c, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < bounds.length; i++) {
    const c = counts[i] ?? 0;
    const upper = bounds[i] ?? Number.POSITIVE_INFINITY;
    const lower = i === 0 ? 0 : (bounds[i - 1] ?? 0);
    if (seen + c >= rank && c > 0) {
      if (!Number.isFinite(upper)) return lower;
      return lower + (upper - lower) * ((rank - seen) / c);
    }
    seen += c;
  }
  return bounds.at(-2) ?? null;
}
