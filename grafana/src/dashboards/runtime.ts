/**
 * Runtime: the Node.js process behind the requests — event-loop delay and utilization, heap, GC and CPU, per
 * instance. Node runs JavaScript on one thread, so one saturated core or a blocked loop stalls every request.
 */

import { PanelBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder as PyroscopeQuery } from '@grafana/grafana-foundation-sdk/grafanapyroscope';
import { PROFILE_TYPE_IDS } from '@hotpath/analyzer/pyroscope';
import type { SloFile } from '@hotpath/analyzer/slo';
import { ATTR, METRICS, prometheusName, prometheusSeries, RECORDED } from '@hotpath/instrumentation';
import { finish, hotpathDashboard, label, PYROSCOPE, promTarget, rate, selector } from './common.ts';
import { series } from './panels.ts';
import { BY_INSTANCE, instanceVariable, profileServiceVariable, serviceVariable } from './variables.ts';

export const RUNTIME_UID = 'hotpath-runtime';

const LEGEND = '{{job}} {{instance}}';

export function runtimeDashboard(slo: SloFile): Record<string, unknown> {
  const { runtime } = slo.defaults;
  const gauge = (metric: keyof typeof METRICS, stat: string) =>
    promTarget(
      `max by (job, instance) (${selector(prometheusName(METRICS[metric]), BY_INSTANCE)})`,
      stat === '' ? LEGEND : `${LEGEND} ${stat}`,
    );
  const gcType = label(ATTR.v8jsGcType);

  const builder = hotpathDashboard({
    uid: RUNTIME_UID,
    title: 'Hotpath / Runtime',
    description: 'Event loop, heap, garbage collection and CPU of every Node.js process.',
    range: '15m',
  })
    .withVariable(serviceVariable('resources'))
    .withVariable(instanceVariable())
    .withVariable(profileServiceVariable())
    .withRow(new RowBuilder('Event loop'))
    .withPanel(
      series({
        title: 'Event-loop delay',
        description: `How late timers fire: p50, p99 and max per process. Objective: p99 < ${runtime.event_loop_p99_ms} ms; above it the loop is blocked and every request waits.`,
        unit: 's',
        targets: [
          gauge('nodejsEventloopDelayP50', 'p50'),
          gauge('nodejsEventloopDelayP99', 'p99'),
          gauge('nodejsEventloopDelayMax', 'max'),
        ],
        limit: runtime.event_loop_p99_ms / 1000,
      }),
    )
    .withPanel(
      series({
        title: 'Event-loop utilization',
        description: `Share of time the event loop was busy. Objective: < ${Math.round(runtime.event_loop_utilization * 100)} %.`,
        unit: 'percentunit',
        targets: [gauge('nodejsEventloopUtilization', '')],
        limit: runtime.event_loop_utilization,
      }),
    )
    .withRow(new RowBuilder('Memory and garbage collection'))
    .withPanel(
      series({
        title: 'Memory',
        description: `V8 heap in use (all spaces), the heap right after the latest major GC (what survived it), and resident memory. The analyzer judges leaks on the after-GC line: sustained growth over ${runtime.heap_growth_mb_per_hour} MB/h is a leak; heap in use also climbs with garbage between major GCs.`,
        unit: 'bytes',
        targets: [
          promTarget(selector(RECORDED.heapUsed, BY_INSTANCE), `${LEGEND} heap used`),
          gauge('hotpathV8jsHeapLive', 'heap after GC'),
          promTarget(
            `sum by (job, instance) (${selector(prometheusName(METRICS.processMemoryUsage), BY_INSTANCE)})`,
            `${LEGEND} resident`,
          ),
        ],
      }),
    )
    .withPanel(
      series({
        title: 'GC time per second by type',
        description: `Seconds of garbage-collection pauses per second, by kind (minor, major, incremental). Objective: < ${runtime.gc_ms_per_s} ms per second.`,
        unit: 's',
        targets: [
          promTarget(
            `sum by (job, instance, ${gcType}) (${rate(prometheusSeries(METRICS.v8jsGcDuration, 'sum'), BY_INSTANCE)})`,
            `${LEGEND} {{${gcType}}}`,
          ),
        ],
        limit: runtime.gc_ms_per_s / 1000,
      }),
    )
    .withRow(new RowBuilder('CPU'))
    .withPanel(
      series({
        title: 'Process CPU utilization',
        description: `CPU seconds per second (user + system) of each process: 1 = one core. Objective: < ${runtime.cpu_utilization_percent} % of one core, since JavaScript runs on one thread.`,
        unit: 'percentunit',
        targets: [
          promTarget(
            `sum by (job, instance) (${rate(prometheusName(METRICS.processCpuTime), BY_INSTANCE)})`,
            LEGEND,
          ),
        ],
        limit: runtime.cpu_utilization_percent / 100,
        span: 24,
      }),
    )
    .withRow(new RowBuilder('Profiles'))
    .withPanel(
      new PanelBuilder()
        .type('flamegraph')
        .title('Main-thread wall time by function')
        .description(
          'Wall profiles of the selected services (Pyroscope, pushed by @hotpath/instrumentation with HOTPATH_PROFILING=on): the widest frames held the event loop longest. The analyzer names the top one in its event-loop, CPU and slow-route findings.',
        )
        .datasource(PYROSCOPE)
        .targets([
          new PyroscopeQuery()
            .refId('A')
            .datasource(PYROSCOPE)
            .queryType('profile')
            .profileTypeId(PROFILE_TYPE_IDS.wall)
            .labelSelector('{service_name=~"$profile_service"}')
            .groupBy([]),
        ])
        .span(24)
        .height(14),
    );
  return finish(builder);
}
