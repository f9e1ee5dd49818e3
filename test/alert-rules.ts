/**
 * Alert rules evaluated as Grafana evaluates them (the query A, then the threshold on its last value: the
 * A → B → C chain), on the real test Prometheus; `for:` durations are not waited out.
 */
import type { AlertRuleSpec } from '@hotpath/grafana';
import { expect } from 'vitest';
import { eventually, type PromSample, promQuery } from './harness.ts';

/** The series for which the rule's condition holds now (value of A > threshold), of `job` when given. */
export async function firing(rule: AlertRuleSpec, job?: string): Promise<PromSample[]> {
  const result = await promQuery(rule.query);
  return result.filter((s) => (job === undefined || s.metric.job === job) && s.value > rule.threshold);
}

/** Waits until `rule` fires for `job`; resolves with the firing series. */
export async function expectFires(
  rule: AlertRuleSpec,
  job: string | undefined,
  timeoutMs = 30_000,
): Promise<PromSample[]> {
  return eventually(
    async () => {
      const series = await firing(rule, job);
      expect(series.length, `${rule.uid} should fire for ${job}`).toBeGreaterThan(0);
      return series;
    },
    timeoutMs,
    1000,
  );
}
