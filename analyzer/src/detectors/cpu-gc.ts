/**
 * CPU saturation and GC pressure of an instance. Node runs JavaScript on one thread, so one core is the ceiling
 * that matters (the objective keeps headroom below it); GC pauses stop that thread, so seconds of GC per second
 * are seconds in which no request progresses.
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
import { serviceHotFunction } from '../sources/profiles.ts';
import type { RuntimeStats, Snapshot } from '../types.ts';

/** One full core: the JavaScript thread has no headroom left, whatever the objective says. */
const FULL_CORE = 1;

function cpuSaturation(snapshot: Snapshot, rt: RuntimeStats, limit: number): Draft<'cpu-saturation'> | null {
  const cores = rt.cpuCores;
  if (!isNumber(cores) || cores <= limit) return null;
  // Impact: the share of a core used past the objective's headroom, the time requests start queueing for.
  const impact = cores - limit;
  // Critical at twice the objective or at a full core, whichever comes first.
  const critical = cores >= Math.min(limit * 2, FULL_CORE);
  const gc = isNumber(rt.gcSecondsPerSecond)
    ? ` GC pauses take ${formatSeconds(rt.gcSecondsPerSecond)} of every second.`
    : '';
  // Wall time on the main thread is where its CPU goes, except time waiting on native work it started.
  const hot = serviceHotFunction(snapshot, rt.service);
  const code =
    hot === undefined
      ? ''
      : ` ${hot.function} (${hot.location}) held ${formatPercent(hot.share)} of the main thread in its wall profile.`;
  return draft({
    id: findingId('cpu-saturation', rt.service, rt.instance),
    kind: 'cpu-saturation',
    layer: 'runtime',
    service: rt.service,
    subject: rt.instance,
    severity: critical ? 'critical' : 'warning',
    impact,
    title: `${rt.service} on ${rt.instance} is CPU-bound: ${formatPercent(cores)} of a core vs the ${formatPercent(limit)} objective`,
    summary:
      `Over the last ${snapshot.window}, ${rt.service} (${rt.instance}) used ${formatNumber(cores)} CPU ` +
      `seconds per second. Node runs JavaScript on one thread, so past one core requests queue behind each ` +
      `other however many cores the machine has.${gc}${code}`,
    facts: {
      instance: rt.instance,
      cpu_cores: cores,
      limit_cpu_cores: limit,
      ...(hot === undefined ? {} : { hot_code: hot }),
    },
    evidence: {
      window: snapshot.window,
      queries: evidenceQueries(snapshot, ['runtime.cpu']),
    },
  });
}

function gcPressure(snapshot: Snapshot, rt: RuntimeStats, limit: number): Draft<'gc-pressure'> | null {
  const gc = rt.gcSecondsPerSecond;
  if (!isNumber(gc) || gc <= limit) return null;
  // Impact: the share of time the process is paused; no request progresses during a pause.
  const impact = gc;
  const used = isNumber(rt.heapUsedBytes) ? rt.heapUsedBytes : null;
  const heapLimit = isNumber(rt.heapLimitBytes) && rt.heapLimitBytes > 0 ? rt.heapLimitBytes : null;
  const heap =
    used !== null && heapLimit !== null
      ? ` The heap is at ${formatBytes(used)} of its ${formatBytes(heapLimit)} limit (${formatPercent(used / heapLimit)}).`
      : used !== null
        ? ` The heap holds ${formatBytes(used)}.`
        : '';
  return draft({
    id: findingId('gc-pressure', rt.service, rt.instance),
    kind: 'gc-pressure',
    layer: 'runtime',
    service: rt.service,
    subject: rt.instance,
    severity: severityFor(gc, limit),
    impact,
    title: `${rt.service} on ${rt.instance} spends ${formatSeconds(gc)} per second in GC vs the ${formatSeconds(limit)} objective`,
    summary:
      `Over the last ${snapshot.window}, garbage collection paused ${rt.service} (${rt.instance}) for ` +
      `${formatPercent(gc)} of the time: the code allocates faster than the collector keeps up with, or the ` +
      `heap is close to full and every collection frees little.${heap}`,
    facts: {
      instance: rt.instance,
      gc_s_per_s: gc,
      limit_gc_s_per_s: limit,
      ...(used !== null ? { heap_used_bytes: used } : {}),
      ...(heapLimit !== null ? { heap_limit_bytes: heapLimit } : {}),
    },
    evidence: {
      window: snapshot.window,
      queries: evidenceQueries(snapshot, ['runtime.gc', 'runtime.heapUsed']),
    },
  });
}

/** Both kinds, per instance: `cpu-saturation` and `gc-pressure`. */
export function detect(
  snapshot: Snapshot,
  limits: DetectorLimits,
): Draft<'cpu-saturation' | 'gc-pressure'>[] {
  const findings: Draft<'cpu-saturation' | 'gc-pressure'>[] = [];
  for (const rt of snapshot.runtime) {
    const cpu = cpuSaturation(snapshot, rt, limits.cpu.cores);
    if (cpu !== null) findings.push(cpu);
    const gc = gcPressure(snapshot, rt, limits.gc.secondsPerSecond);
    if (gc !== null) findings.push(gc);
  }
  return findings;
}
