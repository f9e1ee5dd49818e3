/**
 * provisioning/ against Grafana's documented file formats (schemas below, from
 * https://grafana.com/docs/grafana/latest/administration/provisioning/), and every datasource uid referenced
 * anywhere in provisioning/ or grafana/dashboards/ against the ones provisioned.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DATASOURCE_UIDS } from '@hotpath/grafana';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { PROFILE_TYPE_IDS } from '../../analyzer/src/profiles/pyroscope.ts';
import { REPO_ROOT } from '../../scripts/lib/demo.ts';
import { containerPorts, hostPort, loadCompose, SHARED_FIXTURES, serviceEnv } from './compose.ts';

const exemplarDestination = z.strictObject({
  name: z.string().min(1),
  datasourceUid: z.string().optional(),
  url: z.string().optional(),
  urlDisplayLabel: z.string().optional(),
});

/** A datasource entry: the keys Grafana's provisioning reader accepts (pkg/services/provisioning/datasources). */
const datasource = z.strictObject({
  orgId: z.number().int().optional(),
  orgName: z.string().optional(),
  version: z.number().int().optional(),
  name: z.string().min(1),
  type: z.string().min(1),
  access: z.enum(['proxy', 'direct']).optional(),
  url: z.string().optional(),
  user: z.string().optional(),
  database: z.string().optional(),
  basicAuth: z.boolean().optional(),
  basicAuthUser: z.string().optional(),
  withCredentials: z.boolean().optional(),
  isDefault: z.boolean().optional(),
  correlations: z.array(z.unknown()).optional(),
  jsonData: z.record(z.string(), z.unknown()).optional(),
  secureJsonData: z.record(z.string(), z.string()).optional(),
  editable: z.boolean().optional(),
  uid: z.string().regex(/^[a-zA-Z0-9_-]{1,40}$/),
});

const datasourcesFile = z.strictObject({
  apiVersion: z.literal(1),
  prune: z.boolean().optional(),
  deleteDatasources: z.array(z.strictObject({ name: z.string(), orgId: z.number().optional() })).optional(),
  datasources: z.array(datasource),
});

const dashboardProvidersFile = z.strictObject({
  apiVersion: z.literal(1),
  providers: z.array(
    z.strictObject({
      name: z.string().min(1),
      orgId: z.number().int().optional(),
      folder: z.string().optional(),
      folderUid: z.string().optional(),
      type: z.literal('file'),
      disableDeletion: z.boolean().optional(),
      updateIntervalSeconds: z.number().int().positive().optional(),
      allowUiUpdates: z.boolean().optional(),
      options: z.strictObject({
        path: z.string().startsWith('/'),
        foldersFromFilesStructure: z.boolean().optional(),
      }),
    }),
  ),
});

/** Alerting file (pkg/services/provisioning/alerting/file_v1.go): the top-level keys and a rule's keys. */
const alertQuery = z.strictObject({
  refId: z.string(),
  queryType: z.string().optional(),
  relativeTimeRange: z.strictObject({ from: z.number(), to: z.number() }).optional(),
  datasourceUid: z.string(),
  model: z.record(z.string(), z.unknown()),
});
const alertingFile = z.strictObject({
  apiVersion: z.literal(1),
  groups: z.array(
    z.strictObject({
      orgId: z.number().int(),
      name: z.string().min(1),
      folder: z.string().min(1),
      interval: z.string().regex(/^\d+[smh]$/),
      rules: z.array(
        z.strictObject({
          uid: z.string().max(40),
          title: z.string().min(1),
          condition: z.string(),
          data: z.array(alertQuery).min(1),
          dashboardUid: z.string().optional(),
          panelId: z.number().int().optional(),
          noDataState: z.enum(['NoData', 'Alerting', 'OK']),
          execErrState: z.enum(['Error', 'Alerting', 'OK']),
          for: z.string().regex(/^\d+[smh]$/),
          annotations: z.record(z.string(), z.string()),
          labels: z.record(z.string(), z.string()),
          isPaused: z.boolean(),
        }),
      ),
    }),
  ),
  templates: z.array(z.strictObject({ orgId: z.number(), name: z.string(), template: z.string() })),
  contactPoints: z.array(
    z.strictObject({
      orgId: z.number(),
      name: z.string(),
      receivers: z.array(
        z.strictObject({
          uid: z.string(),
          type: z.enum(['email', 'slack', 'webhook']),
          settings: z.record(z.string(), z.unknown()),
          disableResolveMessage: z.boolean().optional(),
        }),
      ),
    }),
  ),
  policies: z.array(z.record(z.string(), z.unknown())),
  muteTimes: z.array(
    z.strictObject({
      orgId: z.number(),
      name: z.string(),
      time_intervals: z.array(z.record(z.string(), z.unknown())),
    }),
  ),
});

const prometheusJsonData = z.object({
  httpMethod: z.enum(['GET', 'POST']),
  timeInterval: z.string().regex(/^\d+[smh]$/),
  exemplarTraceIdDestinations: z.array(exemplarDestination),
});
const tempoJsonData = z.object({
  tracesToMetrics: z.strictObject({
    datasourceUid: z.string(),
    spanStartTimeShift: z.string(),
    spanEndTimeShift: z.string(),
    tags: z.array(z.strictObject({ key: z.string(), value: z.string().optional() })),
    queries: z.array(z.strictObject({ name: z.string(), query: z.string() })),
  }),
  // The options of Grafana's TraceToProfilesSettings (fixture README §4); a misspelt key fails here.
  tracesToProfiles: z.strictObject({
    datasourceUid: z.string(),
    tags: z.array(z.strictObject({ key: z.string(), value: z.string().optional() })).optional(),
    spanStartTimeShift: z.string().optional(),
    spanEndTimeShift: z.string().optional(),
    query: z.string().optional(),
    profileTypeId: z.string().regex(/^[a-z_]+:[a-z_]+:[a-z_]+:[a-z_]+:[a-z_]+$/),
    customQuery: z.boolean(),
  }),
  serviceMap: z.strictObject({ datasourceUid: z.string() }),
  nodeGraph: z.strictObject({ enabled: z.boolean() }),
  search: z.strictObject({ hide: z.boolean() }),
  streamingEnabled: z.strictObject({ search: z.boolean(), metrics: z.boolean() }),
});

function files(dir: string, ext: RegExp): string[] {
  const root = join(REPO_ROOT, dir);
  return readdirSync(root).flatMap((name) => {
    const path = join(root, name);
    if (statSync(path).isDirectory()) return files(relative(REPO_ROOT, path), ext);
    return ext.test(name) ? [relative(REPO_ROOT, path)] : [];
  });
}
const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const compose = loadCompose();
const grafanaEnv = serviceEnv(compose.services.grafana ?? {});

describe('Grafana provisioning', () => {
  const parsedDatasources = datasourcesFile.parse(parse(read('provisioning/datasources/hotpath.yaml')));

  it('datasources match the provisioning format, with the fixed uids', () => {
    expect(parsedDatasources.datasources.map((d) => d.uid).sort()).toEqual(
      Object.values(DATASOURCE_UIDS).sort(),
    );
    const byUid = new Map(parsedDatasources.datasources.map((d) => [d.uid, d]));
    prometheusJsonData.parse(byUid.get(DATASOURCE_UIDS.prometheus)?.jsonData);
    const tempo = tempoJsonData.parse(byUid.get(DATASOURCE_UIDS.tempo)?.jsonData);
    // Spans link to the Pyroscope datasource, by the type id the official provisioning examples use.
    const pyroscope = byUid.get(DATASOURCE_UIDS.pyroscope);
    expect(pyroscope?.type).toBe('grafana-pyroscope-datasource');
    expect(tempo.tracesToProfiles.datasourceUid).toBe(DATASOURCE_UIDS.pyroscope);
    // The wall profile type the Node SDK's pushes become (the analyzer's Pyroscope client asks for the same).
    expect(tempo.tracesToProfiles.profileTypeId).toBe(PROFILE_TYPE_IDS.wall);
    const upstream = (example: string) =>
      parse(readFileSync(join(SHARED_FIXTURES, 'pyroscope', example), 'utf8')) as {
        datasources: { type: string; jsonData?: Record<string, unknown> }[];
      };
    // Our Pyroscope jsonData keys are ones the docs' provisioning example uses.
    const docs = upstream('grafana-provisioning.pyroscope-datasource.grafana-docs.yaml').datasources.find(
      (d) => d.type === 'grafana-pyroscope-datasource',
    );
    for (const key of Object.keys((pyroscope?.jsonData as Record<string, unknown>) ?? {}))
      expect(Object.keys(docs?.jsonData ?? {})).toContain(key);
    // Pyroscope's own working example: its tracesToProfiles passes the same schema.
    const example = upstream('grafana-provisioning.tempo-and-pyroscope.grafana-pyroscope-example.yaml');
    tempoJsonData.shape.tracesToProfiles.parse(
      example.datasources.find((d) => d.type === 'tempo')?.jsonData?.tracesToProfiles,
    );
    expect(parsedDatasources.datasources.filter((d) => d.isDefault)).toHaveLength(1);
  });

  it('the schema is strict enough to catch a misspelt key', () => {
    const bad = structuredClone(parse(read('provisioning/datasources/hotpath.yaml')));
    bad.datasources[0].jsonDta = {};
    expect(datasourcesFile.safeParse(bad).success).toBe(false);
  });

  it('dashboard providers match the provisioning format and point where compose mounts the dashboards', () => {
    const providers = dashboardProvidersFile.parse(
      parse(read('provisioning/dashboards/hotpath.yaml')),
    ).providers;
    const mounts = (compose.services.grafana?.volumes ?? []).filter(
      (v): v is string => typeof v === 'string',
    );
    for (const p of providers) expect(mounts).toContain(`./grafana/dashboards:${p.options.path}:ro`);
    expect(mounts).toContain('./provisioning:/etc/grafana/provisioning:ro');
  });

  it('alerting follows the provisioning format: conditions name a query, policies name contact points', () => {
    const alerting = alertingFile.parse(parse(read('provisioning/alerting/hotpath.yaml')));
    for (const rule of alerting.groups.flatMap((g) => g.rules)) {
      expect(
        rule.data.map((d) => d.refId),
        rule.uid,
      ).toContain(rule.condition);
    }
    const receivers = new Set(alerting.contactPoints.map((c) => c.name));
    const policyText = JSON.stringify(alerting.policies);
    for (const name of policyText.match(/"receiver":"([^"]+)"/g) ?? []) {
      expect(receivers.has(name.split('"')[3] ?? ''), name).toBe(true);
    }
    for (const mute of policyText.match(/"mute_time_intervals":\["([^"]+)"/g) ?? []) {
      expect(alerting.muteTimes.map((m) => m.name)).toContain(mute.split('"')[3]);
    }
  });

  it('every datasource uid referenced anywhere is provisioned', () => {
    const known = new Set(parsedDatasources.datasources.map((d) => d.uid));
    const referenced: [string, string][] = [];
    const collect = (file: string, value: unknown) => {
      if (Array.isArray(value)) {
        for (const v of value) collect(file, v);
      } else if (value !== null && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) {
          if (k === 'datasourceUid' && typeof v === 'string') referenced.push([file, v]);
          if (k === 'datasource' && v !== null && typeof v === 'object' && 'uid' in v)
            referenced.push([file, String(v.uid)]);
          collect(file, v);
        }
      }
    };
    for (const file of [...files('provisioning', /\.ya?ml$/), ...files('grafana/dashboards', /\.json$/)]) {
      collect(file, file.endsWith('.json') ? JSON.parse(read(file)) : parse(read(file)));
    }
    expect(referenced.length).toBeGreaterThan(2);
    for (const [file, uid] of referenced) {
      // __expr__ is Grafana's built-in server-side expression datasource; template variables resolve at runtime.
      if (uid === '__expr__' || uid.startsWith('$')) continue;
      expect(known.has(uid), `${file} references unknown datasource uid ${uid}`).toBe(true);
    }
  });

  it('datasource URLs name compose services and ports they listen on', () => {
    for (const d of parsedDatasources.datasources) {
      const { host, port } = hostPort(d.url ?? '');
      expect(containerPorts(compose.services[host] ?? {}).has(port), `${d.name}: ${d.url}`).toBe(true);
    }
  });

  it('every $VAR the provisioning files read is set in the grafana service', () => {
    for (const file of files('provisioning', /\.ya?ml$/)) {
      // $$ is Grafana's escape for a literal $ (e.g. $$__rate_interval): not a variable.
      const vars = [
        ...read(file)
          .replaceAll('$$', '')
          .matchAll(/\$\{?([A-Z][A-Z0-9_]*)\}?/g),
      ].map((m) => m[1] ?? '');
      for (const v of vars) expect(grafanaEnv[v], `${file} reads $${v}`).toBeTruthy();
    }
  });

  it('runs Grafana with admin credentials from the environment and anonymous access off', () => {
    expect(grafanaEnv.GF_AUTH_ANONYMOUS_ENABLED).toBe('false');
    const raw = read('docker-compose.yml');
    expect(raw).toMatch(/GF_SECURITY_ADMIN_USER: \$\{GRAFANA_ADMIN_USER:-admin\}/);
    expect(raw).toMatch(/GF_SECURITY_ADMIN_PASSWORD: \$\{GRAFANA_ADMIN_PASSWORD:-hotpath\}/);
  });
});
