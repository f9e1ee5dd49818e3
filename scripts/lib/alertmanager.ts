/**
 * A throwaway Alertmanager (Debian's `prometheus-alertmanager`) with the configuration the alert model renders,
 * and a webhook sink that collects what it delivers. Temp storage, a free loopback port, no HA cluster.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SloFile } from '@hotpath/analyzer/slo';
import { ALERTMANAGER_TEMPLATE, alertmanagerConfig, type ReceiverSettings } from '@hotpath/grafana';
import { stringify } from 'yaml';
import { freePort, startProcess, waitFor } from './process.ts';
import { locate, TOOLS } from './tools.mjs';

export interface AlertmanagerServer {
  readonly url: string;
  /** host:port, for Prometheus' `alerting.alertmanagers`. */
  readonly address: string;
  readonly configFile: string;
  stop(): Promise<void>;
}

/** `HOTPATH_ALERTMANAGER_BIN`, else Debian's `prometheus-alertmanager` (`npm run setup`). */
export function alertmanagerBinary(): string {
  return locate(TOOLS.alertmanager);
}

export async function startAlertmanager(options: {
  slo: SloFile;
  receivers: ReceiverSettings;
  log?: NodeJS.WritableStream;
}): Promise<AlertmanagerServer> {
  const binary = alertmanagerBinary();
  const dir = mkdtempSync(join(tmpdir(), 'hotpath-alertmanager-'));
  const configFile = join(dir, 'alertmanager.yml');
  writeFileSync(join(dir, 'alertmanager.tmpl'), ALERTMANAGER_TEMPLATE);
  writeFileSync(configFile, stringify(alertmanagerConfig(options.slo, options.receivers), { lineWidth: 0 }));
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const url = `http://${address}`;
  const server = startProcess(
    'alertmanager',
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=${address}`,
      `--web.external-url=${url}`,
      // A single instance: no gossip port to collide with another run's.
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    options.log === undefined ? {} : { log: options.log },
  );
  const stop = async () => {
    await server.stop('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      `Alertmanager on port ${port}`,
      30_000,
      server,
      async () => (await fetch(`${url}/-/ready`)).ok,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, address, configFile, stop };
}

/** One alert of a webhook notification (Alertmanager's webhook payload, version 4). */
export interface NotifiedAlert {
  readonly status: 'firing' | 'resolved';
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly fingerprint: string;
}

export interface Notification {
  readonly receiver: string;
  readonly status: 'firing' | 'resolved';
  readonly alerts: readonly NotifiedAlert[];
  readonly groupLabels: Readonly<Record<string, string>>;
  readonly commonLabels: Readonly<Record<string, string>>;
  readonly groupKey: string;
  /** When the sink received it. */
  readonly receivedAt: number;
}

export interface WebhookSink {
  readonly url: string;
  readonly notifications: Notification[];
  stop(): Promise<void>;
}

/** An HTTP endpoint Alertmanager's webhook receiver posts to; keeps every notification, calls `onNotification`. */
export async function startWebhookSink(onNotification?: (n: Notification) => void): Promise<WebhookSink> {
  const notifications: Notification[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const n = {
          ...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Notification),
          receivedAt: Date.now(),
        };
        notifications.push(n);
        onNotification?.(n);
        res.writeHead(200).end();
      } catch {
        res.writeHead(400).end('not an Alertmanager webhook payload');
      }
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}/alerts`,
    notifications,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The few fields of a finding a notification line shows. */
interface FindingLine {
  readonly kind: string;
  readonly subject: string;
  readonly severity: string;
  readonly title: string;
}

/**
 * A notification as the local run prints it: per alert its status, name, severity and receiver, the summary,
 * and the analyzer's finding its link names (`lookup` fetches the link; no finding yet says so, with the link).
 */
export async function describeNotification(
  n: Notification,
  lookup: (link: string) => Promise<readonly FindingLine[] | undefined>,
): Promise<string> {
  const lines: string[] = [];
  for (const a of n.alerts) {
    lines.push(
      `alert: [${a.status.toUpperCase()}] ${a.labels.alertname} ${a.labels.severity} → ${n.receiver}: ` +
        (a.annotations.summary ?? a.annotations.title ?? ''),
    );
    const link = a.annotations.finding;
    if (a.status !== 'firing' || link === undefined) continue;
    let found: readonly FindingLine[] | undefined;
    try {
      found = await lookup(link);
    } catch {
      found = undefined;
    }
    const [cause] = found ?? [];
    lines.push(
      cause === undefined
        ? `  why: the analyzer has no finding for it yet (${link})`
        : `  why: ${cause.title} [${cause.kind}, ${cause.severity}] (${link})`,
    );
  }
  return lines.join('\n');
}
