/**
 * Numbered plain-SQL migrations (`analyzer/migrations/NNN_name.sql`), applied in order, each once and in one
 * transaction. An advisory lock serialises replicas that start together; a checksum catches a migration edited
 * after it was applied (the fix is a new migration, never an edit).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { ConfigError } from '../errors.ts';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'migrations');

/** `pg_advisory_lock(HOTPATH_LOCK_CLASS, MIGRATION_LOCK)`; 0x686f7470 is "hotp". */
export const HOTPATH_LOCK_CLASS = 0x686f7470;
const MIGRATION_LOCK = 1;

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

const FILE_NAME = /^(\d{3})_([a-z0-9_-]+)\.sql$/;

/** The migrations in `dir`, in order; a misnamed file or a repeated number is a configuration error. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const problems: string[] = [];
  const byVersion = new Map<number, Migration>();
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const match = FILE_NAME.exec(file);
    if (match === null) {
      problems.push(`${join(dir, file)}: migration files are named NNN_name.sql (e.g. 003_add_pages.sql)`);
      continue;
    }
    const version = Number(match[1]);
    const sql = readFileSync(join(dir, file), 'utf8');
    const other = byVersion.get(version);
    if (other !== undefined) {
      problems.push(`${file}: version ${match[1]} is also used by ${other.name}`);
      continue;
    }
    byVersion.set(version, {
      version,
      name: file,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return [...byVersion.values()].sort((a, b) => a.version - b.version);
}

export interface MigrateResult {
  /** File names applied by this call, in order. */
  readonly applied: readonly string[];
  /** The schema version after the call. */
  readonly version: number;
}

/**
 * Brings the store's schema up to date. Safe to run from several processes at once: the second waits for the
 * first and then finds nothing to do.
 */
export async function migrate(
  pool: pg.Pool,
  options: { readonly dir?: string; readonly progress?: (line: string) => void } = {},
): Promise<MigrateResult> {
  const migrations = loadMigrations(options.dir);
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [HOTPATH_LOCK_CLASS, MIGRATION_LOCK]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS hotpath_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        checksum   text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
        'SELECT version, name, checksum FROM hotpath_migrations ORDER BY version',
      );
      const done = new Map(rows.map((r) => [r.version, r]));
      const changed = migrations.filter((m) => {
        const row = done.get(m.version);
        return row !== undefined && row.checksum !== m.checksum;
      });
      if (changed.length > 0) {
        throw new ConfigError(
          changed.map(
            (m) =>
              `${m.name} was changed after it was applied; restore it and put the change in a new migration`,
          ),
        );
      }
      const applied: string[] = [];
      for (const migration of migrations) {
        if (done.has(migration.version)) continue;
        options.progress?.(`applying ${migration.name}`);
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO hotpath_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
            migration.version,
            migration.name,
            migration.checksum,
          ]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw new ConfigError([
            `${migration.name} failed and was rolled back: ${error instanceof Error ? error.message : String(error)}`,
          ]);
        }
        applied.push(migration.name);
      }
      const version = Math.max(0, ...migrations.map((m) => m.version), ...rows.map((r) => r.version));
      return { applied, version };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [HOTPATH_LOCK_CLASS, MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}

/** The schema version the store is at (0 before the first migration); throws when the store is unreachable. */
export async function schemaVersion(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ version: number | null }>(
    `SELECT CASE WHEN to_regclass('hotpath_migrations') IS NULL THEN 0
            ELSE (SELECT coalesce(max(version), 0) FROM hotpath_migrations) END AS version`,
  );
  return rows[0]?.version ?? 0;
}
