/**
 * The frontend layer, from real browsers (`sources/frontend.ts`):
 * - `web-vital`: a page whose p75 of a vital is over its objective (slo.yaml `frontend`: page load, LCP, INP,
 *   CLS, FCP, TTFB), with the element the slow reports are attributed to and, for the LCP, which of its four
 *   parts holds the time; critical past web-vitals' "poor" line.
 * - `heavy-asset`: an asset that Sentry's detectors would flag, one finding per asset however many pages load
 *   it: render-blocking (≥ 500 000 bytes, not non-blocking, fetched for over a third of an FCP of 2–10 s) and/or
 *   uncompressed (a .js/.css/.json of ≥ 500 KiB sent as large as it is, for over 300 ms, on a page where another
 *   asset arrived compressed).
 * Impact is weighted by traffic: page views per second × the seconds over the objective, and for an asset its
 * loads per second × its fetch time.
 */
import type { Draft } from '../facts.ts';
import {
  draft,
  evidenceQueries,
  findingId,
  formatBytes,
  formatNumber,
  formatRate,
  formatSeconds,
  isNumber,
} from '../findings.ts';
import type { DetectorLimits } from '../limits.ts';
import type { AssetStats, PageStats, Snapshot, Vital, VitalElement } from '../types.ts';

export const VITAL_NAMES: Readonly<Record<Vital, string>> = {
  lcp: 'LCP',
  inp: 'INP',
  cls: 'CLS',
  fcp: 'FCP',
  ttfb: 'TTFB',
  page_load: 'page load',
};

function vitalLimits(limits: DetectorLimits['frontend']): Record<Vital, { limit: number; poor: number }> {
  return {
    lcp: { limit: limits.lcpP75Seconds, poor: limits.poor.lcpSeconds },
    inp: { limit: limits.inpP75Seconds, poor: limits.poor.inpSeconds },
    cls: { limit: limits.clsP75, poor: limits.poor.cls },
    fcp: { limit: limits.fcpP75Seconds, poor: limits.poor.fcpSeconds },
    ttfb: { limit: limits.ttfbP75Seconds, poor: limits.poor.ttfbSeconds },
    page_load: { limit: limits.pageLoadP75Seconds, poor: limits.pageLoadP75Seconds * 2 },
  };
}

const format = (vital: Vital, value: number) =>
  vital === 'cls' ? formatNumber(value) : formatSeconds(value);

/** The element the slow reports of a vital name: the most reported one whose own p75 is over the limit. */
function slowElement(elements: readonly VitalElement[] | undefined, limit: number) {
  const named = (elements ?? []).filter((e) => e.element !== 'none');
  const total = named.reduce((s, e) => s + e.ratePerS, 0);
  const slow = named.filter((e) => isNumber(e.p75) && e.p75 > limit);
  const pick = slow[0] ?? named[0];
  if (pick === undefined || total <= 0) return undefined;
  return { ...pick, share: pick.ratePerS / total };
}

function largestPhase(phases: Readonly<Record<string, number>>): string | undefined {
  const entries = Object.entries(phases).filter(([, v]) => Number.isFinite(v));
  if (entries.length === 0) return undefined;
  return entries.reduce((best, e) => (e[1] > best[1] ? e : best))[0];
}

function vitalFindings(page: PageStats, snapshot: Snapshot, limits: DetectorLimits): Draft<'web-vital'>[] {
  const out: Draft<'web-vital'>[] = [];
  const all = vitalLimits(limits.frontend);
  for (const vital of Object.keys(all) as Vital[]) {
    const p75 = page.p75[vital];
    const { limit, poor } = all[vital];
    if (!isNumber(p75) || p75 <= limit) continue;
    const name = VITAL_NAMES[vital];
    const subject = `${page.page} ${name}`;
    const attributed = vital === 'lcp' || vital === 'inp' || vital === 'cls';
    const element = attributed ? slowElement(page.elements[vital], limit) : undefined;
    const phases = vital === 'lcp' && Object.keys(page.lcpPhases).length > 0 ? page.lcpPhases : undefined;
    const largest = phases === undefined ? undefined : largestPhase(phases);
    const resource = element?.url !== undefined && element.url !== 'none' ? element.url : undefined;
    const on =
      element === undefined
        ? ''
        : ` ${formatNumber(element.share * 100)} % of its reports name ${element.element}${resource ? ` (${resource})` : ''}` +
          `${isNumber(element.p75) ? `, p75 ${format(vital, element.p75)} there` : ''}.`;
    // Seconds over the objective per view; CLS has no time, so it ranks by severity alone.
    const impact = vital === 'cls' ? 0 : page.viewsPerS * (p75 - limit);
    out.push(
      draft({
        id: findingId('web-vital', page.service, subject),
        kind: 'web-vital',
        layer: 'frontend',
        service: page.service,
        subject,
        severity: p75 >= poor ? 'critical' : 'warning',
        impact,
        title: `${name} on ${page.page} is ${p75 >= poor ? 'poor' : 'slow'}: p75 ${format(vital, p75)} vs the ${format(vital, limit)} objective`,
        summary:
          `Over the last ${snapshot.window}, a quarter of the ${formatRate(page.viewsPerS, 'views/s')} of ` +
          `${page.page} on ${page.service} had a ${name} over ${format(vital, p75)} in real browsers, past the ` +
          `${format(vital, limit)} objective${p75 >= poor ? ` and the ${format(vital, poor)} "poor" line` : ''}.${on}`,
        facts: {
          page: page.page,
          vital,
          p75,
          limit_p75: limit,
          poor_p75: poor,
          views_per_s: page.viewsPerS,
          ...(element === undefined
            ? {}
            : {
                element: element.element,
                element_share: element.share,
                ...(isNumber(element.p75) ? { element_p75: element.p75 } : {}),
              }),
          ...(resource === undefined ? {} : { resource_url: resource }),
          ...(phases === undefined ? {} : { lcp_phases: phases }),
          ...(largest === undefined ? {} : { largest_phase: largest }),
        },
        evidence: {
          window: snapshot.window,
          queries: evidenceQueries(snapshot, [
            `pages.${vital}.p75`,
            `pages.${vital}.rate`,
            ...(attributed ? [`pages.${vital}.elements.p75`] : []),
            ...(vital === 'lcp' ? ['pages.lcp.phases'] : []),
          ]),
        },
      }),
    );
  }
  return out;
}

const extension = (url: string) => /\.([a-z0-9]+)$/i.exec(url)?.[1]?.toLowerCase() ?? '';

/** What is wrong with one asset on one page, by Sentry's two asset detectors. */
function assetProblems(
  a: AssetStats,
  page: PageStats | undefined,
  compressedOnPage: boolean,
  limits: DetectorLimits,
) {
  const problems: string[] = [];
  const { renderBlocking: rb, uncompressed: un } = limits.frontend;
  const encoded = a.encodedBytes ?? 0;
  const decoded = a.decodedBytes ?? 0;
  const fetch = a.durationSeconds ?? 0;
  const fcp = page?.p75.fcp;
  if (
    (a.initiatorType === 'script' || a.initiatorType === 'link' || a.initiatorType === 'css') &&
    a.renderBlocking !== 'non-blocking' &&
    encoded >= rb.minBytes &&
    isNumber(fcp) &&
    fcp >= rb.fcpMinSeconds &&
    fetch > rb.fcpRatio * fcp
  )
    problems.push('render-blocking');
  if (
    encoded >= un.minBytes &&
    encoded >= decoded &&
    un.extensions.includes(extension(a.url)) &&
    fetch > un.minSeconds &&
    compressedOnPage
  )
    problems.push('uncompressed');
  return problems;
}

function assetFindings(snapshot: Snapshot, limits: DetectorLimits): Draft<'heavy-asset'>[] {
  const pages = new Map((snapshot.pages ?? []).map((p) => [`${p.service}\0${p.page}`, p]));
  const assets = snapshot.assets ?? [];
  const compressed = new Set(
    assets
      .filter((a) => isNumber(a.encodedBytes) && isNumber(a.decodedBytes) && a.encodedBytes < a.decodedBytes)
      .map((a) => `${a.service}\0${a.page}`),
  );
  const byAsset = new Map<string, { asset: AssetStats; problems: Set<string>; loads: AssetStats[] }>();
  for (const a of assets) {
    const key = `${a.service}\0${a.page}`;
    const problems = assetProblems(a, pages.get(key), compressed.has(key), limits);
    if (problems.length === 0) continue;
    const id = `${a.service}\0${a.url}`;
    const entry = byAsset.get(id) ?? { asset: a, problems: new Set<string>(), loads: [] };
    for (const p of problems) entry.problems.add(p);
    entry.loads.push(a);
    if (a.loadsPerS > entry.asset.loadsPerS) entry.asset = a;
    byAsset.set(id, entry);
  }
  const out: Draft<'heavy-asset'>[] = [];
  for (const { asset: a, problems, loads } of byAsset.values()) {
    loads.sort((x, y) => y.loadsPerS - x.loadsPerS);
    const loadsPerS = loads.reduce((s, l) => s + l.loadsPerS, 0);
    const fetch = a.durationSeconds ?? 0;
    const encoded = a.encodedBytes ?? 0;
    const decoded = a.decodedBytes ?? 0;
    const page = pages.get(`${a.service}\0${a.page}`);
    const fcp = page?.p75.fcp;
    const list = [...problems].sort();
    const what = list
      .map((p) =>
        p === 'render-blocking'
          ? `render-blocking (the first paint waits for it: FCP p75 ${isNumber(fcp) ? formatSeconds(fcp) : '?'})`
          : `sent uncompressed (${formatBytes(encoded)} on the wire, ${formatBytes(decoded)} decoded)`,
      )
      .join(' and ');
    const impact = loads.reduce((s, l) => s + l.loadsPerS * (l.durationSeconds ?? 0), 0);
    out.push(
      draft({
        id: findingId('heavy-asset', a.service, a.url),
        kind: 'heavy-asset',
        layer: 'frontend',
        service: a.service,
        subject: a.url,
        severity:
          problems.size > 1 || fetch >= 2 * (isNumber(fcp) ? limits.frontend.fcpP75Seconds : 1)
            ? 'critical'
            : 'warning',
        impact,
        title: `${a.url} is ${formatBytes(encoded)} and ${list.join(' and ')} on ${loads.map((l) => l.page).join(', ')}`,
        summary:
          `Real browsers loading ${loads.map((l) => l.page).join(', ')} on ${a.service} fetch ${a.url} ` +
          `(${a.initiatorType}, ${formatBytes(encoded)}) for ${formatSeconds(fetch)} on average, ` +
          `${formatRate(loadsPerS, 'loads/s')}. It is ${what}.`,
        facts: {
          url: a.url,
          initiator_type: a.initiatorType,
          render_blocking: a.renderBlocking,
          problems: list,
          encoded_bytes: encoded,
          decoded_bytes: decoded,
          fetch_s: fetch,
          loads_per_s: loadsPerS,
          pages: loads.map((l) => l.page),
          ...(isNumber(fcp) ? { page_fcp_p75_s: fcp } : {}),
          limit_bytes: problems.has('render-blocking')
            ? limits.frontend.renderBlocking.minBytes
            : limits.frontend.uncompressed.minBytes,
        },
        evidence: {
          window: snapshot.window,
          queries: evidenceQueries(snapshot, [
            'assets.encoded',
            'assets.decoded',
            'assets.duration',
            'pages.fcp.p75',
          ]),
        },
      }),
    );
  }
  return out;
}

export function detect(snapshot: Snapshot, limits: DetectorLimits): Draft<'web-vital' | 'heavy-asset'>[] {
  const pages = (snapshot.pages ?? []).filter(
    (p) => p.page !== '' && p.viewsPerS >= limits.frontend.minViewsPerS,
  );
  return [...pages.flatMap((p) => vitalFindings(p, snapshot, limits)), ...assetFindings(snapshot, limits)];
}
