/** PromQL checks with Prometheus's own Lezer grammar (the one Grafana and the Prometheus UI use). */

import {
  ALL_METRICS,
  HISTOGRAM_SERIES,
  PROMETHEUS_SERIES,
  prometheusName,
  RECORDED,
} from '@hotpath/instrumentation';
import { parser } from '@prometheus-io/lezer-promql';

export interface ParsedPromql {
  /** Offsets of syntax errors; empty when the expression parses. */
  readonly errors: number[];
  /** Metric names of every vector selector. */
  readonly metricNames: string[];
}

export function parsePromql(expr: string): ParsedPromql {
  const errors: number[] = [];
  const metricNames: string[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(node.from);
      if (node.type.name === 'Identifier' && node.node.parent?.type.name === 'VectorSelector') {
        metricNames.push(expr.slice(node.from, node.to));
      }
    },
  });
  return { errors, metricNames };
}

/** Every series name the project may query: catalogued metrics (with histogram series), records, native series. */
export const KNOWN_SERIES: ReadonlySet<string> = new Set([
  ...ALL_METRICS.flatMap((m) =>
    m.instrument === 'histogram'
      ? HISTOGRAM_SERIES.map((s) => `${prometheusName(m)}_${s}`)
      : [prometheusName(m)],
  ),
  ...Object.values(RECORDED),
  ...Object.values(PROMETHEUS_SERIES),
]);
