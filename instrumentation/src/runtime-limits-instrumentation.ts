/**
 * The V8 heap's ceiling as a gauge, so a growing heap can be given a time to exhaustion. instrumentation-runtime-
 * node reports what the heap uses, not where it ends; `v8.getHeapStatistics().heap_size_limit` is that end.
 * It has nothing to patch: it only reports.
 */
import { getHeapStatistics } from 'node:v8';
import { InstrumentationBase, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import pkg from '../package.json' with { type: 'json' };
import { quietly } from './pool-wait.ts';
import { METRICS } from './semconv.ts';

export class RuntimeLimitsInstrumentation extends InstrumentationBase {
  constructor(config: InstrumentationConfig = {}) {
    super('@hotpath/instrumentation/runtime-limits', pkg.version, config);
  }

  protected override init(): [] {
    return [];
  }

  protected override _updateMetricInstruments(): void {
    const spec = METRICS.hotpathV8jsHeapSizeLimit;
    this.meter
      .createObservableGauge(spec.name, { description: spec.description, unit: spec.unit })
      .addCallback((result) =>
        quietly('reading the V8 heap limit', () => result.observe(getHeapStatistics().heap_size_limit)),
      );
  }
}
