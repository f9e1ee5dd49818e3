/**
 * Load tests: k6 results (remote-written to Prometheus) next to what the service under test measured itself.
 * The k6 thresholds come from the same SLO file, so the lines here are the ones a run passes or fails on.
 */

import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import type { SloFile } from '@hotpath/analyzer/slo';
import { PROMETHEUS_SERIES, RECORDED } from '@hotpath/instrumentation';
import { finish, hotpathDashboard, promTarget, rate, selector } from './common.ts';
import { series } from './panels.ts';
import { BY_SERVICE, BY_TEST, serviceVariable, testIdVariable } from './variables.ts';

export const LOAD_TESTS_UID = 'hotpath-load-tests';

const K6 = PROMETHEUS_SERIES;
const BY_NAME = '{{testid}} {{name}}';

export function loadTestsDashboard(slo: SloFile): Record<string, unknown> {
  const { api } = slo.defaults;
  const apiP95 = api.latency_p95_ms / 1000;

  const builder = hotpathDashboard({
    uid: LOAD_TESTS_UID,
    title: 'Hotpath / Load tests',
    description:
      'k6 runs: load, throughput, failures and latency against the SLOs, beside the server-side view.',
    range: '30m',
  })
    .withVariable(testIdVariable())
    .withVariable(serviceVariable('http'))
    .withRow(new RowBuilder('k6'))
    .withPanel(
      series({
        title: 'Virtual users',
        description: 'Concurrent k6 virtual users.',
        unit: 'short',
        targets: [promTarget(`sum by (testid) (${selector(K6.k6Vus, BY_TEST)})`, '{{testid}}')],
        span: 8,
      }),
    )
    .withPanel(
      series({
        title: 'k6 request rate',
        description: 'HTTP requests per second k6 sent.',
        unit: 'reqps',
        targets: [promTarget(`sum by (testid) (${rate(K6.k6HttpRequests, BY_TEST)})`, '{{testid}}')],
        span: 8,
      }),
    )
    .withPanel(
      series({
        title: 'k6 failed request rate',
        description: `Share of failed requests per request name (k6 http_req_failed). Objective: < ${api.error_rate_percent} %.`,
        unit: 'percentunit',
        targets: [
          promTarget(`max by (testid, name) (${selector(K6.k6HttpRequestFailedRate, BY_TEST)})`, BY_NAME),
        ],
        limit: api.error_rate_percent / 100,
        span: 8,
      }),
    )
    .withPanel(
      series({
        title: 'k6 request duration p95 / p99',
        description: `Request duration as k6 measured it (network included), per request name. Objective: p95 < ${api.latency_p95_ms} ms.`,
        unit: 's',
        targets: [
          // A native histogram: the quantile of the sum over series (no `le`), exact across VUs and instances.
          promTarget(
            `histogram_quantile(0.95, sum by (testid, name) (${rate(K6.k6HttpRequestDuration, BY_TEST)}))`,
            `${BY_NAME} p95`,
          ),
          promTarget(
            `histogram_quantile(0.99, sum by (testid, name) (${rate(K6.k6HttpRequestDuration, BY_TEST)}))`,
            `${BY_NAME} p99`,
          ),
        ],
        limit: apiP95,
      }),
    )
    .withPanel(
      series({
        title: 'k6 checks passed',
        description: 'Share of k6 checks that passed.',
        unit: 'percentunit',
        targets: [promTarget(`min by (testid) (${selector(K6.k6ChecksRate, BY_TEST)})`, '{{testid}}')],
      }),
    )
    .withRow(new RowBuilder('Service under test'))
    .withPanel(
      series({
        title: 'Server-side p95 during the run',
        description: `p95 the service itself recorded: the gap to k6's p95 is network and client time. Objective: p95 < ${api.latency_p95_ms} ms.`,
        unit: 's',
        targets: [
          promTarget(
            `histogram_quantile(0.95, sum by (job, le) (${selector(RECORDED.routeBucketRate, BY_SERVICE)}))`,
            '{{job}}',
          ),
        ],
        limit: apiP95,
        span: 24,
      }),
    );
  return finish(builder);
}
