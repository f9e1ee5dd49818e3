/** `hotpath migrate`: brings the analyzer store's schema up to date (numbered SQL files in analyzer/migrations). */
import { Command, Option } from 'commander';
import pg from 'pg';
import { UpstreamError, UsageError } from '../errors.ts';
import { migrate } from '../store/migrate.ts';

export function migrateCommand(): Command {
  return new Command('migrate')
    .description(
      'Apply the analyzer store migrations that have not run yet (safe to run from several places at once).',
    )
    .addOption(
      new Option('--database <url>', 'the analyzer store')
        .env('HOTPATH_DATABASE_URL')
        .makeOptionMandatory(true),
    )
    .action(async (options: { database: string }) => {
      let where: string;
      try {
        const u = new URL(options.database);
        where = `${u.hostname}:${u.port || 5432}${u.pathname}`;
      } catch {
        throw new UsageError(`--database is not a URL (e.g. postgres://hotpath@localhost:5432/hotpath)`);
      }
      const pool = new pg.Pool({
        connectionString: options.database,
        max: 1,
        connectionTimeoutMillis: 5_000,
      });
      try {
        const { applied, version } = await migrate(pool, {
          progress: (line) => process.stderr.write(`hotpath migrate: ${line}\n`),
        });
        process.stdout.write(
          applied.length === 0
            ? `hotpath migrate: ${where} is up to date (version ${version})\n`
            : `hotpath migrate: applied ${applied.length} migration(s); ${where} is at version ${version}\n`,
        );
      } catch (error) {
        if ((error as { code?: unknown }).code !== undefined || /connect|timeout/i.test(String(error))) {
          throw new UpstreamError('database', where, error instanceof Error ? error.message : String(error));
        }
        throw error;
      } finally {
        await pool.end();
      }
    });
}
