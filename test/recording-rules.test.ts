// integration-test: runs-beside-others (no latency is asserted here; test/projects.ts)
/**
 * The recording rules shipped for the compose stack: promtool accepts them, every expression parses with the
 * PromQL grammar and uses only catalogued names, the committed file is what the code generates, and on the test
 * Prometheus filled by real demo traffic every expression returns data and every record is written.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordingRuleGroups } from '@hotpath/instrumentation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedFiles } from '../scripts/generate.ts';
import type { DemoProcess } from '../scripts/lib/demo.ts';
import { REPO_ROOT } from '../scripts/lib/demo.ts';
import { drive, eventually, promQuery, startTestDemo } from './harness.ts';
import { KNOWN_SERIES, parsePromql } from './promql.ts';

const RULES_FILE = 'stack/prometheus/rules/hotpath.rules.yml';
const rules = recordingRuleGroups().flatMap((g) => g.rules);

describe('recording rules', () => {
  it('are what the code generates (run npm run generate after changing it)', () => {
    for (const file of generatedFiles()) {
      expect(readFileSync(join(REPO_ROOT, file.path), 'utf8'), file.path).toBe(file.content);
    }
  });

  it('pass promtool check rules', () => {
    const out = execFileSync('promtool', ['check', 'rules', join(REPO_ROOT, RULES_FILE)], {
      encoding: 'utf8',
    });
    expect(out).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it.each(rules.map((r) => [r.record, r.expr]))('%s parses and uses only catalogued names', (_, expr) => {
    const parsed = parsePromql(expr);
    expect(parsed.errors).toEqual([]);
    expect(parsed.metricNames.length).toBeGreaterThan(0);
    for (const name of parsed.metricNames) expect(KNOWN_SERIES.has(name), name).toBe(true);
  });

  describe('on the test Prometheus, after demo traffic', () => {
    let demo: DemoProcess;
    const paths = ['/api/products/1', '/api/customers/5/orders', '/api/stats'];
    const checkout = () =>
      fetch(`${demo.url}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ customerId: 1, productId: 2 }),
      });
    /** Recent traffic: the rules' rates look back one minute, and a slow suite can outlast that. */
    const traffic = () =>
      drive(60, 4, (i) => (i % 4 === 0 ? checkout() : fetch(`${demo.url}${paths[i % paths.length]}`)));
    beforeAll(async () => {
      demo = await startTestDemo({ scenarios: ['error-burst'] });
      await traffic();
    });
    afterAll(() => demo?.stop());

    it.each(rules.map((r) => [r.record, r.expr]))('%s returns data for the demo', async (_, expr) => {
      await eventually(async () => {
        const result = await promQuery(`${expr}`);
        expect(result.filter((s) => s.metric.job === demo.service).length).toBeGreaterThan(0);
      }, 30_000);
    });

    it('writes every recorded series', async () => {
      await traffic();
      await eventually(async () => {
        for (const { record } of rules) {
          const result = await promQuery(`${record}{job="${demo.service}"}`);
          expect(result.length, record).toBeGreaterThan(0);
        }
      }, 30_000);
      // error-burst fails 2 of 5 checkouts: the recorded ratio for the checkout route says so.
      await eventually(async () => {
        const [ratio] = await promQuery(
          `job_route:http_server_request_duration_seconds_count:error_ratio_rate1m{job="${demo.service}", http_route="/api/orders"}`,
        );
        expect(ratio?.value).toBeGreaterThan(0.2);
        expect(ratio?.value).toBeLessThan(0.6);
      }, 30_000);
    });
  });
});
