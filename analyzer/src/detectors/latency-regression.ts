/**
 * Latency regression: a route whose p95 rose against the baseline window (the same length, just before) by at
 * least +20 % and +50 ms (Sentry: +10 % and +200 ms), with enough traffic in both windows. A route that is now
 * over its objective is the slow-endpoint detector's (its summary names the baseline): one problem, one finding.
 */

import type { Draft } from '../facts.ts';
import {
  draft,
  evidenceQueries,
  findingId,
  formatPercent,
  formatRate,
  formatSeconds,
  isNumber,
  routeSubject,
} from '../findings.ts';
import type { DetectorLimits } from '../limits.ts';
import type { Snapshot } from '../types.ts';

/** p95 must be at least this multiple of the baseline p95… */
export const REGRESSION_RATIO = 1.2;
/** …and at least this many seconds above it, so fast routes' jitter (2 → 3 ms) is not a regression. */
export const REGRESSION_MIN_INCREASE_S = 0.05;
/** A route twice as slow as before is a warning; a smaller rise within the objective is information. */
const WARNING_RATIO = 2;

export function detect(snapshot: Snapshot, limits: DetectorLimits): Draft<'latency-regression'>[] {
  const { p95Seconds: objective, minRequestRatePerS: minRate } = limits.slowEndpoint;
  const findings: Draft<'latency-regression'>[] = [];
  for (const r of snapshot.routes) {
    const p95 = r.p95Seconds;
    const baseline = r.baselineP95Seconds;
    if (!isNumber(p95) || !isNumber(baseline) || baseline < 0) continue;
    if (!isNumber(r.requestRate) || r.requestRate <= 0 || r.requestRate < minRate) continue;
    // Unknown baseline traffic is given the benefit of the doubt; known thin traffic makes its p95 noise.
    if (isNumber(r.baselineRequestRate) && r.baselineRequestRate < minRate) continue;
    if (p95 > objective) continue;
    const increase = p95 - baseline;
    if (p95 < baseline * REGRESSION_RATIO || increase < REGRESSION_MIN_INCREASE_S) continue;
    const subject = routeSubject(r);
    // Impact: each request now waits the increase over the baseline.
    const impact = r.requestRate * increase;
    const rise = baseline > 0 ? ` (+${formatPercent(increase / baseline)})` : '';
    findings.push(
      draft({
        id: findingId('latency-regression', r.service, subject),
        kind: 'latency-regression',
        layer: 'api',
        service: r.service,
        subject,
        severity: p95 >= baseline * WARNING_RATIO ? 'warning' : 'info',
        impact,
        title: `${subject} got slower: p95 ${formatSeconds(p95)}, up from ${formatSeconds(baseline)}${rise} at ${formatRate(r.requestRate)}`,
        summary:
          `The p95 of ${subject} on ${r.service} rose from ${formatSeconds(baseline)} in the previous ` +
          `${snapshot.window} to ${formatSeconds(p95)} in the last ${snapshot.window}. It is still within the ` +
          `${formatSeconds(objective)} objective, but at ${formatRate(r.requestRate)} the rise costs ` +
          `${impact.toFixed(2)} s of user time per second; something changed (a deploy, data volume, a dependency).`,
        facts: {
          route: subject,
          p95_s: p95,
          baseline_p95_s: baseline,
          increase_s: increase,
          rate_per_s: r.requestRate,
          limit_p95_s: objective,
          ...(baseline > 0 ? { increase_ratio: increase / baseline } : {}),
          ...(isNumber(r.baselineRequestRate) ? { baseline_rate_per_s: r.baselineRequestRate } : {}),
        },
        evidence: {
          window: snapshot.window,
          queries: evidenceQueries(snapshot, [
            'routes.p95',
            'routes.baselineP95',
            'routes.rate',
            'routes.baselineRate',
          ]),
        },
      }),
    );
  }
  return findings;
}
