/**
 * The profile step of a cycle: for each service Prometheus saw, the code that held its main thread over the
 * window (wall profiles), as a whole and for its busiest routes (the samples labelled with the route's server
 * span name). Bounded like the trace step: at most `maxRoutes` route queries per service and cycle.
 */

import { services } from '../detectors/index.ts';
import type { GrowingSite, HotFunction } from '../facts.ts';
import { routeSubject } from '../findings.ts';
import { growingSites } from '../profiles/heap.ts';
import { type HotCode, hotCode, hotFunction } from '../profiles/hot.ts';
import type { ProfileSource } from '../profiles/source.ts';
import type { ProfileData, Snapshot } from '../types.ts';
import { busiestRoutes } from './traces.ts';

export interface ProfileReadOptions {
  readonly source: ProfileSource;
  /** Routes looked at per service and cycle, by request rate × p95 (default 10, as for traces). */
  readonly maxRoutes?: number;
}

export async function readProfiles(snapshot: Snapshot, options: ProfileReadOptions): Promise<ProfileData> {
  const source = options.source;
  const read = async (service: string, route?: string): Promise<HotCode | null> => {
    const set = await source.stacks({
      service,
      kind: 'wall',
      sinceSeconds: snapshot.windowSeconds,
      ...(route === undefined ? {} : { spanName: route }),
    });
    if (set === null || set.samples.length === 0) return null;
    return hotCode(set, { source: source.name, ...(route === undefined ? {} : { route }) });
  };
  const byService = new Map<string, HotCode>();
  for (const service of services(snapshot)) {
    const hot = await read(service);
    if (hot !== null) byService.set(service, hot);
  }
  const byRoute = new Map<string, HotCode>();
  for (const r of busiestRoutes(snapshot, options.maxRoutes ?? 10)) {
    // A service with no profile at all has none per route either: one query, not eleven.
    if (!byService.has(r.service)) continue;
    const subject = routeSubject(r);
    const hot = await read(r.service, subject);
    if (hot !== null) byRoute.set(`${r.service}\0${subject}`, hot);
  }
  // A heap profile is a snapshot: the first and the last of the window, compared site by site.
  const heap = new Map<string, { sites: GrowingSite[]; apartSeconds: number }>();
  for (const service of services(snapshot)) {
    const query = { service, kind: 'heap', sinceSeconds: snapshot.windowSeconds } as const;
    const [earliest, latest] = await Promise.all([
      source.stacks({ ...query, at: 'earliest' }),
      source.stacks({ ...query, at: 'latest' }),
    ]);
    if (earliest === null || latest === null) continue;
    const apartSeconds = ((latest.endMs ?? 0) - (earliest.endMs ?? 0)) / 1000;
    if (!(apartSeconds > 0)) continue; // one profile only: nothing to compare
    heap.set(service, { sites: growingSites(earliest, latest), apartSeconds });
  }
  return { source: source.name, services: byService, routes: byRoute, heap };
}

/** The code that held the main thread while requests of `route` ran (its span-labelled samples). */
export function routeHotFunction(
  snapshot: Snapshot,
  service: string,
  route: string,
): HotFunction | undefined {
  return hotFunction(snapshot.profiles?.routes.get(`${service}\0${route}`));
}

/** The code that held the main thread of `service`, whatever ran it. */
export function serviceHotFunction(snapshot: Snapshot, service: string): HotFunction | undefined {
  return hotFunction(snapshot.profiles?.services.get(service));
}
