// An ESM app on pg.Pool, pg-pool and knex, all imported. pg-pool comes first, so import-in-the-middle patches it
// (instrumentation-pg, then Hotpath on top); `pg` and `knex` are CommonJS inside, and their own `require`s of
// pg-pool and knex/lib/client.js go through require-in-the-middle (Hotpath first, instrumentation-pg on top).
import { createRequire } from 'node:module';
import PgPool from 'pg-pool';
import knex from 'knex';
import pg from 'pg';

createRequire(import.meta.url)('./pool-routes.cjs')({ pg, PgPool, knex, kind: 'esm' });
