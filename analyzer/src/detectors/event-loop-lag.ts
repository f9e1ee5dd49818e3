/**
 * Event-loop lag: an instance whose event loop is blocked (p99 delay over the objective) or saturated
 * (utilisation over the objective), Clinic Doctor's two signs that JavaScript holds the only thread requests
 * are served on.
 */
import {
  evidenceQueries,
  findingId,
  formatPercent,
  formatRate,
  formatSeconds,
  isNumber,
  serviceRequestRate,
  severityFor,
} from '../findings.ts';
import type { DetectorLimits } from '../limits.ts';
import { withRecommendations } from '../recommend.ts';
import type { Finding, Snapshot } from '../types.ts';

export function detect(snapshot: Snapshot, limits: DetectorLimits): Finding[] {
  const { p99Seconds: limit, utilization: utilizationLimit } = limits.eventLoop;
  const findings: Finding[] = [];
  for (const rt of snapshot.runtime) {
    const delay = isNumber(rt.eventLoopP99Seconds) ? rt.eventLoopP99Seconds : null;
    const utilization = isNumber(rt.eventLoopUtilization) ? rt.eventLoopUtilization : null;
    const blocked = delay !== null && delay > limit;
    const saturated = utilization !== null && utilization > utilizationLimit;
    if (!blocked && !saturated) continue;

    const instances = snapshot.runtime.filter((x) => x.service === rt.service).length;
    const rate = serviceRequestRate(snapshot, rt.service) / Math.max(instances, 1);
    const waited = delay ?? 0;
    // Impact: every request of this instance (the service's rate split evenly over its instances) is taken to
    // wait the p99 delay, an upper bound; without route data, a nominal one request per second.
    const impact = (rate > 0 ? rate : 1) * waited;

    const values: Record<string, number> = {
      limit_event_loop_p99_s: limit,
      limit_utilization_ratio: utilizationLimit,
    };
    if (delay !== null) values.event_loop_p99_s = delay;
    if (utilization !== null) values.event_loop_utilization_ratio = utilization;
    if (rate > 0) values.instance_rate_per_s = rate;

    const what = blocked
      ? `blocked: p99 delay ${formatSeconds(delay ?? 0)} vs the ${formatSeconds(limit)} objective`
      : `saturated: utilisation ${formatPercent(utilization ?? 0)} vs the ${formatPercent(utilizationLimit)} objective`;
    const also = blocked && utilization !== null ? ` Its utilisation was ${formatPercent(utilization)}.` : '';
    const cost =
      rate > 0 && waited > 0
        ? ` At ${formatRate(rate)} on this instance, requests lose up to ${impact.toFixed(2)} s per second waiting for the loop.`
        : '';
    findings.push(
      withRecommendations(
        {
          id: findingId('event-loop-lag', rt.service, rt.instance),
          kind: 'event-loop-lag',
          layer: 'runtime',
          service: rt.service,
          subject: rt.instance,
          // Only delay can be "well past" its objective: utilisation cannot reach twice 95 %.
          severity: blocked ? severityFor(delay ?? 0, limit) : 'warning',
          impact,
          title: `The event loop of ${rt.service} on ${rt.instance} is ${what}`,
          summary:
            `Over the last ${snapshot.window}, ${rt.service} (${rt.instance}) ran synchronous work long enough ` +
            `that callbacks, and with them every request, waited for the single JavaScript thread.${also}${cost}`,
          evidence: {
            values,
            window: snapshot.window,
            queries: evidenceQueries(snapshot, [
              'runtime.eventLoopP99',
              'runtime.eventLoopUtilization',
              'routes.rate',
            ]),
          },
        },
        snapshot,
      ),
    );
  }
  return findings;
}
