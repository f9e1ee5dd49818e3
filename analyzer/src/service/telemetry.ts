/**
 * The analyzer's own signals (`hotpath.findings.open`, `hotpath.analysis.duration`, `hotpath.analysis.failures`;
 * names from the semconv catalogue). Instruments come from the global meter: under
 * `--import @hotpath/instrumentation/register` they are exported over OTLP (or pulled); without it they are
 * no-ops, so the analyzer never depends on its own telemetry.
 */

import { ATTR, METRICS } from '@hotpath/instrumentation/semconv';
import { metrics } from '@opentelemetry/api';
import type { OpenCount } from '../store/findings.ts';

export interface AnalyzerTelemetry {
  cycleFinished(outcome: 'succeeded' | 'failed', seconds: number): void;
  /** The latest counts of active findings; the gauge reports them at each collection. */
  setOpenFindings(counts: readonly OpenCount[]): void;
}

export function analyzerTelemetry(): AnalyzerTelemetry {
  const meter = metrics.getMeter('@hotpath/analyzer');
  const open = METRICS.hotpathFindingsOpen;
  const duration = METRICS.hotpathAnalysisDuration;
  const failures = METRICS.hotpathAnalysisFailures;
  let counts: readonly OpenCount[] = [];
  // Series that reached 0 must be reported as 0 once, or the gauge would keep its last value in Prometheus
  // until staleness: a resolved finding has to leave the chart and the alert at once.
  let previous = new Set<string>();
  const key = (c: Omit<OpenCount, 'count'>) => JSON.stringify([c.layer, c.kind, c.severity, c.service]);
  meter
    .createObservableGauge(open.name, { unit: open.unit, description: open.description })
    .addCallback((result) => {
      const current = new Set<string>();
      for (const c of counts) {
        current.add(key(c));
        result.observe(c.count, attributes(c));
      }
      for (const k of previous) {
        if (current.has(k)) continue;
        const [layer, kind, severity, service] = JSON.parse(k) as string[];
        result.observe(
          0,
          attributes({
            layer: layer ?? '',
            kind: kind ?? '',
            severity: severity ?? '',
            service: service ?? '',
          }),
        );
      }
      previous = current;
    });
  const histogram = meter.createHistogram(duration.name, {
    unit: duration.unit,
    description: duration.description,
  });
  const counter = meter.createCounter(failures.name, {
    unit: failures.unit,
    description: failures.description,
  });
  return {
    cycleFinished(outcome, seconds) {
      histogram.record(seconds, { [ATTR.analysisOutcome]: outcome });
      if (outcome === 'failed') counter.add(1);
    },
    setOpenFindings(next) {
      counts = next;
    },
  };
}

function attributes(c: Omit<OpenCount, 'count'>): Record<string, string> {
  return {
    [ATTR.findingLayer]: c.layer,
    [ATTR.findingKind]: c.kind,
    [ATTR.findingSeverity]: c.severity,
    [ATTR.serviceName]: c.service,
  };
}
