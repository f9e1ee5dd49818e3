/**
 * Event-loop lag: an instance whose event loop is blocked (callbacks delayed past the objective in most of the
 * window's intervals, not one spike: Clinic Doctor's 100 ms, slo.yaml `event_loop_p99_ms`) or saturated
 * (utilisation over the objective), Clinic Doctor's two signs
 * that JavaScript holds the only thread requests are served on. With traces, the route that holds the loop is
 * named: the one whose server spans run synchronously (no child span running, nothing else in the process
 * moving) for the most time per second. Routes that merely waited for the loop are not blamed. When several
 * routes hold it (`blockingRoutes`: together most of its time, or each request alone past the objective), each
 * is a finding of its own: a root cause each, with its own function, and fixing one leaves the other open.
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
  serviceRequestRate,
  severityFor,
} from '../findings.ts';
import type { DetectorLimits } from '../limits.ts';
import { routeHotFunction, serviceHotFunction } from '../sources/profiles.ts';
import { blockingRoutes } from '../traces/sync-time.ts';
import type { Snapshot } from '../types.ts';

export function detect(snapshot: Snapshot, limits: DetectorLimits): Draft<'event-loop-lag'>[] {
  const { delaySeconds: limit, utilization: utilizationLimit } = limits.eventLoop;
  const findings: Draft<'event-loop-lag'>[] = [];
  for (const rt of snapshot.runtime) {
    const delay = isNumber(rt.eventLoopDelaySeconds) ? rt.eventLoopDelaySeconds : null;
    const p99 = isNumber(rt.eventLoopP99Seconds) ? rt.eventLoopP99Seconds : null;
    const utilization = isNumber(rt.eventLoopUtilization) ? rt.eventLoopUtilization : null;
    const overP99 = p99 !== null && p99 > limit;
    const overDelay = delay !== null && delay > limit;
    const saturated = utilization !== null && utilization > utilizationLimit;
    if (!overP99 && !overDelay && !saturated) continue;
    const holders = blockingRoutes(snapshot, rt.service, limit * 1000);
    // Blocked: the p99 delay over the objective in most intervals, or the longest delay over it in most stretches
    // when the traces show what held the loop that long: a route whose requests each ran synchronously for the
    // objective or more. Without such a request, a long delay with a low p99 came from outside the requests'
    // JavaScript (the host descheduling the process, measured as 139 ms under a browser's load beside a healthy
    // demo whose requests held the loop 0.5 ms), which moving code off the loop does not fix.
    const blocked = overP99 || (overDelay && holders.some((h) => h.sync_ms_mean >= limit * 1000));
    if (!blocked && !saturated) continue;

    const instances = snapshot.runtime.filter((x) => x.service === rt.service).length;
    const rate = serviceRequestRate(snapshot, rt.service) / Math.max(instances, 1);
    const waited = delay ?? p99 ?? 0;
    // Impact: every request of this instance (the service's rate split evenly over its instances) is taken to
    // wait the longest delay, an upper bound; without route data, a nominal one request per second.
    const waitedFor = (rate > 0 ? rate : 1) * waited;
    const heldShare = holders.reduce((sum, h) => sum + h.share, 0);
    for (const [rank, blocking] of (holders.length === 0 ? [undefined] : holders).entries()) {
      // The function: from the blocking route's own samples when the traces name one, else the whole process's
      // (when no other route shares the loop: the process's top frame may be the other route's).
      const hot =
        (blocking === undefined ? undefined : routeHotFunction(snapshot, rt.service, blocking.route)) ??
        (holders.length > 1 ? undefined : serviceHotFunction(snapshot, rt.service));
      // Routes that hold the loop together share the wait they cause, by their part of its synchronous time.
      const impact =
        blocking === undefined || heldShare <= 0 ? waitedFor : (waitedFor * blocking.share) / heldShare;

      const what = blocked
        ? `blocked: callbacks delayed ${formatSeconds(waited)} in most intervals vs the ${formatSeconds(limit)} objective`
        : `saturated: utilisation ${formatPercent(utilization ?? 0)} vs the ${formatPercent(utilizationLimit)} objective`;
      const also =
        (blocked && p99 !== null ? ` The p99 delay was ${formatSeconds(p99)}.` : '') +
        (blocked && utilization !== null ? ` Its utilisation was ${formatPercent(utilization)}.` : '');
      const cost =
        rate > 0 && waited > 0
          ? ` At ${formatRate(rate)} on this instance, requests lose up to ${waitedFor.toFixed(2)} s per second waiting for the loop${holders.length > 1 ? `, ${impact.toFixed(2)} s of it for this route` : ''}.`
          : '';
      const culprit =
        blocking === undefined
          ? ''
          : ` ${blocking.route} holds it: ${formatSeconds(blocking.sync_ms_mean / 1000)} of synchronous work per ` +
            `request with no query or call running, ${formatPercent(blocking.share)} of the synchronous time in ` +
            `${blocking.traces} traces.` +
            (holders.length > 1
              ? ` ${holders
                  .filter((h) => h !== blocking)
                  .map((h) => `${h.route} (${formatPercent(h.share)})`)
                  .join(
                    ', ',
                  )} ${holders.length > 2 ? 'also hold it, each' : 'also holds it,'} a finding of its own.`
              : '');
      const code =
        hot === undefined
          ? ''
          : ` ${hot.function} (${hot.location})${hot.callee === undefined ? '' : `, in ${hot.callee},`} held ` +
            `${formatPercent(hot.share)} of the main thread${hot.route === undefined ? '' : ` in ${hot.route}`} ` +
            `in its wall profile.`;
      findings.push(
        draft({
          // The largest holder keeps the instance's id, so the finding stays one across cycles; each other holder
          // is a finding of its own.
          id: findingId(
            'event-loop-lag',
            rt.service,
            rank === 0 || blocking === undefined ? rt.instance : `${rt.instance}\0${blocking.route}`,
          ),
          kind: 'event-loop-lag',
          layer: 'runtime',
          service: rt.service,
          subject: rt.instance,
          // Only delay can be "well past" its objective: utilisation cannot reach twice 95 %.
          severity: blocked ? severityFor(waited, limit) : 'warning',
          impact,
          title:
            `The event loop of ${rt.service} on ${rt.instance} is ${what}` +
            (blocking === undefined ? '' : `, held by ${blocking.route}`),
          summary:
            `Over the last ${snapshot.window}, ${rt.service} (${rt.instance}) ran synchronous work long enough ` +
            `that callbacks, and with them every request, waited for the single JavaScript thread.${also}${culprit}${code}${cost}`,
          facts: {
            instance: rt.instance,
            limit_event_loop_delay_s: limit,
            blocked,
            limit_utilization_ratio: utilizationLimit,
            ...(delay !== null ? { event_loop_delay_s: delay } : {}),
            ...(p99 !== null ? { event_loop_p99_s: p99 } : {}),
            ...(isNumber(rt.eventLoopP99MaxSeconds)
              ? { event_loop_p99_max_s: rt.eventLoopP99MaxSeconds }
              : {}),
            ...(utilization !== null ? { event_loop_utilization_ratio: utilization } : {}),
            ...(rate > 0 ? { instance_rate_per_s: rate } : {}),
            ...(blocking === undefined ? {} : { blocking }),
            ...(hot === undefined ? {} : { hot_code: hot }),
          },
          evidence: {
            window: snapshot.window,
            queries: evidenceQueries(snapshot, [
              'runtime.eventLoopDelay',
              'runtime.eventLoopP99',
              'runtime.eventLoopUtilization',
              'routes.rate',
            ]),
            ...(blocking === undefined ? {} : { traceIds: blocking.trace_ids }),
          },
        }),
      );
    }
  }
  return findings;
}
