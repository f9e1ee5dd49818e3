-- Hotpath analyzer store, migration 001: findings with a lifecycle and full history, and analysis runs.
-- Applied in order by `hotpath migrate`; each file runs once, in one transaction.

CREATE TABLE analysis_runs (
  id           bigserial PRIMARY KEY,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  -- running | succeeded | failed
  status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
  trigger      text NOT NULL DEFAULT 'schedule', -- schedule | api | cli
  window_s     integer NOT NULL,
  findings     integer NOT NULL DEFAULT 0,
  error        text
);

CREATE TABLE findings (
  -- Stable fingerprint: kind + service + subject, so the same problem is the same row across cycles.
  id              text PRIMARY KEY,
  kind            text NOT NULL,             -- slow-endpoint, error-rate, slow-statement, n-plus-one, …
  layer           text NOT NULL CHECK (layer IN ('api', 'database', 'runtime', 'frontend')),
  -- The Prometheus job (service.namespace/service.name, or service.name): one value filters both datasources.
  service         text NOT NULL,
  subject         text NOT NULL,             -- route, statement fingerprint, page
  severity        text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  -- One unit across layers: seconds of user-facing time lost per second (rate × excess latency).
  impact          double precision NOT NULL DEFAULT 0,
  status          text NOT NULL DEFAULT 'open'
                  CHECK (status IN ('open', 'acknowledged', 'resolved', 'dismissed')),
  title           text NOT NULL,
  summary         text NOT NULL,
  evidence        jsonb NOT NULL DEFAULT '{}'::jsonb,
  recommendations jsonb NOT NULL DEFAULT '[]'::jsonb,
  first_seen      timestamptz NOT NULL DEFAULT now(),
  last_seen       timestamptz NOT NULL DEFAULT now(),
  -- Cycles in a row without the condition; the finding auto-resolves after N.
  clean_cycles    integer NOT NULL DEFAULT 0,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX findings_status_severity ON findings (status, severity);
CREATE INDEX findings_service ON findings (service);

-- Every lifecycle change (and every re-detection that changes severity), who did it and why.
CREATE TABLE finding_events (
  id          bigserial PRIMARY KEY,
  finding_id  text NOT NULL REFERENCES findings (id) ON DELETE CASCADE,
  at          timestamptz NOT NULL DEFAULT now(),
  from_status text,
  to_status   text NOT NULL,
  actor       text NOT NULL,                 -- a user, or 'analyzer'
  note        text,
  run_id      bigint REFERENCES analysis_runs (id)
);
CREATE INDEX finding_events_finding ON finding_events (finding_id, at);
