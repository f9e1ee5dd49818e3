import { describe, expect, it } from 'vitest';
import { correlate } from '../correlate.ts';
import { detect as eventLoopLag } from '../detectors/event-loop-lag.ts';
import { detect as memoryLeak } from '../detectors/memory-leak.ts';
import { finished, INSTANCE, LIMITS, route, runtime, SERVICE, snapshot } from '../detectors/testdata.ts';
import { EmbeddedProfileSource } from '../profiles/embedded.ts';
import type { Frame, StackSample } from '../profiles/model.ts';
import { withRecommendations } from '../recommend.ts';
import { readProfiles, routeHotFunction, serviceHotFunction } from './profiles.ts';

const NOW = 1_800_000_000_000;
const MS = 1e6; // a sample's value is nanoseconds

const frame = (name: string, file: string, line: number): Frame => ({ name, file, line });
const HANDLER = frame('handle', '/app/src/app.js', 40);
const REPORT = frame('compressReport', '/app/src/reports.js', 10);
const SCORE = frame('scoreItems', '/app/src/score.js', 16);
const GZIP = frame('syncBufferWrapper', 'node:zlib', 870);
const NATIVE = frame('zlibBufferSync', '', 0);

function sample(frames: Frame[], ms: number, spanName?: string): StackSample {
  return { frames, value: ms * MS, labels: spanName === undefined ? {} : { span_name: spanName } };
}

/** A minute of one service's wall profile: reports compress synchronously, scores compute, the rest idles. */
function source(): EmbeddedProfileSource {
  const profiles = new EmbeddedProfileSource({ now: () => NOW });
  profiles.ingest(
    { service: SERVICE, fromMs: NOW - 60_000, untilMs: NOW },
    {
      kind: 'wall',
      samples: [
        sample([NATIVE, GZIP, REPORT, HANDLER], 24_000, 'GET /reports/:id'),
        sample([SCORE, HANDLER], 6_000, 'GET /items/:id/score'),
        // Under Sentry's 40 ms: never named.
        sample([frame('tiny', '/app/src/tiny.js', 3), HANDLER], 30, 'GET /items/:id/score'),
        sample([frame('(idle)', '', 0)], 29_970),
      ],
    },
  );
  return profiles;
}

const routes = [
  route({ method: 'GET', route: '/reports/:id', requestRate: 5, p95Seconds: 0.9 }),
  route({ method: 'GET', route: '/items/:id/score', requestRate: 5, p95Seconds: 0.2 }),
];

describe('the profile step', () => {
  it('reads each service and its busiest routes, and names the function that held the thread', async () => {
    const s = snapshot({ runtime: [runtime()], routes });
    const data = await readProfiles(s, { source: source() });
    expect([...data.services.keys()]).toEqual([SERVICE]);
    expect([...data.routes.keys()].sort()).toEqual([
      `${SERVICE}\0GET /items/:id/score`,
      `${SERVICE}\0GET /reports/:id`,
    ]);
    const withProfiles = { ...s, profiles: data };
    expect(serviceHotFunction(withProfiles, SERVICE)).toMatchObject({
      function: 'compressReport',
      location: '/app/src/reports.js:10',
      callee: 'zlib.*Sync',
      callee_kind: 'node-api',
      share: 0.4,
      total_ms: 24_000,
      ms_per_s: 400,
    });
    // By total time the handler leads: both routes' time passed through it. The 30 ms frame is not named.
    expect(serviceHotFunction(withProfiles, SERVICE)?.by_total.split('\n')).toEqual([
      'handle (/app/src/app.js:40) 50 %',
      'compressReport (/app/src/reports.js:10) 40 %',
      'scoreItems (/app/src/score.js:16) 10 %',
    ]);
    // The route's own samples: the other route's function is not in them.
    const score = routeHotFunction(withProfiles, SERVICE, 'GET /items/:id/score');
    expect(score).toMatchObject({ function: 'scoreItems', route: 'GET /items/:id/score', frame_kind: 'app' });
    expect(score?.others).toBe('');
    expect(routeHotFunction(withProfiles, SERVICE, 'GET /nothing')).toBeUndefined();
  });

  it('puts the function in the blocked loop finding, and the advice is its async form', async () => {
    const s = snapshot({
      runtime: [runtime({ eventLoopP99Seconds: 0.3, eventLoopDelaySeconds: 0.3 })],
      routes,
    });
    const withProfiles = { ...s, profiles: await readProfiles(s, { source: source() }) };
    const [finding] = finished(eventLoopLag(withProfiles, LIMITS), withProfiles);
    expect(finding?.subject).toBe(INSTANCE);
    expect(finding?.evidence.values).toMatchObject({
      'hot_code.function': 'compressReport',
      'hot_code.location': '/app/src/reports.js:10',
      'hot_code.callee': 'zlib.*Sync',
    });
    expect(finding?.summary).toContain('compressReport (/app/src/reports.js:10), in zlib.*Sync, held 40 %');
    const advice = finding?.recommendations[0];
    expect(advice?.action).toContain('compressReport (/app/src/reports.js:10) calls zlib.*Sync');
    expect(advice?.action).toContain('zlib.gzip');
    expect(advice?.artifact).toContain(
      'handle (/app/src/app.js:40)\ncompressReport (/app/src/reports.js:10)',
    );
    expect(advice?.confidence).toBe('high');
  });

  it('without profiles, says nothing of code it did not see', async () => {
    const s = snapshot({
      runtime: [runtime({ eventLoopP99Seconds: 0.3, eventLoopDelaySeconds: 0.3 })],
      routes,
    });
    const empty = new EmbeddedProfileSource({ now: () => NOW });
    const data = await readProfiles(s, { source: empty });
    expect(data.services.size).toBe(0);
    const withProfiles = { ...s, profiles: data };
    const [finding] = correlate(eventLoopLag(withProfiles, LIMITS), withProfiles).map((d) =>
      withRecommendations(d, withProfiles),
    );
    expect(finding?.evidence.values['hot_code.function']).toBeUndefined();
    expect(finding?.recommendations[0]?.action).toContain('Record a CPU profile');
  });

  it('names the allocation site whose live heap grew, from the first and the last heap profile', async () => {
    const profiles = new EmbeddedProfileSource({ now: () => NOW });
    const CACHE = frame('renderProduct', '/app/src/products.js', 88);
    const ALLOC = frame('allocUnsafe', 'node:buffer', 390);
    const MB = 1_048_576;
    const heap = (cache: number, steady: number) => ({
      kind: 'heap' as const,
      samples: [
        { frames: [ALLOC, CACHE, HANDLER], value: cache * MB, labels: {} },
        { frames: [frame('Pool', '/app/node_modules/pg-pool/index.js', 70)], value: steady * MB, labels: {} },
      ],
    });
    profiles.ingest({ service: SERVICE, untilMs: NOW - 240_000 }, heap(10, 4));
    profiles.ingest({ service: SERVICE, untilMs: NOW - 120_000 }, heap(70, 4));
    profiles.ingest({ service: SERVICE, untilMs: NOW }, heap(130, 4.5));
    const s = snapshot({
      window: '5m',
      windowSeconds: 300,
      runtime: [runtime({ heapGrowthBytesPerHour: 1.8e9, heapUsedBytes: 200e6, majorGcs: 12 })],
      routes,
    });
    const withProfiles = { ...s, profiles: await readProfiles(s, { source: profiles }) };
    const [finding] = finished(memoryLeak(withProfiles, LIMITS), withProfiles);
    expect(finding?.evidence.values).toMatchObject({
      'growing_site.function': 'renderProduct',
      'growing_site.location': '/app/src/products.js:88',
      'growing_site.allocates_in': 'buffer.allocUnsafe',
      'growing_site.grown_bytes': 120 * MB,
      heap_profiles_apart_s: 240,
    });
    // pg-pool's 0.5 MB is under four heap samples' worth: not named.
    expect(finding?.evidence.values.other_growing_sites).toBeUndefined();
    expect(finding?.summary).toContain(
      'renderProduct (/app/src/products.js:88) holds 126 MB more live memory than 240 s earlier (100 % of the growth)',
    );
    const advice = finding?.recommendations[0];
    expect(advice?.action).toContain(
      'Find what keeps the objects renderProduct (/app/src/products.js:88) allocates',
    );
    expect(advice?.artifact).toContain(
      'handle (/app/src/app.js:40)\nrenderProduct (/app/src/products.js:88)',
    );
    // The heap snapshot comparison stays as the second step.
    expect(finding?.recommendations[1]?.artifact).toContain('--heapsnapshot-signal');
  });
});
