/**
 * The template variables the dashboards share. `service` is the Prometheus `job` (service.namespace/service.name),
 * the one service identity across metrics, traces and findings; the names passed to `selector` below are the
 * variables every PromQL query filters on.
 */

import { type QueryVariableBuilder, VariableHide } from '@grafana/grafana-foundation-sdk/dashboard';
import { ATTR, METRICS, PROMETHEUS_SERIES, prometheusSeries } from '@hotpath/instrumentation';
import { label, promVariable, selector } from './common.ts';

const HTTP_COUNT = prometheusSeries(METRICS.httpServerRequestDuration, 'count');

/** Label matchers for the variables: `{ job: 'service' }` → `job=~"$service"`. */
export const BY_SERVICE = { job: 'service' } as const;
export const BY_ROUTE = { job: 'service', [label(ATTR.httpRoute)]: 'route' } as const;
export const BY_INSTANCE = { job: 'service', instance: 'instance' } as const;
export const BY_PAGE = { job: 'service', [label(ATTR.pageRoute)]: 'page' } as const;
export const BY_TEST = { testid: 'testid' } as const;

/**
 * `service` from the series that say a service exists: the target info series (one per OTLP or pulled resource) for the
 * runtime and database views, the HTTP histogram where only HTTP services make sense.
 */
export function serviceVariable(from: 'resources' | 'http'): QueryVariableBuilder {
  const metric = from === 'http' ? HTTP_COUNT : PROMETHEUS_SERIES.targetInfo;
  return promVariable('service', `label_values(${metric}, job)`, {
    label: 'Service',
    description: 'Prometheus job: service.namespace/service.name of the instrumented app.',
  });
}

/**
 * `profile_service`: the selected services as Pyroscope names them. The SDK pushes under `service.name` alone
 * (its `service_name` label), while the Prometheus job is `service.namespace/service.name`: the job's last part.
 * Hidden; it follows `service`.
 */
export function profileServiceVariable(): QueryVariableBuilder {
  return promVariable(
    'profile_service',
    `label_values(${selector(PROMETHEUS_SERIES.targetInfo, BY_SERVICE)}, job)`,
    {
      label: 'Profiled service',
      description: 'service.name of the selected services, the service_name label of their profiles.',
    },
  )
    .regex('/^(?:.*\\/)?([^/]+)$/')
    .hide(VariableHide.HideVariable);
}

export function routeVariable(): QueryVariableBuilder {
  return promVariable(
    'route',
    `label_values(${selector(HTTP_COUNT, BY_SERVICE)}, ${label(ATTR.httpRoute)})`,
    {
      label: 'Route',
      description: 'HTTP route template (http.route), e.g. /api/products/:id.',
    },
  );
}

export function instanceVariable(): QueryVariableBuilder {
  return promVariable(
    'instance',
    `label_values(${selector(PROMETHEUS_SERIES.targetInfo, BY_SERVICE)}, instance)`,
    {
      label: 'Instance',
      description: 'One process of the service (the scrape target, or service.instance.id over OTLP).',
    },
  );
}

export function pageVariable(): QueryVariableBuilder {
  const pageLoads = prometheusSeries(METRICS.browserPageLoadDuration, 'count');
  return promVariable('page', `label_values(${selector(pageLoads, BY_SERVICE)}, ${label(ATTR.pageRoute)})`, {
    label: 'Page',
    description: 'Page route (page.route) reported by real browsers.',
  });
}

export function testIdVariable(): QueryVariableBuilder {
  return promVariable('testid', `label_values(${PROMETHEUS_SERIES.k6Vus}, testid)`, {
    label: 'Test run',
    description: 'k6 test run (the testid tag the load profiles set).',
    // A run without the tag has no testid label at all; `.*` still matches it.
    allValue: '.*',
  });
}
