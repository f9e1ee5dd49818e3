/**
 * Pages and assets from the `browser.*` metrics that `@hotpath/instrumentation`'s collection endpoint records
 * from real browsers: per page route, the p75 of each vital (the Core Web Vitals are judged at the 75th
 * percentile of page views), the elements they are attributed to, the LCP's four parts, and per asset its mean
 * sizes and fetch time over full loads. A fixed number of PromQL queries, however many pages there are.
 */
import { METRICS, type MetricSpec, prometheusSeries } from '@hotpath/instrumentation';
import type { AssetStats, EvidenceQuery, PageStats, Vital, VitalElement } from '../types.ts';
import type { PrometheusSample } from './prometheus.ts';

const PAGE = 'job, page_route';
const ELEMENT = 'browser_web_vital_element';
const ASSET = `${PAGE}, url_template, browser_resource_initiator_type, browser_resource_render_blocking`;

export const VITAL_METRICS: Readonly<Record<Vital, MetricSpec>> = {
  lcp: METRICS.browserWebVitalLcp,
  inp: METRICS.browserWebVitalInp,
  cls: METRICS.browserWebVitalCls,
  fcp: METRICS.browserWebVitalFcp,
  ttfb: METRICS.browserWebVitalTtfb,
  page_load: METRICS.browserPageLoadDuration,
};
const VITALS = Object.keys(VITAL_METRICS) as Vital[];
const ATTRIBUTED = ['lcp', 'inp', 'cls'] as const;

export function frontendQueries(window: string): Record<string, EvidenceQuery> {
  const promql = (text: string): EvidenceQuery => ({ language: 'promql', text });
  const p75 = (spec: MetricSpec, by: string) =>
    promql(
      `histogram_quantile(0.75, sum by (${by}, le) (rate(${prometheusSeries(spec, 'bucket')}[${window}])))`,
    );
  const rate = (spec: MetricSpec, by: string) =>
    promql(`sum by (${by}) (rate(${prometheusSeries(spec, 'count')}[${window}]))`);
  const mean = (spec: MetricSpec, by: string) =>
    promql(
      `sum by (${by}) (rate(${prometheusSeries(spec, 'sum')}[${window}])) / sum by (${by}) (rate(${prometheusSeries(spec, 'count')}[${window}]))`,
    );
  const out: Record<string, EvidenceQuery> = {};
  for (const vital of VITALS) {
    out[`pages.${vital}.p75`] = p75(VITAL_METRICS[vital], PAGE);
    out[`pages.${vital}.rate`] = rate(VITAL_METRICS[vital], PAGE);
  }
  for (const vital of ATTRIBUTED) {
    const by = vital === 'lcp' ? `${PAGE}, ${ELEMENT}, url_template` : `${PAGE}, ${ELEMENT}`;
    out[`pages.${vital}.elements.p75`] = p75(VITAL_METRICS[vital], by);
    out[`pages.${vital}.elements.rate`] = rate(VITAL_METRICS[vital], by);
  }
  out['pages.lcp.phases'] = mean(METRICS.browserWebVitalLcpPhase, `${PAGE}, browser_web_vital_phase`);
  out['assets.rate'] = rate(METRICS.browserResourceEncodedSize, ASSET);
  out['assets.encoded'] = mean(METRICS.browserResourceEncodedSize, ASSET);
  out['assets.decoded'] = mean(METRICS.browserResourceDecodedSize, ASSET);
  out['assets.duration'] = mean(METRICS.browserResourceDuration, ASSET);
  return out;
}

const finite = (v: number | undefined): number | null => (v !== undefined && Number.isFinite(v) ? v : null);

/** The pages and assets from the answers to `frontendQueries`, by the same keys. */
export function frontendStats(get: (key: string) => readonly PrometheusSample[]): {
  pages: PageStats[];
  assets: AssetStats[];
} {
  const pageKey = (s: PrometheusSample) => `${s.labels.job ?? ''}\0${s.labels.page_route ?? ''}`;
  const index = (key: string, by: (s: PrometheusSample) => string) =>
    new Map(get(key).map((s) => [by(s), s.value] as const));
  const keys = new Set<string>();
  const p75 = {} as Record<Vital, Map<string, number>>;
  const rate = {} as Record<Vital, Map<string, number>>;
  for (const vital of VITALS) {
    p75[vital] = index(`pages.${vital}.p75`, pageKey);
    rate[vital] = index(`pages.${vital}.rate`, pageKey);
    for (const k of rate[vital].keys()) keys.add(k);
  }
  const elements = new Map<string, Partial<Record<(typeof ATTRIBUTED)[number], VitalElement[]>>>();
  for (const vital of ATTRIBUTED) {
    const elementKey = (s: PrometheusSample) =>
      `${pageKey(s)}\0${s.labels[ELEMENT] ?? ''}\0${s.labels.url_template ?? ''}`;
    const quantiles = index(`pages.${vital}.elements.p75`, elementKey);
    for (const s of get(`pages.${vital}.elements.rate`)) {
      if (!(s.value > 0)) continue;
      const list = elements.get(pageKey(s)) ?? {};
      const url = s.labels.url_template;
      const forVital = list[vital] ?? [];
      list[vital] = forVital;
      forVital.push({
        element: s.labels[ELEMENT] ?? 'none',
        ...(vital === 'lcp' && url !== undefined ? { url } : {}),
        ratePerS: s.value,
        p75: finite(quantiles.get(elementKey(s))),
      });
      elements.set(pageKey(s), list);
    }
  }
  const phases = new Map<string, Record<string, number>>();
  for (const s of get('pages.lcp.phases')) {
    if (!Number.isFinite(s.value)) continue;
    const p = phases.get(pageKey(s)) ?? {};
    p[s.labels.browser_web_vital_phase ?? ''] = s.value;
    phases.set(pageKey(s), p);
  }
  const pages: PageStats[] = [...keys].map((key) => {
    const [service = '', page = ''] = key.split('\0');
    const list = elements.get(key) ?? {};
    for (const v of Object.values(list)) v.sort((a, b) => b.ratePerS - a.ratePerS);
    return {
      service,
      page,
      viewsPerS: rate.ttfb.get(key) ?? Math.max(...VITALS.map((v) => rate[v].get(key) ?? 0)),
      p75: Object.fromEntries(VITALS.map((v) => [v, finite(p75[v].get(key))])) as Record<
        Vital,
        number | null
      >,
      ratePerS: Object.fromEntries(VITALS.map((v) => [v, rate[v].get(key) ?? 0])) as Record<Vital, number>,
      elements: list,
      lcpPhases: phases.get(key) ?? {},
    };
  });

  const assetKey = (s: PrometheusSample) =>
    [
      s.labels.job,
      s.labels.page_route,
      s.labels.url_template,
      s.labels.browser_resource_initiator_type,
      s.labels.browser_resource_render_blocking,
    ].join('\0');
  const encoded = index('assets.encoded', assetKey);
  const decoded = index('assets.decoded', assetKey);
  const duration = index('assets.duration', assetKey);
  const assets: AssetStats[] = get('assets.rate')
    .filter((s) => s.value > 0)
    .map((s) => ({
      service: s.labels.job ?? '',
      page: s.labels.page_route ?? '',
      url: s.labels.url_template ?? '',
      initiatorType: s.labels.browser_resource_initiator_type ?? '',
      renderBlocking: s.labels.browser_resource_render_blocking ?? 'unknown',
      loadsPerS: s.value,
      encodedBytes: finite(encoded.get(assetKey(s))),
      decodedBytes: finite(decoded.get(assetKey(s))),
      durationSeconds: finite(duration.get(assetKey(s))),
    }));
  return { pages, assets };
}
