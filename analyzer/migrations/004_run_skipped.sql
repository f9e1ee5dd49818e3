-- Hotpath analyzer store, migration 004: what a succeeded cycle could not read.
-- A cycle whose trace or profile source failed still succeeds on its metric findings, and the findings that
-- source alone could show are neither refreshed nor resolved; the run says which source it went without and why,
-- e.g. {"traces": "tempo (http://tempo:3200): GET …/api/search… failed after 3 attempts (…)"}.
ALTER TABLE analysis_runs ADD COLUMN skipped jsonb NOT NULL DEFAULT '{}';
