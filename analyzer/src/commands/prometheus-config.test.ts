import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { prometheusConfig } from '@hotpath/instrumentation';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseTarget } from './prometheus-config.ts';
import { hotpath } from './run-cli.ts';

const run = promisify(execFile);

describe('hotpath prometheus-config', () => {
  it('prints the generated config as YAML that promtool accepts', async () => {
    const { code, stdout } = await hotpath(
      'prometheus-config',
      '--target',
      'shop:9464=demo/shop',
      '--target',
      '10.0.0.5:9464=api',
    );
    expect(code).toBe(0);
    const config = parse(stdout) as Record<string, unknown>;
    expect(config).toEqual(
      prometheusConfig({
        targets: [
          { address: 'shop:9464', service: 'shop', namespace: 'demo' },
          { address: '10.0.0.5:9464', service: 'api' },
        ],
        fileSdPaths: [],
        scrapeInterval: '10s',
        jobName: 'hotpath-apps',
      }),
    );
    const dir = mkdtempSync(join(tmpdir(), 'hotpath-cli-'));
    try {
      writeFileSync(join(dir, 'prometheus.yml'), stdout);
      const check = await run('promtool', ['check', 'config', join(dir, 'prometheus.yml')]);
      expect(check.stdout).toContain('SUCCESS');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints only the scrape job with --scrape-only, as JSON with --format json', async () => {
    const { stdout } = await hotpath(
      'prometheus-config',
      '--file-sd',
      '/etc/prometheus/apps/*.json',
      '--scrape-only',
      '--format',
      'json',
    );
    const [job] = JSON.parse(stdout) as [{ file_sd_configs: unknown; metric_relabel_configs: unknown[] }];
    expect(job.file_sd_configs).toEqual([{ files: ['/etc/prometheus/apps/*.json'], refresh_interval: '5s' }]);
    expect(job.metric_relabel_configs.length).toBeGreaterThan(10);
  });

  it('explains bad input in one line and exits 2, without a stack trace', async () => {
    for (const args of [['--target', 'shop'], [], ['--target', 'a:1=b', '--scrape-interval', 'soon']]) {
      const { code, stderr } = await hotpath('prometheus-config', ...args);
      expect(code).toBe(2);
      expect(stderr).toMatch(/^hotpath: /);
      expect(stderr).not.toMatch(/\n\s+at /);
    }
    const { code, stderr } = await hotpath('prometheus-config', '--format', 'xml');
    expect(code).not.toBe(0);
    expect(stderr).toContain('xml');
  });

  it('parses targets with and without a namespace', () => {
    expect(parseTarget('shop:9464=shop')).toEqual({ address: 'shop:9464', service: 'shop' });
    expect(parseTarget(' 127.0.0.1:9464=demo/shop ')).toEqual({
      address: '127.0.0.1:9464',
      service: 'shop',
      namespace: 'demo',
    });
    expect(() => parseTarget('shop=shop')).toThrow(/host:port=service/);
  });
});
