/**
 * The SLO file (`slo.yaml` at the repository root, or HOTPATH_SLO_FILE): parsed once, validated with every
 * problem reported at once, frozen. The analyzer's detector limits, the generated Grafana alert rules and the
 * generated k6 thresholds all come from here.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';

const positive = z.number().positive();
const duration = z.string().regex(/^\d+[smhd]$/, 'a duration like 5m or 1h');

const api = z.strictObject({
  latency_p95_ms: positive,
  error_rate_percent: z.number().positive().max(100),
  min_request_rate_per_s: z.number().nonnegative(),
});
const databaseFields = {
  query_p95_ms: positive,
  advice_min_share_percent: z.number().nonnegative().max(100),
};
const database = z.strictObject({
  ...databaseFields,
  // Optional so SLO files written before the advisor stay valid; the default is the one slo.yaml states.
  advice_min_share_percent: databaseFields.advice_min_share_percent.default(5),
});
const frontend = z.strictObject({
  page_load_p75_ms: positive,
  lcp_p75_ms: positive,
  inp_p75_ms: positive,
  cls_p75: positive,
  ttfb_p75_ms: positive,
  fcp_p75_ms: positive,
});
const runtime = z.strictObject({
  event_loop_p99_ms: positive,
  event_loop_utilization: z.number().positive().max(1),
  heap_growth_mb_per_hour: positive,
  cpu_utilization_percent: z.number().positive().max(100),
  gc_ms_per_s: positive,
});

const objectives = z.strictObject({ api, database, frontend, runtime });
const overrides = z.strictObject({
  api: api.partial().optional(),
  // Without the default: an override that leaves a key out inherits it from `defaults`.
  database: z.strictObject(databaseFields).partial().optional(),
  frontend: frontend.partial().optional(),
  runtime: runtime.partial().optional(),
});

const clock = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'a time of day like 07:00 (24:00 ends a day)');
const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
/** One stretch of the quiet hours, in Alertmanager's `time_interval` shape (Grafana's mute timing is the same). */
const quietInterval = z
  .strictObject({
    times: z
      .array(z.strictObject({ start_time: clock, end_time: clock }))
      .min(1)
      .optional(),
    weekdays: z.array(z.enum(WEEKDAYS)).min(1).optional(),
  })
  .refine((i) => i.times !== undefined || i.weekdays !== undefined, 'give times, weekdays or both');

/**
 * How alerts are delivered (both alert paths read it: Grafana's provisioning and Prometheus + Alertmanager).
 * Optional so SLO files written before it stay valid; the defaults are the ones slo.yaml states.
 */
const alerting = z.strictObject({
  // How long a condition must hold before its alert fires (`for:`), per objective.
  for: z
    .strictObject({
      api_latency: duration.default('2m'),
      error_budget: duration.default('2m'),
      database_latency: duration.default('2m'),
      event_loop: duration.default('1m'),
      heap_growth: duration.default('10m'),
      cpu: duration.default('5m'),
      frontend: duration.default('5m'),
      findings: duration.default('0s'),
      pipeline: duration.default('5m'),
    })
    .prefault({}),
  group_wait: duration.default('30s'),
  group_interval: duration.default('5m'),
  repeat_interval: z
    .strictObject({ critical: duration.default('1h'), warning: duration.default('4h') })
    .prefault({}),
  // When warnings wait (criticals never do). `location` is an IANA time zone.
  quiet_hours: z
    .strictObject({ location: z.string().min(1).default('UTC'), intervals: z.array(quietInterval) })
    .prefault({
      intervals: [
        { times: [{ start_time: '20:00', end_time: '24:00' }] },
        { times: [{ start_time: '00:00', end_time: '07:00' }] },
        { weekdays: ['saturday', 'sunday'] },
      ],
    }),
});

const sloFileSchema = z.strictObject({
  defaults: objectives,
  error_budget: z.strictObject({
    burn_rates: z
      .array(
        z.strictObject({
          severity: z.enum(['critical', 'warning']),
          long_window: duration,
          short_window: duration,
          factor: positive,
        }),
      )
      .min(1),
  }),
  alerting: alerting.prefault({}),
  services: z.record(z.string().min(1), overrides).default({}),
});

/** The objectives that apply to one service (defaults with its overrides applied). */
export type Objectives = z.infer<typeof objectives>;
/** The whole SLO file, validated. */
export type SloFile = z.infer<typeof sloFileSchema>;
export type BurnRate = SloFile['error_budget']['burn_rates'][number];
export type Alerting = SloFile['alerting'];

/** The SLO file could not be read or is invalid; `problems` lists every issue with its path. */
export class SloError extends Error {
  readonly problems: readonly string[];
  constructor(file: string, problems: readonly string[]) {
    super(`invalid SLO file ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SloError';
    this.problems = problems;
  }
}

/** `slo.yaml` at the repository root (this file is analyzer/src/slo.ts). */
export const DEFAULT_SLO_FILE = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'slo.yaml');

export function sloFilePath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env.HOTPATH_SLO_FILE ?? DEFAULT_SLO_FILE;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Parses and validates SLO YAML text. */
export function parseSlo(text: string, file = 'slo.yaml'): SloFile {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new SloError(file, [`not valid YAML: ${error instanceof Error ? error.message : String(error)}`]);
  }
  const result = sloFileSchema.safeParse(raw);
  if (!result.success) {
    throw new SloError(
      file,
      result.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(top level)'}: ${i.message}`),
    );
  }
  return deepFreeze(result.data);
}

/** Reads the SLO file (default: `slo.yaml` at the repository root, or HOTPATH_SLO_FILE). */
export function loadSlo(file = sloFilePath()): SloFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new SloError(file, [`cannot read it: ${error instanceof Error ? error.message : String(error)}`]);
  }
  return parseSlo(text, file);
}

function merge<T extends object>(base: T, over: { [K in keyof T]?: T[K] | undefined } | undefined): T {
  const out = { ...base };
  for (const key of Object.keys(over ?? {}) as (keyof T)[]) {
    const value = over?.[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** The objectives of `service`: the defaults, with that service's overrides applied. */
export function objectivesFor(slo: SloFile, service: string): Objectives {
  const o = slo.services[service] ?? {};
  return deepFreeze({
    api: merge(slo.defaults.api, o.api),
    database: merge(slo.defaults.database, o.database),
    frontend: merge(slo.defaults.frontend, o.frontend),
    runtime: merge(slo.defaults.runtime, o.runtime),
  });
}
