/**
 * `hotpath compare`: a candidate run (or window) against a baseline, a CI gate after a load test.
 *   0 no regression · 1 a regression · 2 bad usage · 3 an upstream failed
 */
import { Command, Option } from 'commander';
import { compare, resolveWindow } from '../compare/compare.ts';
import { renderComparison } from '../compare/report.ts';
import { UsageError } from '../errors.ts';
import type { ReportFormat } from '../report.ts';
import { DEFAULT_RUNS_DIR } from '../runs.ts';
import { loadSlo, sloFilePath } from '../slo.ts';
import { PrometheusClient } from '../sources/prometheus.ts';
import { TempoClient } from '../traces/tempo.ts';

const url = (flag: string, value: string, example: string) => {
  try {
    new URL(value);
  } catch {
    throw new UsageError(`${flag} "${value}" is not a URL (e.g. ${example})`);
  }
};

export function compareCommand(): Command {
  return new Command('compare')
    .description(
      'Compare a candidate load-test run (or window) with a baseline: regressions per route and statement, with their cause.',
    )
    .requiredOption('--baseline <run|window>', 'a run id recorded by npm run load, or <ISO start>/<ISO end>')
    .requiredOption('--candidate <run|window>', 'the same, for the run to judge')
    .addOption(
      new Option('--prometheus <url>', 'Prometheus base URL').env('PROMETHEUS_URL').makeOptionMandatory(true),
    )
    .addOption(
      new Option(
        '--database <url>',
        'the app database (read-only): lets the root-cause pipeline plan the regressed statements',
      ).env('APP_DATABASE_URL'),
    )
    .option(
      '--database-service <job>',
      'the service (Prometheus job) the database belongs to (default: --service, else the database name)',
    )
    .option('--tempo <url>', 'Tempo base URL: traces tie a regressed route to its statement')
    .option(
      '--service <job>',
      'compare this Prometheus job only (default: every job with traffic on both sides)',
    )
    .option('--runs-dir <dir>', 'where npm run load records its runs', DEFAULT_RUNS_DIR)
    .addOption(
      new Option('--format <format>', 'output').choices(['table', 'markdown', 'json']).default('table'),
    )
    .option('--slo <file>', 'the SLO file', sloFilePath())
    .action(
      async (options: {
        baseline: string;
        candidate: string;
        prometheus: string;
        database?: string;
        databaseService?: string;
        tempo?: string;
        service?: string;
        runsDir: string;
        format: ReportFormat;
        slo: string;
      }) => {
        url('--prometheus', options.prometheus, 'http://localhost:9090');
        if (options.tempo !== undefined) url('--tempo', options.tempo, 'http://localhost:3200');
        const baseline = resolveWindow('--baseline', options.baseline, options.runsDir);
        const candidate = resolveWindow('--candidate', options.candidate, options.runsDir);
        const slo = loadSlo(options.slo);
        if (options.format === 'table')
          process.stderr.write(
            `hotpath: comparing ${candidate.label} with ${baseline.label} from ${options.prometheus}…\n`,
          );
        const traces = options.tempo === undefined ? undefined : new TempoClient({ url: options.tempo });
        const comparison = await compare({
          prometheus: new PrometheusClient({ url: options.prometheus }),
          baseline,
          candidate,
          ...(options.service === undefined ? {} : { service: options.service }),
          analysis: {
            slo,
            ...(options.database === undefined ? {} : { databaseUrl: options.database }),
            ...((options.databaseService ?? options.service) === undefined
              ? {}
              : { databaseService: (options.databaseService ?? options.service) as string }),
            ...(traces === undefined ? {} : { traces }),
          },
        });
        process.stdout.write(renderComparison(comparison, options.format));
        if (comparison.regressions.length > 0) process.exitCode = 1;
      },
    );
}
