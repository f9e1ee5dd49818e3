/**
 * The two profile decoders against real upstream data (../shared/fixtures/pyroscope): Pyroscope's flame graph
 * answer, whose self values must add up to its total with `runtime.kevent` the top function (the fixture
 * README's check values), and the pprof bodies Pyroscope's own ingest tests push.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED_FIXTURES } from '../../../test/stack/compose.ts';
import { decodePprof, ProfileFormatError, splitFrameName, stacksFromFlameGraph } from './model.ts';

const fixture = (name: string) => readFileSync(join(SHARED_FIXTURES, 'pyroscope', name));

describe('profile decoders', () => {
  it('rebuilds stacks from a SelectMergeStacktraces flame graph', () => {
    const { flamegraph } = JSON.parse(
      fixture('select-merge-stacktraces.pyroscope-cpu.grafana-pyroscope-ui-e2e.json').toString('utf8'),
    );
    const samples = stacksFromFlameGraph(flamegraph);
    expect(samples.reduce((sum, s) => sum + s.value, 0)).toBe(Number(flamegraph.total));
    const self = new Map<string, number>();
    for (const s of samples)
      self.set(s.frames[0]?.name ?? '', (self.get(s.frames[0]?.name ?? '') ?? 0) + s.value);
    const top = [...self].sort((a, b) => b[1] - a[1])[0];
    expect(top).toEqual(['runtime.kevent', 2_970_000_000]);
    // Leaf first, and the graph's root ("total") is not a frame.
    expect(samples.every((s) => s.frames.every((f) => f.name !== 'total'))).toBe(true);
  });

  it('decodes a gzipped Node wall profile (microseconds) to nanoseconds, and a raw heap profile', () => {
    const wall = decodePprof(fixture('ingest-body.nodejs-wall.grafana-pyroscope.pb.gz'));
    expect(wall.kind).toBe('wall');
    expect(wall.samples.length).toBeGreaterThan(0);
    // 16 samples of a 10 ms period over 10.14 s: seconds of wall time in nanoseconds, not microseconds.
    expect(wall.samples.reduce((sum, s) => sum + s.value, 0)).toBeGreaterThan(1e9);
    expect(wall.samples[0]?.frames[0]).toMatchObject({ name: 'detachSocket', file: 'node:_http_server' });
    const heap = decodePprof(fixture('ingest-body.nodejs-heap.grafana-pyroscope.pprof'));
    expect(heap.kind).toBe('heap');
    expect(heap.samples.length).toBe(5);
  });

  it('refuses a profile with neither wall time nor live heap, and bytes that are not pprof', () => {
    expect(() => decodePprof(fixture('pprof.nodejs-cpu.pyroscope-nodejs.pprof'))).toThrow(ProfileFormatError);
    expect(() => decodePprof(Buffer.from([0x1f, 0x8b, 1, 2, 3]))).toThrow(/does not inflate/);
  });

  it('splits the SDK frame names into file, function and line', () => {
    expect(splitFrameName('node:zlib:gzipSync:0')).toEqual({ name: 'gzipSync', file: 'node:zlib', line: 0 });
    expect(splitFrameName(':writeSync:0')).toEqual({ name: 'writeSync', file: '', line: 0 });
    expect(splitFrameName('./src/app.ts:render:42')).toEqual({
      name: 'render',
      file: './src/app.ts',
      line: 42,
    });
    expect(splitFrameName('runtime.kevent')).toEqual({ name: 'runtime.kevent', file: '', line: 0 });
    expect(splitFrameName(':RegExp: (a+)+$:0')).toEqual({ name: 'RegExp: (a+)+$', file: '', line: 0 });
    // An arrow function route handler, as Node 24's wall profiler names it (seen in the demo's pushes).
    expect(splitFrameName('./demo/src/app.ts:(anonymous:L#324:C#27):324')).toEqual({
      name: '(anonymous)',
      file: './demo/src/app.ts',
      line: 324,
    });
    expect(splitFrameName('file:///srv/app/orders.js:checkout:12')).toEqual({
      name: 'checkout',
      file: 'file:///srv/app/orders.js',
      line: 12,
    });
  });
});
