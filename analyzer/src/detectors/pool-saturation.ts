/**
 * Pool saturation: a connection pool where requests wait for a connection, sustained over the window. The SLO
 * file has no number for it; the anchors are on average more than half a request waiting, or three at once.
 */

import type { Draft } from '../facts.ts';
import { draft, evidenceQueries, findingId, formatNumber, isNumber } from '../findings.ts';
import type { DetectorLimits } from '../limits.ts';
import type { Snapshot } from '../types.ts';

/** Average number of requests waiting for a connection over the window: above this, the pool is a queue. */
export const PENDING_AVG = 0.5;
/** Highest number waiting at once: at this many or more, the pool is too small for what holds it. */
export const PENDING_MAX = 3;
/** Twice an anchor is critical, as twice an objective is for the SLO-based detectors. */
const CRITICAL_FACTOR = 2;

export function detect(snapshot: Snapshot, _limits: DetectorLimits): Draft<'pool-saturation'>[] {
  const findings: Draft<'pool-saturation'>[] = [];
  for (const p of snapshot.pools) {
    const avg = isNumber(p.pendingAvg) ? p.pendingAvg : 0;
    const max = isNumber(p.pendingMax) ? p.pendingMax : 0;
    if (!(avg > PENDING_AVG) && !(max >= PENDING_MAX)) continue;
    // A peak alone is not critical: it takes the queue to be there most of the time as well.
    const critical =
      avg >= PENDING_AVG * CRITICAL_FACTOR || (max >= PENDING_MAX * CRITICAL_FACTOR && avg > PENDING_AVG);
    // Impact: by Little's law the average number of requests waiting is the seconds of waiting per second.
    const impact = avg;
    const size = isNumber(p.max) && p.max > 0 ? p.max : null;
    const full =
      size !== null && isNumber(p.usedMax) && p.usedMax >= size
        ? ` All ${formatNumber(size)} connections were in use at the peak.`
        : size !== null
          ? ` The pool holds up to ${formatNumber(size)} connections; at most ${formatNumber(isNumber(p.usedMax) ? p.usedMax : 0)} were in use at once.`
          : '';
    findings.push(
      draft({
        id: findingId('pool-saturation', p.service, p.pool),
        kind: 'pool-saturation',
        layer: 'database',
        service: p.service,
        subject: p.pool,
        severity: critical ? 'critical' : 'warning',
        impact,
        title: `Requests of ${p.service} wait for a database connection: on average ${formatNumber(avg)} waiting, up to ${formatNumber(max)}, in pool ${p.pool}`,
        summary:
          `Over the last ${snapshot.window}, requests of ${p.service} queued for a connection of pool ` +
          `${p.pool}: ${formatNumber(avg)} on average (${impact.toFixed(2)} s of waiting per second), up to ` +
          `${formatNumber(max)} at once.${full} Connections are held longer than the work on them needs, or ` +
          `the pool is too small for the load.`,
        facts: {
          pool: p.pool,
          pending_avg: avg,
          pending_max: max,
          used_max: isNumber(p.usedMax) ? p.usedMax : 0,
          limit_pending_avg: PENDING_AVG,
          limit_pending_max: PENDING_MAX,
          ...(size !== null ? { pool_max: size } : {}),
          // Filled by `correlate` from the traces: what held the connections and who waited.
          holders: [],
          waiters: [],
        },
        evidence: {
          window: snapshot.window,
          queries: evidenceQueries(snapshot, [
            'pools.pending',
            'pools.pendingAvg',
            'pools.used',
            'pools.max',
          ]),
        },
      }),
    );
  }
  return findings;
}
