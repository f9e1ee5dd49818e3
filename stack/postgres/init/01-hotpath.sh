#!/usr/bin/env bash
# Runs once, on the first start of the compose PostgreSQL (docker-entrypoint-initdb.d), as the superuser.
# https://github.com/docker-library/docs/blob/master/postgres/README.md#initialization-scripts
#
# Two databases and four roles, each with only what it needs:
#   shop             the demo app's database, owned by `shop`
#   hotpath          the analyzer's own store (findings, runs), owned by `hotpath`
#   hotpath_observer reads the app database's statistics and plans: never writes (the analyzer's "read-only role")
#   grafana_reader   reads the analyzer's findings for Grafana's PostgreSQL datasource
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v shop_password="${SHOP_DB_PASSWORD:?}" \
  -v hotpath_password="${HOTPATH_DB_PASSWORD:?}" \
  -v observer_password="${HOTPATH_OBSERVER_PASSWORD:?}" \
  -v grafana_password="${GRAFANA_DB_PASSWORD:?}" <<'SQL'
CREATE ROLE shop LOGIN PASSWORD :'shop_password';
CREATE ROLE hotpath LOGIN PASSWORD :'hotpath_password';
CREATE ROLE hotpath_observer LOGIN PASSWORD :'observer_password';
CREATE ROLE grafana_reader LOGIN PASSWORD :'grafana_password';

CREATE DATABASE shop OWNER shop;
CREATE DATABASE hotpath OWNER hotpath;

-- pg_read_all_stats: other roles' statements in pg_stat_statements, with their text.
GRANT pg_read_all_stats TO hotpath_observer;
-- Belt and braces for a role that must never change a user's data: every transaction is read-only, and no
-- statement it runs (EXPLAIN of a slow query included) may take long.
ALTER ROLE hotpath_observer SET default_transaction_read_only = on;
ALTER ROLE hotpath_observer SET statement_timeout = '5s';
ALTER ROLE grafana_reader SET default_transaction_read_only = on;
ALTER ROLE grafana_reader SET statement_timeout = '10s';
SQL

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname shop <<'SQL'
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
-- The index advisor's hypothetical indexes (stack/postgres/Dockerfile installs the package): backend-local, no writes.
CREATE EXTENSION IF NOT EXISTS hypopg;
-- EXPLAIN needs SELECT on the tables a statement reads; the demo creates its tables as `shop`.
ALTER DEFAULT PRIVILEGES FOR ROLE shop IN SCHEMA public GRANT SELECT ON TABLES TO hotpath_observer;
GRANT USAGE ON SCHEMA public TO hotpath_observer;
SQL

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname hotpath <<'SQL'
-- The analyzer's migrations create tables as `hotpath`; Grafana may read whatever they create.
ALTER DEFAULT PRIVILEGES FOR ROLE hotpath IN SCHEMA public GRANT SELECT ON TABLES TO grafana_reader;
GRANT USAGE ON SCHEMA public TO grafana_reader;
SQL
