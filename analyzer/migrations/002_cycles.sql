-- Hotpath analyzer store, migration 002: what `hotpath serve` needs to run cycles on several replicas.

-- A run asked for through the API waits (queued) until the cycle lock is free.
ALTER TABLE analysis_runs DROP CONSTRAINT analysis_runs_status_check;
ALTER TABLE analysis_runs
  ADD CONSTRAINT analysis_runs_status_check CHECK (status IN ('queued', 'running', 'succeeded', 'failed'));

-- Scheduled cycles are numbered by their time slot (epoch ÷ interval): the unique index below lets exactly one
-- replica claim a slot, so replicas on the same schedule never run the same cycle twice, even one after another.
ALTER TABLE analysis_runs ADD COLUMN slot bigint;
CREATE UNIQUE INDEX analysis_runs_schedule_slot ON analysis_runs (slot) WHERE trigger = 'schedule';

-- Which replica ran it (host name and pid), and who asked (a JWT subject, for trigger = 'api').
ALTER TABLE analysis_runs ADD COLUMN replica text;
ALTER TABLE analysis_runs ADD COLUMN requested_by text;

-- What the cycle changed in the store: {"opened":1,"updated":3,"reopened":0,"resolved":2}.
ALTER TABLE analysis_runs ADD COLUMN changes jsonb NOT NULL DEFAULT '{}'::jsonb;

CREATE INDEX analysis_runs_started ON analysis_runs (started_at DESC);
