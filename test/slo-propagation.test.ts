/**
 * One number in slo.yaml drives three consumers: change it, and the Grafana alert threshold, the analyzer's
 * detector limit and the k6 threshold all change — with nothing else edited.
 */
import { readFileSync } from 'node:fs';
import { limitsFor } from '@hotpath/analyzer/limits';
import { DEFAULT_SLO_FILE, loadSlo, objectivesFor, parseSlo } from '@hotpath/analyzer/slo';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generatedFiles, K6_TARGET_SERVICE } from '../scripts/generate.ts';

interface AlertingFile {
  groups: {
    rules: {
      uid: string;
      data: { refId: string; model: { expr?: string; conditions?: { evaluator: { params: number[] } }[] } }[];
    }[];
  }[];
}

function consumers(slo: ReturnType<typeof loadSlo>) {
  const files = new Map(generatedFiles(slo).map((f) => [f.path, f.content]));
  const alerting = parse(files.get('provisioning/alerting/hotpath.yaml') ?? '') as AlertingFile;
  const rule = alerting.groups.flatMap((g) => g.rules).find((r) => r.uid === 'hp-api-p95-default');
  const threshold = rule?.data.find((d) => d.refId === 'C')?.model.conditions?.[0]?.evaluator.params[0];
  const expr = rule?.data.find((d) => d.refId === 'A')?.model.expr ?? '';
  const k6 = JSON.parse(files.get('k6/lib/slo.json') ?? '{}') as { api: { latency_p95_ms: number } };
  const analyzer = limitsFor(objectivesFor(slo, K6_TARGET_SERVICE)).slowEndpoint.p95Seconds;
  return { threshold, expr, k6: k6.api.latency_p95_ms, analyzer };
}

describe('slo.yaml is the one source of the SLO numbers', () => {
  it('changing the API p95 objective changes the alert, the analyzer limit and the k6 threshold', () => {
    const before = consumers(loadSlo());
    expect(before).toMatchObject({ threshold: 0.2, k6: 200, analyzer: 0.2 });
    expect(before.expr).toContain('> 0.2 and');

    const text = readFileSync(DEFAULT_SLO_FILE, 'utf8');
    const changed = text.replace(/^(\s+latency_p95_ms:) 200\b/m, '$1 321');
    expect(changed).not.toBe(text);
    const after = consumers(parseSlo(changed));
    expect(after).toMatchObject({ threshold: 0.321, k6: 321, analyzer: 0.321 });
    expect(after.expr).toContain('> 0.321 and');
  });
});
