/**
 * A throwaway Prometheus (Debian's package): temp storage, a free loopback port, the scrape config generated
 * from the naming module (so pulled series get their OTLP names), exemplar storage and the remote-write
 * receiver on. Apps are added as scrape targets by writing `file_sd` files, which Prometheus picks up live.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  fileSdEntry,
  prometheusConfig,
  recordingRulesFile,
  type ScrapeTarget,
} from '@hotpath/instrumentation';
import { freePort, startProcess, waitFor } from './process.ts';
import { locate, TOOLS } from './tools.mjs';

export interface PrometheusServer {
  readonly url: string;
  readonly dir: string;
  /** Directory of `file_sd` target files (`*.json`). */
  readonly targetsDir: string;
  stop(): Promise<void>;
}

export interface StartPrometheusOptions {
  /** Scrape interval, default `1s` (tests want data fast). */
  readonly scrapeInterval?: string;
  readonly log?: NodeJS.WritableStream;
  /** Alerting rules to evaluate (a Prometheus rule file, e.g. `prometheusAlertRulesFile`). */
  readonly alertRules?: Record<string, unknown>;
  /** Where to send firing and resolved alerts: an Alertmanager's host:port. */
  readonly alertmanager?: string;
  /** TSDB directory to open (blocks backfilled with promtool, say); default a fresh one, removed on stop. */
  readonly dataDir?: string;
}

/** `HOTPATH_PROMETHEUS_BIN`, else Debian's (`npm run setup`). */
export function prometheusBinary(): string {
  return locate(TOOLS.prometheus);
}

/**
 * Series with timestamps of the caller's choosing, for `startPrometheus({ dataDir })`: the OpenMetrics file (one
 * family at a time, each series' samples in time order, `# EOF` last) written into `dataDir` as TSDB blocks by
 * `promtool tsdb create-blocks-from openmetrics`. Keep the samples some minutes old: the newest ones would
 * overlap the head block the started Prometheus writes its own series to.
 */
export function backfill(openMetricsFile: string, dataDir: string): void {
  const promtool = join(dirname(prometheusBinary()), 'promtool');
  try {
    execFileSync(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', openMetricsFile, dataDir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`promtool could not backfill ${openMetricsFile}: ${stderr || String(error)}`);
  }
}

export async function startPrometheus(options: StartPrometheusOptions = {}): Promise<PrometheusServer> {
  const binary = prometheusBinary();
  const dir = mkdtempSync(join(tmpdir(), 'hotpath-prom-'));
  const targetsDir = join(dir, 'targets');
  mkdirSync(targetsDir);
  const configFile = join(dir, 'prometheus.yml');
  const interval = options.scrapeInterval ?? '1s';
  // The same recording rules as the compose stack, evaluated as often as the harness scrapes.
  const rulesFile = join(dir, 'hotpath.rules.yml');
  writeFileSync(rulesFile, JSON.stringify(recordingRulesFile(interval), null, 2));
  const ruleFiles = [rulesFile];
  if (options.alertRules !== undefined) {
    ruleFiles.push(join(dir, 'alerts.yml'));
    writeFileSync(join(dir, 'alerts.yml'), JSON.stringify(options.alertRules, null, 2));
  }
  const port = await freePort();
  const base = prometheusConfig({ fileSdPaths: [join(targetsDir, '*.json')], scrapeInterval: interval });
  const config = {
    ...base,
    // Prometheus scrapes itself too, as in the compose stack: its ingestion-health alert reads these series.
    scrape_configs: [
      ...(base.scrape_configs as unknown[]),
      { job_name: 'prometheus', static_configs: [{ targets: [`127.0.0.1:${port}`] }] },
    ],
    rule_files: ruleFiles,
    ...(options.alertmanager === undefined
      ? {}
      : { alerting: { alertmanagers: [{ static_configs: [{ targets: [options.alertmanager] }] }] } }),
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2));

  const url = `http://127.0.0.1:${port}`;
  const server = startProcess(
    'prometheus',
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${options.dataDir ?? join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--enable-feature=exemplar-storage',
      '--web.enable-remote-write-receiver',
      '--web.enable-admin-api',
      '--web.enable-lifecycle',
      '--storage.tsdb.retention.time=1d',
    ],
    options.log === undefined ? {} : { log: options.log },
  );
  const stop = async () => {
    await server.stop('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`Prometheus on port ${port}`, 30_000, server, async () => {
      const response = await fetch(`${url}/-/ready`);
      return response.ok;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, dir, targetsDir, stop };
}

/** Adds a scrape target (by writing its own `file_sd` file); returns a function that removes it again. */
export function addScrapeTarget(targetsDir: string, id: string, target: ScrapeTarget): () => void {
  const file = join(targetsDir, `${id.replace(/[^a-zA-Z0-9_-]/g, '_')}.json`);
  // Written aside and renamed: Prometheus watches the directory and must never read a half-written file.
  writeFileSync(`${file}.tmp`, JSON.stringify([fileSdEntry(target)]));
  renameSync(`${file}.tmp`, file);
  return () => rmSync(file, { force: true });
}
