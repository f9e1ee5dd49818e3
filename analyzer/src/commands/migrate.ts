/** `hotpath migrate`: brings the analyzer store's schema up to date (numbered SQL files in analyzer/migrations). */
import { Command, Option } from 'commander';
import pg from 'pg';
import { cannotConnect, UpstreamError, UsageError, where } from '../errors.ts';
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
      try {
        new URL(options.database);
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
            ? `hotpath migrate: ${where(options.database)} is up to date (version ${version})\n`
            : `hotpath migrate: applied ${applied.length} migration(s); ${where(options.database)} is at version ${version}\n`,
        );
      } catch (error) {
        if (cannotConnect(error)) {
          throw new UpstreamError(
            'database',
            where(options.database),
            error instanceof Error ? error.message : String(error),
          );
        }
        throw error;
      } finally {
        await pool.end();
      }
    });
}
