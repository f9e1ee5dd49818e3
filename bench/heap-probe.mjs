// Preloaded into every variant of the overhead bench (bare too, so it costs them all the same): on SIGUSR2 it
// runs a full GC and writes what the heap still holds and how large V8 let the young generation grow, to
// HEAP_PROBE_OUT. RSS alone mixes the two: under sustained load V8 grows the young generation towards its cap
// whenever objects survive a scavenge (buffered spans do), and that is sizing, not retention.
import { writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

process.on('SIGUSR2', () => {
  const youngMb =
    (getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0) / 1048576;
  globalThis.gc?.();
  const out = process.env.HEAP_PROBE_OUT;
  if (out)
    writeFileSync(out, JSON.stringify({ heapUsedMb: process.memoryUsage().heapUsed / 1048576, youngMb }));
});
