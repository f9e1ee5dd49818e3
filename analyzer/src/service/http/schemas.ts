/**
 * The HTTP API's schemas (zod): requests, which `parseRequest` validates (path, query and body together, so a
 * 400 names every problem of a request at once), and responses, which the API fuzzer checks every answer
 * against. The route table (`api.ts`) names them, and the OpenAPI document is generated from them; a schema's
 * `.meta({ description })` is its description there.
 */
import { z } from 'zod';
import { ValidationError } from '../../errors.ts';
import { parseWindow } from '../../sources/snapshot.ts';
import { STATUSES } from '../../store/lifecycle.ts';

const LAYERS = ['api', 'database', 'runtime', 'frontend'] as const;
const SEVERITIES = ['info', 'warning', 'critical'] as const;
const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;

/**
 * `?status=open,acknowledged` and `?status=open&status=acknowledged` both give a list. `items` is what the
 * OpenAPI document says each value is: a transform has no JSON Schema of its own.
 */
const list = <I extends z.ZodType>(item: I, items: object, description: string) =>
  z
    .preprocess(
      (v) =>
        v === undefined ? undefined : (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(',')),
      z.array(item).min(1).optional(),
    )
    .meta({
      description: `${description} Several values: comma-separated or the parameter repeated.`,
      type: 'array',
      items,
    });
const enumList = <T extends readonly [string, ...string[]]>(values: T, description: string) =>
  list(z.enum(values), { type: 'string', enum: [...values] }, description);

/** Text PostgreSQL can store: a NUL byte would make the query fail (22021) instead of the request. */
const text = () =>
  z.string().refine((s) => !s.includes('\0'), { message: 'must not contain NUL characters' });

export const findingId = z
  .string()
  .regex(/^[a-z0-9-]{1,80}-[0-9a-f]{16}$/, {
    message: 'is not a finding id (e.g. slow-endpoint-0123456789abcdef)',
  })
  .meta({ description: 'The finding id (kind + hash of service and subject): stable across cycles.' });

export const findingParams = z.strictObject({ id: findingId });

export const findingQuery = z.strictObject({
  service: text().min(1).max(200).optional().meta({ description: 'Prometheus job.' }),
  subject: text()
    .min(1)
    .max(500)
    .optional()
    .meta({
      description:
        'A route (`/api/orders`), a route with its method (`POST /api/orders`) or a finding subject: the ' +
        'findings about it and the causes that absorbed one about it as a symptom. Alert notifications link here.',
    }),
  layer: enumList(LAYERS, 'Only these layers.'),
  severity: enumList(SEVERITIES, 'Only these severities.'),
  status: enumList(STATUSES, 'Only these lifecycle states.'),
  kind: list(
    z.string().regex(/^[a-z0-9-]{1,80}$/, { message: 'is not a finding kind' }),
    { type: 'string', pattern: '^[a-z0-9-]{1,80}$' },
    'Only these kinds (slow-endpoint, slow-statement, …).',
  ),
  limit: z.coerce.number().int().min(1).max(500).default(50).meta({ description: 'Page size.' }),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0).meta({ description: 'Findings to skip.' }),
});

export const transitionBody = z.strictObject({
  to: z.enum(STATUSES),
  note: text().trim().min(1).max(2000).optional(),
});

const window = z.string().refine(
  (s) => {
    try {
      const seconds = parseWindow(s);
      return seconds >= 60 && seconds <= 7 * 86_400;
    } catch {
      return false;
    }
  },
  { message: 'must be a duration from 1m to 7d, like 5m, 15m or 1h' },
);

export const analysisBody = z.strictObject({ window: window.optional() });

export const analysisParams = z.strictObject({
  id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});

export const analysisQuery = z.strictObject({
  status: enumList(RUN_STATUSES, 'Only runs in these states.'),
  limit: z.coerce.number().int().min(1).max(200).default(20).meta({ description: 'How many.' }),
});

export const emptyQuery = z.strictObject({});

// Responses. Each one with an `id` is a component of the OpenAPI document: zod's global registry holds the
// ids with the descriptions, and the document is generated from it.
export const components = z.globalRegistry;
const timestamp = () => z.iso.datetime({ offset: true });

export const problemDocument = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    detail: z.string().min(1),
    problems: z.array(z.object({ path: z.string().min(1), message: z.string().min(1) })).optional(),
    upstream: z.string().optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details.' });

export const recommendation = z
  .object({
    action: z.string(),
    artifact: z.string().optional().meta({ description: 'The DDL, code shape or config line to apply.' }),
    expectedGain: z.string(),
    confidence: z.enum(['low', 'medium', 'high']),
    verify: z.string(),
    general: z
      .boolean()
      .optional()
      .meta({ description: 'Advice about code shapes in general, not this app.' }),
  })
  .meta({ id: 'Recommendation' });

export const finding = z
  .object({
    id: z.string(),
    kind: z.string(),
    layer: z.enum(LAYERS),
    service: z.string().meta({ description: 'Prometheus job.' }),
    subject: z.string().meta({ description: 'Route, statement fingerprint, instance, pool or page.' }),
    severity: z.enum(SEVERITIES),
    impact: z.number().meta({ description: 'Seconds of user-facing time lost per second.' }),
    status: z.enum(STATUSES),
    title: z.string(),
    summary: z.string(),
    evidence: z
      .looseObject({})
      .meta({ description: 'Values, window, the queries to paste, trace ids, plan, absorbed symptoms.' }),
    recommendations: z.array(recommendation),
    firstSeen: timestamp(),
    lastSeen: timestamp(),
    cleanCycles: z.number().int().min(0),
    updatedAt: timestamp(),
  })
  .meta({ id: 'Finding' });

export const findingEvent = z
  .object({
    id: z.number().int(),
    at: timestamp(),
    from: z.enum(STATUSES).nullable(),
    to: z.enum(STATUSES),
    actor: z.string().meta({ description: 'The JWT subject, or `analyzer`.' }),
    note: z.string().nullable(),
    runId: z.number().int().nullable(),
  })
  .meta({ id: 'FindingEvent' });

export const analysisRun = z
  .object({
    id: z.number().int().min(1),
    status: z.enum(RUN_STATUSES),
    trigger: z.enum(['schedule', 'api', 'cli']),
    startedAt: timestamp(),
    finishedAt: timestamp().nullable(),
    windowSeconds: z.number().int(),
    findings: z.number().int().min(0),
    error: z.string().nullable(),
    slot: z.number().int().nullable(),
    replica: z.string().nullable(),
    requestedBy: z.string().nullable(),
    changes: z.record(z.string(), z.number().int()),
    skipped: z
      .record(z.string(), z.string())
      .describe(
        'Sources a succeeded run went without (traces, profiles), each with the reason; the findings only they show were neither refreshed nor resolved.',
      ),
  })
  .meta({ id: 'AnalysisRun' });

export const readiness = z
  .object({
    status: z.enum(['ready', 'unavailable']),
    ready: z.boolean(),
    checks: z.record(
      z.string(),
      z.object({
        status: z.enum(['up', 'down']),
        target: z.string(),
        latencyMs: z.number(),
        error: z.string().optional(),
      }),
    ),
    traces: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    profiles: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  })
  .meta({ id: 'Readiness' });

export interface RequestParts {
  readonly params?: unknown;
  readonly query?: unknown;
  readonly body?: unknown;
}

type Schemas = { params?: z.ZodType; query?: z.ZodType; body?: z.ZodType };
type Parsed<S extends Schemas> = { [K in keyof S]: S[K] extends z.ZodType ? z.infer<S[K]> : never };

/** Validates each part against its schema; throws one `ValidationError` listing every problem of every part. */
export function parseRequest<S extends Schemas>(schemas: S, parts: RequestParts): Parsed<S> {
  const problems: { path: string; message: string }[] = [];
  const out: Record<string, unknown> = {};
  for (const part of ['params', 'query', 'body'] as const) {
    const schema = schemas[part];
    if (schema === undefined) continue;
    // A missing JSON body arrives as undefined; validate it as {} so each missing field is named.
    const value = part === 'body' && parts.body === undefined ? {} : parts[part];
    const result = schema.safeParse(value);
    if (result.success) {
      out[part] = result.data;
      continue;
    }
    for (const issue of result.error.issues) {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
      for (const key of keys) {
        const path = [part, ...issue.path.map(String), ...(key === undefined ? [] : [key])].join('.');
        problems.push({ path, message: key === undefined ? issue.message : 'is not a known field' });
      }
    }
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return out as Parsed<S>;
}
