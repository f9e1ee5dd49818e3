/**
 * otel-collector.yaml against the component list of the pinned otelcol-contrib 0.159.0 (its release manifest,
 * in ../shared/fixtures/collector) and against the compose file. The collector cannot run here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  containerPorts,
  hostPort,
  loadCompose,
  readRepoFile,
  SHARED_FIXTURES,
  serviceEnv,
} from './compose.ts';

const KINDS = ['receivers', 'processors', 'exporters', 'connectors', 'extensions'] as const;
type Kind = (typeof KINDS)[number];

const components = JSON.parse(
  readFileSync(join(SHARED_FIXTURES, 'collector', 'otelcol-contrib-0.159.0-components.json'), 'utf8'),
) as Record<Kind, string[]> & {
  version: string;
  connector_signals: Record<string, Record<string, string[]>>;
};

interface Pipeline {
  receivers?: string[];
  processors?: string[];
  exporters?: string[];
}
interface CollectorConfig extends Partial<Record<Kind, Record<string, Record<string, unknown> | null>>> {
  service: {
    extensions?: string[];
    pipelines: Record<string, Pipeline>;
    telemetry?: Record<string, unknown>;
  };
}

const raw = readRepoFile('otel-collector.yaml');
const config = parse(raw) as CollectorConfig;
const compose = loadCompose();
const typeOf = (id: string) => id.split('/', 1)[0] ?? id;

describe('otel-collector.yaml', () => {
  it('pins the version whose component list the checks use', () => {
    expect(components.version).toContain('0.159.0');
    expect(compose.services['otel-collector']?.image).toBe('otel/opentelemetry-collector-contrib:0.159.0');
    expect(raw.split('\n')[0]).toContain('0.159.0');
    expect(raw).toMatch(/https:\/\/opentelemetry\.io\/docs\/collector\/configuration\//);
  });

  it('uses only canonical 0.159.0 type names (no deprecated aliases), named type/purpose', () => {
    for (const kind of KINDS) {
      for (const id of Object.keys(config[kind] ?? {})) {
        expect(components[kind], `${kind}.${id}`).toContain(typeOf(id));
        // otlp is the receiver's whole name; everything else says what it is for.
        if (!(kind === 'receivers' && id === 'otlp') && kind !== 'extensions')
          expect(id, kind).toContain('/');
      }
    }
  });

  it('defines every component a pipeline uses, and uses every component it defines', () => {
    const used = new Map<Kind, Set<string>>(KINDS.map((k) => [k, new Set()]));
    for (const [name, pipeline] of Object.entries(config.service.pipelines)) {
      for (const kind of ['receivers', 'processors', 'exporters'] as const) {
        for (const id of pipeline[kind] ?? []) {
          const defined = Object.hasOwn(config[kind] ?? {}, id) || Object.hasOwn(config.connectors ?? {}, id);
          expect(defined, `pipeline ${name} uses undefined ${kind} ${id}`).toBe(true);
          used.get(Object.hasOwn(config.connectors ?? {}, id) ? 'connectors' : kind)?.add(id);
        }
      }
    }
    for (const id of config.service.extensions ?? []) {
      expect(Object.hasOwn(config.extensions ?? {}, id), `service.extensions names undefined ${id}`).toBe(
        true,
      );
      used.get('extensions')?.add(id);
    }
    for (const kind of KINDS) {
      for (const id of Object.keys(config[kind] ?? {}))
        expect(used.get(kind)?.has(id), `${kind}.${id} is unused`).toBe(true);
    }
  });

  it('has one pipeline per signal, memory_limiter first and batch last', () => {
    const signals = Object.keys(config.service.pipelines).map((n) => n.split('/', 1)[0]);
    expect(new Set(signals).size).toBe(signals.length);
    expect(signals.sort()).toEqual(['metrics', 'traces']);
    for (const [name, p] of Object.entries(config.service.pipelines)) {
      expect(typeOf(p.processors?.[0] ?? ''), name).toBe('memory_limiter');
      expect(typeOf(p.processors?.at(-1) ?? ''), name).toBe('batch');
    }
  });

  it('gives every exporter retries and a persistent queue on a started storage extension', () => {
    for (const [id, exporter] of Object.entries(config.exporters ?? {})) {
      const e = exporter as {
        retry_on_failure?: { enabled?: boolean };
        sending_queue?: { storage?: string };
      };
      expect(e.retry_on_failure?.enabled, id).toBe(true);
      const storage = e.sending_queue?.storage ?? '';
      expect(typeOf(storage), id).toBe('file_storage');
      expect(config.service.extensions, id).toContain(storage);
    }
  });

  it('sends to compose services on ports they listen on, and listens where compose publishes', () => {
    for (const [id, exporter] of Object.entries(config.exporters ?? {})) {
      const { host, port } = hostPort(String((exporter as { endpoint: string }).endpoint));
      expect(containerPorts(compose.services[host] ?? {}).has(port), `${id} → ${host}:${port}`).toBe(true);
    }
    const published = containerPorts(compose.services['otel-collector'] ?? {});
    const otlp = config.receivers?.otlp as { protocols: Record<string, { endpoint: string }> } | undefined;
    const health = config.extensions?.health_check as { endpoint: string } | undefined;
    const listening = [
      ...Object.values(otlp?.protocols ?? {}).map((p) => hostPort(p.endpoint).port),
      hostPort(String(health?.endpoint)).port,
      8888,
    ];
    for (const port of listening) expect(published.has(port), `collector port ${port}`).toBe(true);
    // Prometheus scrapes the collector's own metrics on the port the telemetry reader serves.
    expect(JSON.stringify(config.service.telemetry)).toContain('"port":8888');
    expect(readRepoFile('stack/prometheus/prometheus.yml')).toContain('otel-collector:8888');
  });

  it('gets every env:VAR it reads from its compose environment', () => {
    const env = serviceEnv(compose.services['otel-collector'] ?? {});
    const vars = [...raw.matchAll(/\$\{env:([A-Z0-9_]+)\}/g)].map((m) => m[1] ?? '');
    expect(vars.length).toBeGreaterThan(0);
    for (const v of vars) expect(env[v], v).toBeTruthy();
  });
});
