/**
 * The compose Prometheus (3.x) and Tempo (3.x) configs. Neither version runs here: Debian's promtool (2.42) checks
 * everything it knows, the 3.x-only `otlp:` block is checked against the documented keys, and Tempo's config
 * against the 3.0 upgrade notes (no ingester/compactor) and the compose network.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { containerPorts, hostPort, loadCompose, readRepoFile } from './compose.ts';

const compose = loadCompose();
const prometheus = parse(readRepoFile('stack/prometheus/prometheus.yml')) as Record<string, unknown> & {
  otlp: Record<string, unknown>;
  rule_files: string[];
  scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
};
const tempo = parse(readRepoFile('stack/tempo/tempo.yaml')) as Record<string, unknown>;

/** Prometheus 3 `otlp:` keys (https://prometheus.io/docs/prometheus/latest/configuration/configuration/#otlp). */
const OTLP_KEYS = new Set([
  'promote_resource_attributes',
  'promote_all_resource_attributes',
  'ignore_resource_attributes',
  'translation_strategy',
  'keep_identifying_resource_attributes',
  'convert_histograms_to_nhcb',
  'promote_scope_metadata',
]);
const TRANSLATION_STRATEGIES = new Set([
  'UnderscoreEscapingWithSuffixes',
  'UnderscoreEscapingWithoutSuffixes',
  'NoUTF8EscapingWithSuffixes',
  'NoTranslation',
]);

describe('stack/prometheus/prometheus.yml', () => {
  it('passes promtool check config (Debian 2.42, without the 3.x-only otlp block)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotpath-promcfg-'));
    try {
      const { otlp: _otlp, ...rest } = prometheus;
      // Rule files are checked by their own test; here they would resolve inside the container only.
      const file = join(dir, 'prometheus.yml');
      writeFileSync(file, stringify({ ...rest, rule_files: [] }));
      expect(execFileSync('promtool', ['check', 'config', file], { encoding: 'utf8' })).toContain('SUCCESS');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stores OTLP metrics under the names the rest of Hotpath queries, with service attributes promoted', () => {
    for (const key of Object.keys(prometheus.otlp)) expect(OTLP_KEYS.has(key), key).toBe(true);
    expect(prometheus.otlp.translation_strategy).toBe('UnderscoreEscapingWithSuffixes');
    expect(TRANSLATION_STRATEGIES.has(String(prometheus.otlp.translation_strategy))).toBe(true);
    expect(prometheus.otlp.promote_resource_attributes).toEqual(
      expect.arrayContaining([
        'service.name',
        'service.namespace',
        'service.instance.id',
        'deployment.environment.name',
      ]),
    );
  });

  it('loads the generated recording rules from where compose mounts them', () => {
    const mount = (compose.services.prometheus?.volumes ?? []).find(
      (v) => typeof v === 'string' && v.startsWith('./stack/prometheus/rules:'),
    );
    expect(mount).toBe('./stack/prometheus/rules:/etc/prometheus/rules:ro');
    expect(prometheus.rule_files).toEqual(['/etc/prometheus/rules/*.yml']);
  });

  it('runs with the OTLP receiver, the remote-write receiver and exemplar storage on', () => {
    const command = (compose.services.prometheus?.command ?? []) as string[];
    for (const flag of [
      '--web.enable-otlp-receiver',
      '--web.enable-remote-write-receiver',
      '--enable-feature=exemplar-storage',
    ]) {
      expect(command).toContain(flag);
    }
  });

  it('scrapes only compose services, on ports they listen on', () => {
    for (const job of prometheus.scrape_configs) {
      for (const target of job.static_configs.flatMap((s) => s.targets)) {
        const { host, port } = hostPort(target);
        if (host === 'localhost') continue;
        expect(containerPorts(compose.services[host] ?? {}).has(port), `${job.job_name}: ${target}`).toBe(
          true,
        );
      }
    }
  });
});

describe('stack/tempo/tempo.yaml', () => {
  it('has no Tempo 2.x blocks, which 3.x refuses to start with', () => {
    for (const removed of ['ingester', 'compactor', 'ingester_client', 'metrics_generator_client']) {
      expect(Object.hasOwn(tempo, removed), removed).toBe(false);
    }
    expect(tempo.target).toBe('all');
    expect(JSON.stringify(tempo.backend_scheduler)).toContain('block_retention');
  });

  it('remote-writes span metrics with exemplars to the compose Prometheus', () => {
    const generator = tempo.metrics_generator as {
      storage: { remote_write: { url: string; send_exemplars: boolean }[] };
    };
    for (const rw of generator.storage.remote_write) {
      expect(rw.send_exemplars).toBe(true);
      const { host, port } = hostPort(rw.url);
      expect(containerPorts(compose.services[host] ?? {}).has(port), rw.url).toBe(true);
      expect(new URL(rw.url).pathname).toBe('/api/v1/write');
    }
    const processors = (tempo.overrides as { defaults: { metrics_generator: { processors: string[] } } })
      .defaults.metrics_generator.processors;
    expect(processors.sort()).toEqual(['service-graphs', 'span-metrics']);
  });

  it('listens where the collector sends and where Grafana reads', () => {
    const grpc = (tempo.distributor as { receivers: { otlp: { protocols: { grpc: { endpoint: string } } } } })
      .receivers.otlp.protocols.grpc.endpoint;
    expect(containerPorts(compose.services.tempo ?? {}).has(hostPort(grpc).port)).toBe(true);
    const http = (tempo.server as { http_listen_port: number }).http_listen_port;
    expect(containerPorts(compose.services.tempo ?? {}).has(http)).toBe(true);
    expect(compose.services.tempo?.command).toContain('-config.expand-env=true');
  });
});
