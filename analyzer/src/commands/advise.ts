/**
 * `hotpath advise`: the database advisor on its own, from the app database alone (no Prometheus, no traces):
 * the indexes that would remove the most database time, verified with HypoPG, and the cache candidates, over
 * the statements pg_stat_statements holds since its last reset. Read-only. The same advisor runs inside
 * `hotpath analyze` and every `serve` cycle when an app database is configured.
 *   0 done · 1 findings at or above --fail-on · 2 bad usage · 3 the database failed
 */
import { Command, Option } from 'commander';
import { advise } from '../advisor/advisor.ts';
import { correlate } from '../correlate.ts';
import { UpstreamError, UsageError, where } from '../errors.ts';
import { rank } from '../findings.ts';
import { limitsFor } from '../limits.ts';
import { withRecommendations } from '../recommend.ts';
import { type ReportFormat, render } from '../report.ts';
import { loadSlo, objectivesFor, sloFilePath } from '../slo.ts';
import { statementSnapshot } from '../sources/snapshot.ts';

const RANK = { info: 0, warning: 1, critical: 2 } as const;

export function adviseCommand(): Command {
  return new Command('advise')
    .description(
      'Advise on the app database: missing indexes (verified with HypoPG) and cache candidates, from pg_stat_statements.',
    )
    .addOption(
      new Option('--database <url>', 'the app database (read-only; pg_read_all_stats and SELECT suffice)')
        .env('APP_DATABASE_URL')
        .makeOptionMandatory(true),
    )
    .option('--database-service <job>', 'the service the database belongs to (default: its name)')
    .addOption(
      new Option('--format <format>', 'output').choices(['table', 'markdown', 'json']).default('table'),
    )
    .addOption(
      new Option(
        '--statement-timeout <ms>',
        'per statement the advisor sends; a plan that takes longer is reported',
      )
        .default('5000')
        .argParser((v) => {
          const n = Number(v);
          if (!Number.isInteger(n) || n <= 0)
            throw new UsageError(`--statement-timeout "${v}" is not a positive number of milliseconds`);
          return String(n);
        }),
    )
    .addOption(
      new Option('--fail-on <severity>', 'exit 1 when a finding of this severity or worse exists').choices([
        'warning',
        'critical',
      ]),
    )
    .option('--slo <file>', 'the SLO file', sloFilePath())
    .action(
      async (options: {
        database: string;
        databaseService?: string;
        format: ReportFormat;
        statementTimeout: string;
        failOn?: 'warning' | 'critical';
        slo: string;
      }) => {
        try {
          const u = new URL(options.database);
          if (!/^postgres(ql)?:$/.test(u.protocol)) throw new Error();
        } catch {
          throw new UsageError(
            `--database "${options.database}" is not a PostgreSQL URL (e.g. postgres://user@host:5432/db)`,
          );
        }
        const slo = loadSlo(options.slo);
        const progress =
          options.format === 'table' ? (m: string) => process.stderr.write(`${m}\n`) : () => {};
        progress(
          `hotpath: reading pg_stat_statements of ${where(options.database)} and planning its statements…`,
        );
        const snapshot = await statementSnapshot(options.database, {
          ...(options.databaseService === undefined ? {} : { service: options.databaseService }),
        });
        const limits = (service: string) => limitsFor(objectivesFor(slo, service));
        const advice = await advise(snapshot, {
          databaseUrl: options.database,
          limits,
          statementTimeoutMs: Number(options.statementTimeout),
        });
        if (!advice.coverage.ran) {
          throw new UpstreamError(
            'database',
            where(options.database),
            advice.coverage.error ?? 'the advisor failed',
          );
        }
        const findings = rank(
          correlate(advice.drafts, snapshot).map((d) => withRecommendations(d, snapshot)),
        );
        process.stdout.write(
          render(
            {
              snapshot,
              findings,
              traces: { read: false, traces: 0, routes: [] },
              profiles: { read: false, services: 0, routes: 0 },
              advisor: advice.coverage,
            },
            options.format,
          ),
        );
        const failOn = options.failOn;
        if (failOn !== undefined && findings.some((f) => RANK[f.severity] >= RANK[failOn]))
          process.exitCode = 1;
      },
    );
}
