/**
 * Causes over symptoms: one finding per root cause. A finding that explains another absorbs it: the symptom
 * becomes evidence of the cause (`evidence.symptoms`), and the cause's impact is at least the user time its
 * symptoms cost. The rules, in the order they apply (a symptom is absorbed once, by the first cause that
 * explains it):
 *
 * 0. A missing index (the advisor's, from plans) explains the slow statements it serves and the routes where
 *    they hold the largest share of the time.
 * 1. An N+1 explains the latency of the routes it repeats in; a slow statement and a parallelizable run
 *    explain the routes where they hold the largest share of the time (from traces).
 * 2. Pool waiting explains the latency of the routes whose largest share is waiting for a connection, and the
 *    route that held most of the connection time; the pool finding names that holder. A slow statement or an
 *    N+1 on the holder explains the pool finding in turn.
 * 3. A blocked event loop explains the latency of every route of its service in the window (a loop that is only
 *    saturated, the route that keeps it busy), and the CPU saturation of its instance when it names the route
 *    that holds the loop. When several routes hold it (one loop finding each), each explains its own route, and
 *    the largest the rest; a saturated pool whose holders
 *    are no single route is the loop's symptom too (callbacks that return connections wait for the loop).
 * 4. On a page: the backend route that renders it (its page-load spans' parent) explains a slow TTFB, and the
 *    FCP, LCP and page load that the TTFB alone puts over their objectives; whatever explains that route (an
 *    N+1, a slow statement, the route's own finding) absorbs them, so the page is evidence of the backend cause.
 *    A heavy asset explains the page's vitals it delays (a render-blocking one its FCP, LCP and page
 *    load; an uncompressed one its page load, and the LCP it is the resource of); a slow LCP explains the page
 *    load (the load event waits for the LCP's resource too); a slow TTFB explains an LCP whose largest part is
 *    the time to first byte. The app's own route that serves the asset, or the LCP's resource when that is the
 *    largest part of the LCP, is slow because of it: the asset's or the LCP's finding absorbs it (it names the
 *    element and the page, which the route's finding cannot).
 * 5. What nothing explains stays, and says what its traces show (the time breakdown).
 *
 * Pure: it reads the drafts and the snapshot's traces only.
 */
import { pageRouter } from '@hotpath/instrumentation';
import type { Draft, PoolHolder, PoolWaiter, RouteBreakdown } from './facts.ts';
import { formatPercent, formatSeconds, shortSql } from './findings.ts';
import { routeHotFunction } from './sources/profiles.ts';
import { routeBreakdowns } from './traces/breakdown.ts';
import { documentRoutes } from './traces/pages.ts';
import { requestRate, round, routeRateKey } from './traces/requests.ts';
import type { Snapshot, Symptom } from './types.ts';

type RouteDraft = Draft<'slow-endpoint' | 'latency-regression'>;

const ROUTE_KINDS = new Set(['slow-endpoint', 'latency-regression']);

function isRouteDraft(d: Draft): d is RouteDraft {
  return ROUTE_KINDS.has(d.kind);
}

function symptomOf(d: Draft): Symptom {
  return { kind: d.kind, subject: d.subject, title: d.title, impact: d.impact, values: d.evidence.values };
}

/** `cause` with `symptoms` as evidence; its impact at least what they cost together. */
function absorb<D extends Draft>(cause: D, symptoms: readonly Draft[]): D {
  if (symptoms.length === 0) return cause;
  const all = [...(cause.evidence.symptoms ?? []), ...symptoms.map(symptomOf)];
  const lost = all.reduce((s, x) => s + x.impact, 0);
  return {
    ...cause,
    impact: Math.max(cause.impact, lost),
    evidence: { ...cause.evidence, symptoms: all },
  };
}

/** The largest part of a route's time, by name. */
function largestPart(b: RouteBreakdown): 'db' | 'pool' | 'http' | 'own' {
  const parts = [
    ['db', b.db_share],
    ['pool', b.pool_wait_share],
    ['http', b.http_share],
    ['own', b.own_share],
  ] as const;
  return parts.reduce((best, p) => (p[1] > best[1] ? p : best))[0];
}

/** One sentence of what the traces of a route show. */
export function describeBreakdown(b: RouteBreakdown): string {
  const parts = [
    `${formatPercent(b.db_share)} database`,
    ...(b.pool_wait_share > 0 ? [`${formatPercent(b.pool_wait_share)} waiting for a pooled connection`] : []),
    `${formatPercent(b.http_share)} outbound HTTP${b.top_host === undefined ? '' : ` (most to ${b.top_host.host})`}`,
    `${formatPercent(b.own_share)} its own code`,
  ];
  const statement =
    b.top_statement === undefined
      ? ''
      : ` The largest single statement, ${shortSql(b.top_statement.text, 80)}, holds ${formatPercent(b.top_statement.share)}.`;
  return `Over ${b.traces} traced requests (mean ${formatSeconds(b.mean_ms / 1000)}), the time went ${parts.join(', ')}.${statement}`;
}

export function correlate(drafts: readonly Draft[], snapshot: Snapshot): Draft[] {
  const breakdowns = routeBreakdowns(snapshot);
  const breakdownOf = (service: string, route: string) => breakdowns.get(routeRateKey(service, route));
  const absorbed = new Set<Draft>();
  let out: Draft[] = [...drafts];
  const routeDrafts = (service: string, routes: (route: string) => boolean) =>
    out.filter((d) => isRouteDraft(d) && !absorbed.has(d) && d.service === service && routes(d.subject));
  const take = <D extends Draft>(cause: D, symptoms: readonly Draft[]): D => {
    for (const s of symptoms) absorbed.add(s);
    const next = absorb(cause, symptoms);
    out = out.map((d) => (d === cause ? next : d));
    return next;
  };

  // Facts only traces give: the routes a slow statement runs in, who held and who waited for a pool.
  out = out.map((d) => {
    if (d.kind === 'slow-statement') {
      const routes = [...breakdowns.entries()]
        .filter(([key]) => key.startsWith(`${d.service}\0`))
        .filter(([, b]) => b.top_statement?.fingerprint === d.facts.fingerprint)
        .map(([, b]) => b.route)
        .sort();
      return { ...d, facts: { ...d.facts, routes } };
    }
    if (d.kind === 'pool-saturation') return withPoolRoles(d, snapshot, breakdowns);
    return d;
  });

  // 0. A missing index explains the statements it serves (and the routes where they hold the most time).
  for (const cause of out.filter((d): d is Draft<'missing-index'> => d.kind === 'missing-index')) {
    const prints = new Set(cause.facts.fingerprints);
    const statements = out.filter(
      (d) =>
        d.kind === 'slow-statement' &&
        !absorbed.has(d) &&
        d.service === cause.service &&
        prints.has(d.subject),
    );
    const routes = new Set(
      [...breakdowns.entries()]
        .filter(
          ([key, b]) =>
            key.startsWith(`${cause.service}\0`) && prints.has(b.top_statement?.fingerprint ?? ''),
        )
        .map(([, b]) => b.route),
    );
    take(cause, [...statements, ...routeDrafts(cause.service, (r) => routes.has(r))]);
  }

  // 1. Statements and call patterns explain their routes.
  for (const cause of [...out]) {
    if (absorbed.has(cause)) continue;
    if (cause.kind === 'n-plus-one') {
      const routes = new Set(cause.facts.sites.map((s) => s.route));
      take(
        cause,
        routeDrafts(cause.service, (r) => routes.has(r)),
      );
    } else if (cause.kind === 'slow-statement') {
      const routes = new Set(cause.facts.routes);
      take(
        cause,
        routeDrafts(cause.service, (r) => routes.has(r)),
      );
    } else if (cause.kind === 'parallelizable-queries') {
      const route = cause.facts.route;
      const b = breakdownOf(cause.service, route);
      if (b !== undefined && largestPart(b) === 'db')
        take(
          cause,
          routeDrafts(cause.service, (r) => r === route),
        );
    }
  }

  // 2. Pool waiting explains the routes that waited; what held the connections explains the pool.
  for (const pool of out.filter((d): d is Draft<'pool-saturation'> => d.kind === 'pool-saturation')) {
    const waited = new Set(
      pool.facts.waiters
        .filter((w) => {
          const b = breakdownOf(pool.service, w.route);
          return b !== undefined && largestPart(b) === 'pool';
        })
        .map((w) => w.route),
    );
    const holder = pool.facts.holders[0];
    if (holder !== undefined && holder.share > 0.5) waited.add(holder.route);
    const current = take(
      pool,
      routeDrafts(pool.service, (r) => waited.has(r)),
    );
    if (holder === undefined || holder.share <= 0.5) continue;
    const explainer = out.find(
      (d) =>
        !absorbed.has(d) &&
        d.service === pool.service &&
        ((d.kind === 'slow-statement' && d.facts.routes.includes(holder.route)) ||
          (d.kind === 'n-plus-one' && d.facts.sites.some((s) => s.route === holder.route))),
    );
    if (explainer !== undefined) take(explainer, [current]);
  }

  // 3. A blocked event loop explains every route of its service.
  const loops = out.filter((d): d is Draft<'event-loop-lag'> => d.kind === 'event-loop-lag');
  for (const loop of loops) {
    if (absorbed.has(loop)) continue;
    const blocking = loop.facts.blocking;
    // Routes that hold the same loop beside this one are causes of their own (each its loop finding), not
    // this one's victims.
    const others = new Set(
      loops
        .filter((l) => l !== loop && l.service === loop.service && l.subject === loop.subject)
        .flatMap((l) => (l.facts.blocking === undefined ? [] : [l.facts.blocking.route])),
    );
    // Only a blocked loop (callbacks delayed past the objective) makes every route wait. A loop that is merely
    // saturated still runs callbacks on time: the routes that are slow are slow on their own, except the one
    // that keeps it busy, which the loop finding names.
    const blocked = loop.facts.blocked;
    const symptoms: Draft[] = routeDrafts(
      loop.service,
      (r) => r === blocking?.route || (blocked && !others.has(r)),
    );
    for (const d of out) {
      if (absorbed.has(d) || d.service !== loop.service) continue;
      if (d.kind === 'cpu-saturation' && blocking !== undefined && d.subject === loop.subject)
        symptoms.push(d);
      if (d.kind === 'pool-saturation') {
        const holder = d.facts.holders[0];
        if (holder === undefined || holder.share <= 0.5 || holder.route === blocking?.route) symptoms.push(d);
      }
    }
    take(loop, symptoms);
  }

  // 4. On a page: the route that renders it explains its TTFB; the asset and the LCP explain the vitals they
  // delay, and the route that serves their resource.
  const documents = documentRoutes(snapshot);
  /**
   * The finding that reports a route, or the cause that absorbed it; for a route within its own objective, the
   * cause rule 1 would have given it (an N+1 that repeats in it, a statement or missing index that holds most
   * of its time): the page's visitors wait for it even where the route's p95 passes.
   */
  const reporting = (service: string, subject: string): Draft | undefined =>
    out.find((d) => !absorbed.has(d) && isRouteDraft(d) && d.service === service && d.subject === subject) ??
    out.find(
      (d) =>
        !absorbed.has(d) &&
        d.service === service &&
        (d.evidence.symptoms ?? []).some((x) => ROUTE_KINDS.has(x.kind) && x.subject === subject),
    ) ??
    out.find(
      (d) =>
        !absorbed.has(d) &&
        d.service === service &&
        ((d.kind === 'n-plus-one' && d.facts.sites.some((s) => s.route === subject)) ||
          ((d.kind === 'slow-statement' || d.kind === 'missing-index') && d.facts.routes.includes(subject))),
    );
  for (const ttfb of out.filter(
    (d): d is Draft<'web-vital'> => d.kind === 'web-vital' && d.facts.vital === 'ttfb',
  )) {
    if (absorbed.has(ttfb)) continue;
    const route = documents.get(`${ttfb.service}\0${ttfb.facts.page}`);
    const cause = route === undefined ? undefined : reporting(ttfb.service, route);
    if (cause === undefined) continue;
    const explained = out.filter(
      (d): d is Draft<'web-vital'> =>
        d.kind === 'web-vital' &&
        d !== ttfb &&
        !absorbed.has(d) &&
        d.service === ttfb.service &&
        d.facts.page === ttfb.facts.page &&
        ['fcp', 'lcp', 'page_load'].includes(d.facts.vital) &&
        d.facts.p75 - ttfb.facts.p75 <= d.facts.limit_p75,
    );
    take(cause, [ttfb, ...explained]);
  }
  const servingRoute = (service: string, url: string | undefined) => {
    if (url === undefined || !url.startsWith('/')) return [];
    const served = pageRouter(
      snapshot.routes.filter((r) => r.service === service && r.method === 'GET').map((r) => r.route),
    )(url);
    return routeDrafts(service, (r) => r === `GET ${served}`);
  };
  const vitalsOf = (service: string, page: string, which: (d: Draft<'web-vital'>) => boolean) =>
    out.filter(
      (d): d is Draft<'web-vital'> =>
        d.kind === 'web-vital' &&
        !absorbed.has(d) &&
        d.service === service &&
        d.facts.page === page &&
        which(d),
    );
  for (const asset of out.filter((d): d is Draft<'heavy-asset'> => d.kind === 'heavy-asset')) {
    const blocking = asset.facts.problems.includes('render-blocking');
    const delayed = new Set(blocking ? ['fcp', 'lcp', 'page_load'] : ['page_load']);
    const pages = new Set(asset.facts.pages);
    take(
      asset,
      out.filter(
        (d): d is Draft<'web-vital'> =>
          d.kind === 'web-vital' &&
          !absorbed.has(d) &&
          d.service === asset.service &&
          pages.has(d.facts.page) &&
          (delayed.has(d.facts.vital) || (d.facts.vital === 'lcp' && d.facts.resource_url === asset.subject)),
      ),
    );
    take(asset, servingRoute(asset.service, asset.subject));
  }
  for (const ttfb of out.filter(
    (d): d is Draft<'web-vital'> => d.kind === 'web-vital' && d.facts.vital === 'ttfb',
  )) {
    if (absorbed.has(ttfb)) continue;
    take(
      ttfb,
      vitalsOf(
        ttfb.service,
        ttfb.facts.page,
        (v) => v.facts.vital === 'lcp' && v.facts.largest_phase === 'time_to_first_byte',
      ),
    );
  }
  for (const lcp of out.filter(
    (d): d is Draft<'web-vital'> => d.kind === 'web-vital' && d.facts.vital === 'lcp',
  )) {
    if (absorbed.has(lcp)) continue;
    const current = take(
      lcp,
      vitalsOf(lcp.service, lcp.facts.page, (v) => v.facts.vital === 'page_load'),
    );
    if (lcp.facts.largest_phase !== 'resource_load_duration') continue;
    const [route] = servingRoute(lcp.service, lcp.facts.resource_url).filter(isRouteDraft);
    if (route === undefined) continue;
    const served = take(current, [route]);
    // The app's own route serves the LCP's resource: what its traces and p95 show is where the load time goes.
    const withRoute: Draft<'web-vital'> = {
      ...served,
      facts: { ...served.facts, served_by: route.subject, served_p95_s: route.facts.p95_s },
    };
    out = out.map((d) => (d === served ? withRoute : d));
  }

  // 5. What is left says what its traces show.
  return out
    .filter((d) => !absorbed.has(d))
    .map((d) => {
      if (!isRouteDraft(d)) return d;
      const b = breakdownOf(d.service, d.subject);
      if (b === undefined) return d;
      // Time in the route's own code: its span-labelled wall samples name the function.
      const hot = largestPart(b) === 'own' ? routeHotFunction(snapshot, d.service, d.subject) : undefined;
      const code =
        hot === undefined
          ? ''
          : ` Its wall profile charges ${formatPercent(hot.share)} of that code to ${hot.function} (${hot.location})` +
            `${hot.callee === undefined ? '' : `, in ${hot.callee}`}.`;
      return {
        ...d,
        summary: `${d.summary} ${describeBreakdown(b)}${code}`,
        facts: { ...d.facts, breakdown: b, ...(hot === undefined ? {} : { hot_code: hot }) },
        evidence: {
          ...d.evidence,
          traceIds: [...(d.evidence.traceIds ?? []), ...b.trace_ids].slice(0, 5),
          values: {
            ...d.evidence.values,
            db_share: b.db_share,
            pool_wait_share: b.pool_wait_share,
            http_share: b.http_share,
            own_share: b.own_share,
          },
        },
      } as RouteDraft;
    });
}

/** A route's use of pool `name`: its spans that name the pool, plus those that name none. */
function onPool(b: RouteBreakdown, name: string): { held_ms_mean: number; wait_ms_mean: number } {
  const named = b.pools[name];
  const unnamed = b.pools[''];
  return {
    held_ms_mean: Math.max(named?.held_ms_mean ?? 0, unnamed?.held_ms_mean ?? 0),
    wait_ms_mean: (named?.wait_ms_mean ?? 0) + (unnamed?.wait_ms_mean ?? 0),
  };
}

/**
 * The pool finding with who held its connections (routes by connection time per second: request rate × the
 * time from a request's first query to its last) and who waited (routes by time in connection-wait spans).
 * A route that never queries holds nothing, however slow it is.
 */
function withPoolRoles(
  pool: Draft<'pool-saturation'>,
  snapshot: Snapshot,
  breakdowns: ReadonlyMap<string, RouteBreakdown>,
): Draft<'pool-saturation'> {
  const holders: PoolHolder[] = [];
  const waiters: PoolWaiter[] = [];
  for (const [key, b] of breakdowns) {
    if (!key.startsWith(`${pool.service}\0`)) continue;
    const rate = requestRate(snapshot, key, b.traces);
    // Only this pool's connections: a route on another pool of the same database holds none of them. Spans
    // that name no pool (other instrumentations) may be on any pool, so they count for each.
    const on = onPool(b, pool.subject);
    if (on.held_ms_mean > 0) {
      holders.push({
        route: b.route,
        connection_s_per_s: (rate * on.held_ms_mean) / 1000,
        db_ms_mean: on.held_ms_mean,
        share: 0,
      });
    }
    if (on.wait_ms_mean > 0) {
      waiters.push({
        route: b.route,
        pool_wait_ms_mean: on.wait_ms_mean,
        pool_wait_share: b.mean_ms > 0 ? round(on.wait_ms_mean / b.mean_ms, 3) : 0,
      });
    }
  }
  const total = holders.reduce((s, h) => s + h.connection_s_per_s, 0);
  const ranked = holders
    .map((h) => ({
      ...h,
      connection_s_per_s: round(h.connection_s_per_s, 3),
      share: total > 0 ? round(h.connection_s_per_s / total, 3) : 0,
    }))
    .sort((a, b) => b.connection_s_per_s - a.connection_s_per_s);
  waiters.sort((a, b) => b.pool_wait_ms_mean - a.pool_wait_ms_mean);
  const top = ranked[0];
  const held =
    top === undefined
      ? ''
      : ` ${top.route} holds ${formatPercent(top.share)} of the connection time: ${formatSeconds(top.db_ms_mean / 1000)} per request from its first query to its last.`;
  const waited =
    waiters.length === 0
      ? ''
      : ` Requests of ${waiters
          .slice(0, 3)
          .map((w) => `${w.route} (${formatSeconds(w.pool_wait_ms_mean / 1000)})`)
          .join(', ')} wait for a connection.`;
  return {
    ...pool,
    title: top !== undefined && top.share > 0.5 ? `${pool.title}, held by ${top.route}` : pool.title,
    summary: `${pool.summary}${held}${waited}`,
    facts: { ...pool.facts, holders: ranked, waiters },
    evidence: {
      ...pool.evidence,
      values: {
        ...pool.evidence.values,
        ...(top === undefined ? {} : { top_holder: top.route, top_holder_share: top.share }),
      },
    },
  };
}
