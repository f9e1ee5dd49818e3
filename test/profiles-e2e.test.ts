/**
 * Profiles end to end: the demo pushes its profiles (real Pyroscope SDK) to `hotpath serve`'s receiver while
 * its metrics go to the real Prometheus and its traces to the same receiver. With `memory-leak` on, the leak
 * finding must name the allocation site in the demo's code whose live heap grew between the window's first and
 * last heap profile; with `slow-endpoint` on, the slow route's finding must name the demo's scoring code, from
 * that route's own samples.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAnalyzer, type TestAnalyzer } from './analyzer.ts';
import { drive, promQuery, scraped, shopDatabase, startTestDemo } from './harness.ts';

describe('profiles end to end (embedded profile source)', () => {
  let analyzer: TestAnalyzer;

  beforeAll(async () => {
    analyzer = await startTestAnalyzer({ HOTPATH_WINDOW: '1m' });
  });
  afterAll(async () => {
    await analyzer?.stop();
  });

  /** The demo with `scenario` on, its traces and profiles sent to the analyzer's receiver. */
  const profiledDemo = async (scenario: string) =>
    startTestDemo({
      scenarios: [scenario],
      databaseUrl: await shopDatabase('profiles'),
      otlpEndpoint: analyzer.otlpUrl,
      profilesEndpoint: analyzer.otlpUrl,
    });

  it('memory-leak: the finding names the allocation site that grew, in the demo’s own code', async () => {
    const demo = await profiledDemo('memory-leak');
    try {
      await scraped(demo.service);
      // ~20 product views a second (5 MB/s retained) for at least 35 s and at most 75 s, so heap pushes every 10 s see it grow,
      // and on until the heap after GC has changed three times: the detector fits a trend only on three major
      // collections or more. V8 raises the old space's limit as a leak grows, the faster the leak the fewer the
      // collections: at 10 MB/s 35 s sometimes saw two, and 20 MB/s saw two in 55 s.
      const live = `hotpath_v8js_heap_live_bytes{job="${demo.service}"}`;
      const started = Date.now();
      let n = 0;
      let collections = 0;
      while (Date.now() - started < 35_000 || (collections < 3 && Date.now() - started < 75_000)) {
        const batchUntil = Date.now() + 5_000;
        while (Date.now() < batchUntil) {
          await new Promise((r) => setTimeout(r, 50));
          await (await fetch(`${demo.url}/api/products/${1 + (n++ % 1000)}`)).arrayBuffer();
        }
        collections = (await promQuery(`changes(${live}[2m])`))[0]?.value ?? 0;
      }
      console.log(
        `[profiles e2e] leak for ${Date.now() - started} ms, ${collections + 1} heap-after-GC values`,
      );
      // One more push after the traffic: the last heap profile holds all of it.
      await new Promise((r) => setTimeout(r, 11_000));
      await analyzer.analyze('2m');
      const findings = await analyzer.findings(demo.service, 'kind=memory-leak&status=open');
      const leak = findings[0];
      console.log(
        `[profiles e2e] ${JSON.stringify(leak?.evidence.values)}\n${leak?.recommendations[0]?.action ?? ''}`,
      );
      expect(findings).toHaveLength(1);
      expect(String(leak?.evidence.values['growing_site.location'])).toMatch(/demo\/src\/app\.ts:\d+$/);
      expect(Number(leak?.evidence.values['growing_site.grown_bytes'])).toBeGreaterThan(50e6);
      expect(leak?.recommendations[0]?.action).toContain(
        `Find what keeps the objects ${leak?.evidence.values['growing_site.function']} (${leak?.evidence.values['growing_site.location']}) allocates`,
      );
    } finally {
      await demo.stop();
    }
  }, 180_000);

  it('slow-endpoint: the route’s finding names the scoring code from its own samples', async () => {
    const demo = await profiledDemo('slow-endpoint');
    const route = 'GET /api/products/:id/recommendations';
    try {
      await scraped(demo.service);
      // Two at a time for ~30 s, with cheap pages beside it: the scoring route's samples are its own.
      const until = Date.now() + 30_000;
      while (Date.now() < until) {
        await drive(6, 2, (i) =>
          fetch(
            i % 3 === 0
              ? `${demo.url}/api/products?limit=5`
              : `${demo.url}/api/products/${1 + i}/recommendations`,
          ),
        );
      }
      await new Promise((r) => setTimeout(r, 11_000));
      await analyzer.analyze('1m');
      const findings = await analyzer.findings(demo.service, 'status=open');
      const slow = findings.find((f) => f.kind === 'slow-endpoint' && f.subject === route);
      console.log(
        `[profiles e2e] ${findings.map((f) => `${f.kind} ${f.subject}`).join(', ')}\n${JSON.stringify(slow?.evidence.values)}`,
      );
      expect(slow?.evidence.values['hot_code.route']).toBe(route);
      expect(String(slow?.evidence.values['hot_code.location'])).toMatch(/demo\/src\/app\.ts:\d+$/);
      expect(slow?.evidence.values['hot_code.frame_kind']).toBe('app');
      expect(slow?.recommendations[0]?.action).toContain('computes on the main thread');
    } finally {
      await demo.stop();
    }
  }, 180_000);
});
