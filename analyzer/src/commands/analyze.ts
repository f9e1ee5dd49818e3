/**
 * `hotpath analyze`: one analysis, printed; the exit code makes it a CI gate after a load test.
 *   0 nothing at or above --fail-on · 1 findings at or above --fail-on · 2 bad usage · 3 an upstream failed
 */
import { Command, Option } from 'commander';
import { analyze } from '../analyze.ts';
import { UpstreamError, UsageError } from '../errors.ts';
import { PyroscopeClient } from '../profiles/pyroscope.ts';
import { type ReportFormat, render } from '../report.ts';
import { DEFAULT_RUNS_DIR, resolveSince } from '../runs.ts';
import { loadSlo, sloFilePath } from '../slo.ts';
import { PrometheusClient } from '../sources/prometheus.ts';
import { parseWindow } from '../sources/snapshot.ts';
import { TempoClient } from '../traces/tempo.ts';

const RANK = { info: 0, warning: 1, critical: 2 } as const;

export function analyzeCommand(): Command {
  return new Command('analyze')
    .description('Analyze once: find, rank and explain bottlenecks from Prometheus (and pg_stat_statements).')
    .addOption(
      new Option('--prometheus <url>', 'Prometheus base URL').env('PROMETHEUS_URL').makeOptionMandatory(true),
    )
    .addOption(
      new Option('--database <url>', 'the app database, for pg_stat_statements (read-only)').env(
        'APP_DATABASE_URL',
      ),
    )
    .addOption(
      new Option('--tempo <url>', 'Tempo base URL: traces for N+1 and parallelizable-query detection'),
    )
    .addOption(
      new Option(
        '--pyroscope <url>',
        'Pyroscope base URL: wall and heap profiles, so findings name the function and line',
      ).env('PYROSCOPE_URL'),
    )
    .option(
      '--database-service <job>',
      'the service (Prometheus job) the database belongs to (default: its name)',
    )
    .option('--window <duration>', 'how far back to look (e.g. 5m, 15m, 1h)', '15m')
    .option(
      '--since <time|run>',
      'judge from this moment to now instead of --window: an ISO time, or a run id recorded by npm run load',
    )
    .option('--runs-dir <dir>', 'where npm run load records its runs', DEFAULT_RUNS_DIR)
    .addOption(
      new Option('--format <format>', 'output').choices(['table', 'markdown', 'json']).default('table'),
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
        prometheus: string;
        database?: string;
        databaseService?: string;
        tempo?: string;
        pyroscope?: string;
        window: string;
        since?: string;
        runsDir: string;
        format: ReportFormat;
        failOn?: 'warning' | 'critical';
        slo: string;
      }) => {
        try {
          parseWindow(options.window);
        } catch (error) {
          throw new UsageError(error instanceof Error ? error.message : String(error));
        }
        const since = options.since === undefined ? undefined : resolveSince(options.since, options.runsDir);
        // A run that broke an objective (a stress run) is judged up to its breaking point: what appeared there.
        const breaking = since?.run?.breaking_point;
        const at = since?.at;
        const window = since?.window ?? options.window;
        try {
          new URL(options.prometheus);
        } catch {
          throw new UsageError(
            `--prometheus "${options.prometheus}" is not a URL (e.g. http://localhost:9090)`,
          );
        }
        for (const [flag, value, example] of [
          ['--tempo', options.tempo, 'http://localhost:3200'],
          ['--pyroscope', options.pyroscope, 'http://localhost:4040'],
        ] as const) {
          if (value === undefined) continue;
          try {
            new URL(value);
          } catch {
            throw new UsageError(`${flag} "${value}" is not a URL (e.g. ${example})`);
          }
        }
        const slo = loadSlo(options.slo);
        const progress =
          options.format === 'table' ? (m: string) => process.stderr.write(`${m}\n`) : () => {};
        progress(
          since === undefined
            ? `hotpath: analyzing the last ${window} from ${options.prometheus}…`
            : `hotpath: analyzing since ${since.start.toISOString()}${since.run === undefined ? '' : ` (run ${since.run.id}: ${since.run.profile} against ${since.run.target}, until ${since.run.end})`}, ${window}, from ${options.prometheus}…`,
        );
        const analysis = await analyze({
          prometheus: new PrometheusClient({ url: options.prometheus }),
          slo,
          window,
          ...(at === undefined ? {} : { at }),
          ...(options.database === undefined ? {} : { databaseUrl: options.database }),
          ...(options.databaseService === undefined ? {} : { databaseService: options.databaseService }),
          ...(options.tempo === undefined ? {} : { traces: new TempoClient({ url: options.tempo }) }),
          ...(options.pyroscope === undefined
            ? {}
            : { profiles: new PyroscopeClient({ url: options.pyroscope }) }),
        });
        if (analysis.traces.error !== undefined) {
          // A trace source that fails is an upstream failure like Prometheus: the gate must not pass silently.
          if (analysis.traces.cause instanceof UpstreamError) throw analysis.traces.cause;
          throw new UpstreamError('tempo', options.tempo ?? '', analysis.traces.error);
        }
        if (analysis.profiles.error !== undefined) {
          // Profiles only name the code behind a finding: the findings, and so the gate, stand without them.
          process.stderr.write(
            `hotpath: profiles from ${options.pyroscope} could not be read (${analysis.profiles.error}); ` +
              'the findings stand, without the code they would name\n',
          );
        }
        if (breaking === undefined) process.stdout.write(render(analysis, options.format));
        else if (options.format === 'json') {
          const report = JSON.parse(render(analysis, 'json')) as Record<string, unknown>;
          process.stdout.write(`${JSON.stringify({ breaking_point: breaking, ...report }, null, 2)}\n`);
        } else {
          const line = `Breaking point of run ${since?.run?.id}: step ${breaking.step + 1}, ${breaking.users} users, ${breaking.rate_per_s} requests/s (${breaking.reason}). The findings up to there:`;
          process.stdout.write(
            `${options.format === 'markdown' ? `**${line}**\n\n` : `${line}\n`}${render(analysis, options.format)}`,
          );
        }
        const failOn = options.failOn;
        if (failOn !== undefined && analysis.findings.some((f) => RANK[f.severity] >= RANK[failOn])) {
          process.exitCode = 1;
        }
      },
    );
}
