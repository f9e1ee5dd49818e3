/**
 * A throwaway PostgreSQL server: `initdb` into a temp dir, started on a free loopback port with
 * `pg_stat_statements` preloaded (HypoPG needs no preload: it is created per database). PostgreSQL refuses to run
 * as root, so under root the server runs as the `postgres` system user that Debian's package creates.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, type ManagedProcess, startProcess, waitFor } from './process.ts';
import { locate, TOOLS } from './tools.mjs';

export interface PostgresServer {
  /** Superuser URL of the `postgres` database. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** URL of another database on this server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

/** Where the server binaries are: `HOTPATH_PG_BIN`, else the newest Debian `/usr/lib/postgresql/N/bin`. */
export function postgresBinDir(): string {
  return locate(TOOLS.postgres);
}

function runAsIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error(
      'running as root, but there is no `postgres` user to run PostgreSQL as (install postgresql-15)',
    );
  }
}

export interface StartPostgresOptions {
  /** Extra `-c name=value` settings. */
  readonly settings?: Readonly<Record<string, string>>;
  /** Print the server log to this stream as it runs (default: kept, shown only if start-up fails). */
  readonly log?: NodeJS.WritableStream;
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const ids = runAsIds();
  const dataDir = mkdtempSync(join(tmpdir(), 'hotpath-pg-'));
  if (ids !== undefined) chownSync(dataDir, ids.uid, ids.gid);
  const spawnIds = ids === undefined ? {} : { uid: ids.uid, gid: ids.gid };

  execFileSync(
    join(bin, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'],
    {
      ...spawnIds,
      stdio: 'pipe',
    },
  );

  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: dataDir,
    shared_preload_libraries: 'pg_stat_statements',
    'pg_stat_statements.track': 'all',
    // A test database: durability is not the point, start-up and seeding speed are.
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: '200',
    shared_buffers: '256MB',
    ...options.settings,
  };
  const args = ['-D', dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const server: ManagedProcess = startProcess('postgres', join(bin, 'postgres'), args, {
    ...spawnIds,
    ...(options.log === undefined ? {} : { log: options.log }),
  });

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const stop = async () => {
    // SIGINT is PostgreSQL's "fast" shutdown: no waiting for clients.
    await server.stop('SIGINT');
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitFor(`PostgreSQL on port ${port}`, 30_000, server, async () => {
      const client = new pg.Client({ connectionString: url });
      try {
        await client.connect();
        await client.query('SELECT 1');
        return true;
      } finally {
        await client.end().catch(() => {});
      }
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    port,
    dataDir,
    urlFor: (database) => `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    stop,
  };
}

/** Runs SQL as the superuser against one database of the server. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** `CREATE DATABASE name [TEMPLATE template]`, quoting the identifiers. */
export async function createDatabase(
  server: PostgresServer,
  name: string,
  template?: string,
): Promise<string> {
  const ident = (s: string) => `"${s.replaceAll('"', '""')}"`;
  await withClient(server.url, (c) =>
    c.query(`CREATE DATABASE ${ident(name)}${template === undefined ? '' : ` TEMPLATE ${ident(template)}`}`),
  );
  return server.urlFor(name);
}
