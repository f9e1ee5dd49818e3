/** Panel shapes the dashboards repeat. */
import {
  GraphThresholdsStyleConfigBuilder,
  GraphThresholdsStyleMode,
  LegendDisplayMode,
  LegendPlacement,
  SortOrder,
  TooltipDisplayMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import type { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TableBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { FINDINGS, neutralThresholds, PROMETHEUS, type SqlQueryBuilder, sloThresholds } from './common.ts';

/** Draws the objective as a dashed red line (and colors nothing else). */
export function lineWithThreshold(panel: TimeseriesBuilder, limit: number): TimeseriesBuilder {
  return panel
    .thresholds(sloThresholds(limit))
    .thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed));
}

export interface SeriesPanel {
  readonly title: string;
  readonly description: string;
  readonly unit: string;
  readonly targets: readonly DataqueryBuilder[];
  /** The objective, drawn as a threshold line. */
  readonly limit?: number;
  readonly span?: number;
  readonly height?: number;
}

/** A Prometheus time series panel with a table legend (last and max) sorted by the worst series. */
export function series(spec: SeriesPanel): TimeseriesBuilder {
  const panel = new TimeseriesBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(PROMETHEUS)
    .targets([...spec.targets])
    .unit(spec.unit)
    .min(0)
    .legend(
      new VizLegendOptionsBuilder()
        .displayMode(LegendDisplayMode.Table)
        .placement(LegendPlacement.Bottom)
        .showLegend(true)
        .calcs(['lastNotNull', 'max'])
        .sortBy('Max')
        .sortDesc(true),
    )
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending))
    .span(spec.span ?? 12)
    .height(spec.height ?? 8);
  return spec.limit === undefined
    ? panel.thresholds(neutralThresholds())
    : lineWithThreshold(panel, spec.limit);
}

export interface FindingsTable {
  readonly title: string;
  readonly description: string;
  readonly query: SqlQueryBuilder;
  readonly height?: number;
}

/** A table over the analyzer's findings database. */
export function findingsTable(spec: FindingsTable): TableBuilder {
  return new TableBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(FINDINGS)
    .withTarget(spec.query)
    .thresholds(neutralThresholds())
    .filterable(true)
    .span(24)
    .height(spec.height ?? 9);
}
