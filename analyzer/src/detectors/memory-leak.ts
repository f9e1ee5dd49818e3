/**
 * Memory leak: an instance whose heap after GC (what each major collection left) keeps growing faster than the
 * objective allows, with an estimate of when it reaches the heap limit when the limit is known.
 */

import type { Draft } from '../facts.ts';
import {
  draft,
  evidenceQueries,
  findingId,
  formatBytes,
  formatNumber,
  formatPercent,
  formatSeconds,
  isNumber,
  severityFor,
} from '../findings.ts';
import type { DetectorLimits } from '../limits.ts';
import { MIN_COLLECTIONS, MIN_POINTS_FOR_CURVES } from '../sources/heap-trend.ts';
import type { Snapshot } from '../types.ts';

/** A leak that fills the heap within this many hours crashes the process before a daily look: critical. */
export const CRITICAL_HOURS_TO_EXHAUSTION = 1;
/**
 * A leak costs GC time and, at the end, a crash rather than latency now: a nominal 1 % of a second per second,
 * enough to rank it among findings of its severity without a measured cost.
 */
export const LEAK_IMPACT = 0.01;

/**
 * Between major collections V8 keeps promoted garbage, and the young generation alone spans up to ~16 MB, so a
 * healthy heap also climbs a few MB over a short window. A leak worth reporting grows it by more than this
 * within the window (long windows reach it with a slow leak, short ones only with a fast one).
 */
export const MIN_GROWN_BYTES = 16 * 1024 * 1024;

/**
 * V8 reclaims the old generation only in major (mark-compact) collections, and the growth is measured on the
 * heap right after each one (`heap-trend.ts`): the window must have seen enough of them to make a trend. (A busy
 * process with a large young generation can go minutes without one; then there is nothing yet to judge, and
 * nothing is reported.)
 */
export const MIN_MAJOR_GCS = MIN_COLLECTIONS;

export function detect(snapshot: Snapshot, limits: DetectorLimits): Draft<'memory-leak'>[] {
  const limit = limits.memoryLeak.bytesPerHour;
  const findings: Draft<'memory-leak'>[] = [];
  for (const rt of snapshot.runtime) {
    const growth = rt.heapGrowthBytesPerHour;
    if (!isNumber(growth) || growth <= limit) continue;
    const used = isNumber(rt.heapUsedBytes) ? rt.heapUsedBytes : null;
    // Over what the trend saw, not the window: a process younger than the window (or a stretch without a major
    // GC) has grown for less time, and its warm-up slope times the whole window would pass for a leak.
    const observed = Math.min(snapshot.windowSeconds, rt.heapTrendSeconds ?? snapshot.windowSeconds);
    if ((growth / 3600) * observed < MIN_GROWN_BYTES) continue;
    if (isNumber(rt.majorGcs) && rt.majorGcs < MIN_MAJOR_GCS) continue;
    const heapLimit = isNumber(rt.heapLimitBytes) && rt.heapLimitBytes > 0 ? rt.heapLimitBytes : null;
    const hours = used !== null && heapLimit !== null ? Math.max(heapLimit - used, 0) / growth : null;

    const age = isNumber(rt.processAgeSeconds) ? rt.processAgeSeconds : null;
    // Where it grows, from the service's heap profiles (first and last of the window), when there are some.
    const heap = snapshot.profiles?.heap.get(rt.service);
    const [site, ...others] = heap?.sites ?? [];
    const where =
      site === undefined || heap === undefined
        ? ''
        : ` Its heap profiles name where: ${site.function} (${site.location}) holds ${formatBytes(site.grown_bytes)} ` +
          `more live memory than ${formatSeconds(heap.apartSeconds)} earlier (${formatPercent(site.share)} of the growth).`;

    const soon = hours !== null && hours <= CRITICAL_HOURS_TO_EXHAUSTION;
    const full =
      hours !== null
        ? ` At this rate the heap reaches its ${formatBytes(heapLimit ?? 0)} limit in about ${formatNumber(hours)} h, and the process crashes with "JavaScript heap out of memory".`
        : '';
    const now = used !== null ? ` It holds ${formatBytes(used)} now.` : '';
    // Why it counts as a leak, from the model that fitted the heap after each major collection best.
    const n = rt.heapTrendCollections;
    const readings =
      n === undefined
        ? ''
        : `${n} readings of the heap after a major collection over ${formatSeconds(observed)}`;
    const why =
      n !== undefined && n < MIN_POINTS_FOR_CURVES
        ? `: something may keep references it no longer needs. There were only ${readings}: too few to tell a ` +
          'warm-up that levels off from a leak, so only a straight line was fitted.'
        : rt.heapTrendModel === 'levelling'
          ? ': it is levelling off, but at the end of the window it still grows faster than the objective. Of the ' +
            `models fitted to ${readings}, a curve that levels off fitted best.`
          : ': something keeps references it no longer needs, and the growth did not level off as a warm-up does.' +
            (rt.heapTrendModel === undefined
              ? ''
              : ` Of the models fitted to ${readings}, ` +
                `${rt.heapTrendModel === 'linear' ? 'a straight line' : 'a warm-up, then a straight line,'} fitted best.`);
    const old = age !== null ? ` The process has run for ${formatSeconds(age)}.` : '';
    findings.push(
      draft({
        id: findingId('memory-leak', rt.service, rt.instance),
        kind: 'memory-leak',
        layer: 'runtime',
        service: rt.service,
        subject: rt.instance,
        severity: soon ? 'critical' : severityFor(growth, limit),
        impact: LEAK_IMPACT,
        title: `${rt.service} on ${rt.instance} is leaking memory: the heap after GC grows ${formatBytes(growth)}/h vs the ${formatBytes(limit)}/h objective`,
        summary:
          `Over the last ${snapshot.window}, the heap that survives garbage collection on ${rt.service} ` +
          `(${rt.instance}) grew by ${formatBytes(growth)} per hour${why}${now}${old}${full}${where}`,
        facts: {
          instance: rt.instance,
          heap_growth_bytes_per_h: growth,
          limit_bytes_per_h: limit,
          ...(used !== null ? { heap_used_bytes: used } : {}),
          ...(heapLimit !== null ? { heap_limit_bytes: heapLimit } : {}),
          ...(hours !== null ? { hours_to_exhaustion_h: hours } : {}),
          ...(age !== null ? { process_age_s: age } : {}),
          ...(isNumber(rt.majorGcs) ? { major_gcs: Math.round(rt.majorGcs) } : {}),
          ...(rt.heapTrendModel === undefined ? {} : { heap_trend_model: rt.heapTrendModel }),
          ...(rt.heapTrendCollections === undefined
            ? {}
            : { heap_trend_collections: rt.heapTrendCollections }),
          ...(rt.heapTrendSeconds === null ? {} : { heap_trend_s: observed }),
          ...(site === undefined || heap === undefined
            ? {}
            : {
                growing_site: site,
                heap_profiles_apart_s: heap.apartSeconds,
                ...(others.length === 0
                  ? {}
                  : {
                      other_growing_sites: others
                        .map((o) => `${o.function} (${o.location}) ${formatBytes(o.grown_bytes)}`)
                        .join('\n'),
                    }),
              }),
        },
        evidence: {
          window: snapshot.window,
          queries: evidenceQueries(snapshot, [
            'runtime.heapGrowth',
            'runtime.heapUsed',
            'runtime.majorGcs',
            ...(heapLimit !== null ? (['runtime.heapLimit'] as const) : []),
          ]),
        },
      }),
    );
  }
  return findings;
}
