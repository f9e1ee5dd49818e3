/**
 * Two V8 heap gauges that instrumentation-runtime-node does not report, both for the memory-leak finding:
 * - the heap's ceiling (`v8.getHeapStatistics().heap_size_limit`), so a growing heap gets a time to exhaustion;
 * - the heap right after the latest major collection, so growth is measured on what survived collection and not
 *   on garbage promoted since the last one (see `hotpathV8jsHeapLive` in semconv.ts).
 * It has nothing to patch: it only reports.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { InstrumentationBase, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import pkg from '../package.json' with { type: 'json' };
import { quietly } from './pool-wait.ts';
import { METRICS } from './semconv.ts';

/*
 * Module state, not instance fields: InstrumentationBase's constructor calls `enable()` before a subclass's
 * fields exist (they are defined after `super()` returns, and would reset what `enable()` set). One process has
 * one heap, so one observer serves every instance.
 */
let observer: PerformanceObserver | undefined;
/** `used_heap_size` read when the latest major GC's entry arrived; undefined before the first. */
let live: number | undefined;

export class RuntimeLimitsInstrumentation extends InstrumentationBase {
  constructor(config: InstrumentationConfig = {}) {
    super('@hotpath/instrumentation/runtime-limits', pkg.version, config);
  }

  protected override init(): [] {
    return [];
  }

  override enable(): void {
    super.enable();
    if (observer !== undefined) return;
    // GC entries arrive on the next turn of the loop after the collection: the heap read then is the survivors
    // plus what was allocated in between, a young-generation's worth at most (matches --trace-gc's "-> N MB").
    observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind = ((entry as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind;
        if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
          quietly('reading the V8 heap after GC', () => {
            live = getHeapStatistics().used_heap_size;
          });
        }
      }
    });
    observer.observe({ entryTypes: ['gc'] });
  }

  override disable(): void {
    super.disable();
    observer?.disconnect();
    observer = undefined;
  }

  protected override _updateMetricInstruments(): void {
    const limit = METRICS.hotpathV8jsHeapSizeLimit;
    this.meter
      .createObservableGauge(limit.name, { description: limit.description, unit: limit.unit })
      .addCallback((result) =>
        quietly('reading the V8 heap limit', () => result.observe(getHeapStatistics().heap_size_limit)),
      );
    const after = METRICS.hotpathV8jsHeapLive;
    this.meter
      .createObservableGauge(after.name, { description: after.description, unit: after.unit })
      .addCallback((result) => {
        if (live !== undefined) result.observe(live);
      });
  }
}
