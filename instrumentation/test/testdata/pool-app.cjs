// A CommonJS app on pg.Pool and knex, both required: require-in-the-middle sees everything.
const pg = require('pg');
const knex = require('knex');
const PgPool = require('pg-pool');

require('./pool-routes.cjs')({ pg, PgPool, knex, kind: 'cjs' });
