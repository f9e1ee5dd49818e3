// Preloaded into every variant of the overhead bench (bare too, so it costs them all the same): on SIGUSR2 it
// runs a full GC and writes what the heap still holds and how large V8 let the young generation grow, to
// HEAP_PROBE_OUT. RSS alone mixes the two: under sustained load V8 grows the young generation towards its cap
// whenever objects survive a scavenge (buffered spans do), and that is sizing, not retention. It also sums the
// time spent in GC since the start, by kind, from Node's `gc` performance entries: what surviving objects cost.
import { writeFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

const gcMs = { minor: 0, major: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) gcMs.minor += entry.duration;
    else gcMs.major += entry.duration;
  }
}).observe({ entryTypes: ['gc'] });

process.on('SIGUSR2', () => {
  const gc = { ...gcMs };
  const youngMb =
    (getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0) / 1048576;
  globalThis.gc?.();
  const out = process.env.HEAP_PROBE_OUT;
  if (out)
    writeFileSync(
      out,
      JSON.stringify({ heapUsedMb: process.memoryUsage().heapUsed / 1048576, youngMb, gcMs: gc }),
    );
});
