import { describe, expect, it } from 'vitest';
import {
  HISTOGRAM_SERIES,
  prometheusName,
  prometheusSeries,
  pullName,
  relabelRules,
} from './prometheus-names.ts';
import { ALL_METRICS, METRICS, type MetricSpec } from './semconv.ts';

/** Series names a metric has in Prometheus, given its base name. */
function seriesOf(spec: MetricSpec, base: string): string[] {
  return spec.instrument === 'histogram' ? HISTOGRAM_SERIES.map((s) => `${base}_${s}`) : [base];
}

/** Applies metric_relabel_configs the way Prometheus does: fully anchored RE2 match, `${1}` expansion. */
function relabel(name: string, rules: ReturnType<typeof relabelRules>): string {
  let current = name;
  for (const rule of rules) {
    const match = new RegExp(`^(?:${rule.regex})$`).exec(current);
    if (match === null) continue;
    current = rule.replacement.replace(/\$\{(\d+)\}/g, (_, i: string) => match[Number(i)] ?? '');
  }
  return current;
}

describe('OTLP → Prometheus names (UnderscoreEscapingWithSuffixes)', () => {
  it.each([
    [METRICS.httpServerRequestDuration, 'http_server_request_duration_seconds'],
    [METRICS.dbClientOperationDuration, 'db_client_operation_duration_seconds'],
    [METRICS.dbClientConnectionCount, 'db_client_connection_count'],
    [METRICS.dbClientConnectionPendingRequests, 'db_client_connection_pending_requests'],
    [METRICS.nodejsEventloopDelayP99, 'nodejs_eventloop_delay_p99_seconds'],
    [METRICS.nodejsEventloopUtilization, 'nodejs_eventloop_utilization_ratio'],
    [METRICS.nodejsEventloopTime, 'nodejs_eventloop_time_seconds_total'],
    [METRICS.v8jsMemoryHeapUsed, 'v8js_memory_heap_used_bytes'],
    [METRICS.processCpuTime, 'process_cpu_time_seconds_total'],
    [METRICS.processCpuUtilization, 'process_cpu_utilization_ratio'],
    [METRICS.browserWebVitalCls, 'browser_web_vital_cls'],
    [METRICS.hotpathFindingsOpen, 'hotpath_findings_open'],
    [METRICS.hotpathAnalysisFailures, 'hotpath_analysis_failures_total'],
  ])('%s.name is stored as %s', (spec, expected) => {
    expect(prometheusName(spec)).toBe(expected);
  });

  it('handles per-units, annotations and names that already carry their unit', () => {
    expect(prometheusName({ name: 'net.io', unit: 'By/s', instrument: 'gauge' })).toBe(
      'net_io_bytes_per_second',
    );
    expect(prometheusName({ name: 'queue.size', unit: '{item}', instrument: 'gauge' })).toBe('queue_size');
    expect(prometheusName({ name: 'uptime.seconds', unit: 's', instrument: 'gauge' })).toBe('uptime_seconds');
    expect(prometheusName({ name: 'jobs.total', unit: '1', instrument: 'counter' })).toBe('jobs_total');
    expect(prometheusSeries(METRICS.v8jsGcDuration, 'bucket')).toBe('v8js_gc_duration_seconds_bucket');
  });
});

describe('pull-mode relabel rules', () => {
  const rules = relabelRules();

  it('rename every catalogued series from the SDK exporter name to the OTLP name', () => {
    for (const spec of ALL_METRICS) {
      const pulled = seriesOf(spec, pullName(spec));
      const expected = seriesOf(spec, prometheusName(spec));
      expect(
        pulled.map((n) => relabel(n, rules)),
        spec.name,
      ).toEqual(expected);
    }
  });

  it('leave names that are already right, and other metrics, alone', () => {
    expect(relabel('db_client_connection_count', rules)).toBe('db_client_connection_count');
    expect(relabel('target_info', rules)).toBe('target_info');
    expect(relabel('http_server_request_duration_seconds_bucket', rules)).toBe(
      'http_server_request_duration_seconds_bucket',
    );
  });

  it('have one rule per metric whose names differ, each matching exactly one metric', () => {
    const differing = ALL_METRICS.filter((m) => pullName(m) !== prometheusName(m));
    expect(rules).toHaveLength(differing.length);
    const allPulled = ALL_METRICS.flatMap((m) => seriesOf(m, pullName(m)));
    for (const rule of rules) {
      const matched = new Set(
        allPulled
          .filter((n) => new RegExp(`^(?:${rule.regex})$`).test(n))
          .map((n) => n.replace(/_(bucket|sum|count)$/, '')),
      );
      expect(matched.size, rule.regex).toBe(1);
    }
  });
});
