-- Hotpath analyzer store, migration 003: pg_stat_statements samples, one per cycle and app database.
-- pg_stat_statements only counts up since its last reset; a cycle judges the delta between now and the sample
-- taken one window ago, so --window means what it says for statements and a fixed statement leaves the findings.
CREATE TABLE statement_samples (
  id        bigserial PRIMARY KEY,
  database  text NOT NULL,
  taken_at  timestamptz NOT NULL,
  -- [{fingerprint, query, database, service, calls, totalMs, sumSqMs, rows, ageSeconds}, …], merged by fingerprint.
  counters  jsonb NOT NULL
);
CREATE INDEX statement_samples_database_taken ON statement_samples (database, taken_at);
