/**
 * Error rate: a route whose 5xx ratio is over the error-rate objective with enough traffic to judge. The burn
 * rate (ratio ÷ objective) is in the evidence; the multi-window burn-rate alerts (SRE workbook 14.4×/6×) are
 * Grafana's job, generated from the same SLO file.
 */

import type { Draft } from '../facts.ts';
import {
  CRITICAL_ERROR_FACTOR,
  draft,
  evidenceQueries,
  findingId,
  formatNumber,
  formatPercent,
  formatRate,
  formatSeconds,
  isNumber,
  routeSubject,
  severityFor,
} from '../findings.ts';
import type { DetectorLimits } from '../limits.ts';
import type { Snapshot } from '../types.ts';

/**
 * Fewer failed requests than this in the whole window is not a pattern: at the minimum traffic a single stray
 * 502 would already be over 1 %.
 */
export const MIN_FAILED_REQUESTS = 3;

export function detect(snapshot: Snapshot, limits: DetectorLimits): Draft<'error-rate'>[] {
  const { ratio: limit, minRequestRatePerS: minRate } = limits.errorRate;
  const findings: Draft<'error-rate'>[] = [];
  for (const r of snapshot.routes) {
    if (!isNumber(r.requestRate) || r.requestRate <= 0 || r.requestRate < minRate) continue;
    if (!isNumber(r.errorRate) || r.errorRate <= 0) continue;
    const ratio = Math.min(r.errorRate / r.requestRate, 1);
    if (ratio <= limit) continue;
    const failed = r.errorRate * snapshot.windowSeconds;
    if (snapshot.windowSeconds > 0 && failed < MIN_FAILED_REQUESTS) continue;
    const subject = routeSubject(r);
    const waited = Math.max(isNumber(r.p95Seconds) ? r.p95Seconds : 0, limits.slowEndpoint.p95Seconds);
    // Impact: each failed request wastes at least the time its user waited (p95, and no less than the objective).
    const impact = r.errorRate * waited;
    const burn = ratio / limit;
    findings.push(
      draft({
        id: findingId('error-rate', r.service, subject),
        kind: 'error-rate',
        layer: 'api',
        service: r.service,
        subject,
        severity: severityFor(ratio, limit, CRITICAL_ERROR_FACTOR),
        impact,
        title: `${subject} fails ${formatPercent(ratio)} of requests (5xx) vs the ${formatPercent(limit)} objective at ${formatRate(r.requestRate)}`,
        summary:
          `Over the last ${snapshot.window}, ${formatPercent(ratio)} of ${subject} requests on ${r.service} ` +
          `(${formatNumber(r.errorRate)} of ${formatRate(r.requestRate)}) answered with a 5xx status: the error ` +
          `budget burns ${formatNumber(burn)}× faster than the ${formatPercent(limit)} objective allows. Each ` +
          `failure costs its user at least the ${formatSeconds(waited)} they waited: ${impact.toFixed(2)} s of ` +
          `user time lost per second.`,
        facts: {
          route: subject,
          error_ratio: ratio,
          limit_error_ratio: limit,
          errors_per_s: r.errorRate,
          rate_per_s: r.requestRate,
          burn_rate_x: burn,
          ...(snapshot.windowSeconds > 0 ? { failed_requests: Math.round(failed) } : {}),
          ...(isNumber(r.p95Seconds) ? { p95_s: r.p95Seconds } : {}),
        },
        evidence: {
          window: snapshot.window,
          queries: evidenceQueries(snapshot, ['routes.errors', 'routes.rate', 'routes.p95']),
        },
      }),
    );
  }
  return findings;
}
