/**
 * Request schemas of the HTTP API (zod). `parseRequest` validates path, query and body together, so a 400 names
 * every problem of a request at once; the OpenAPI document is generated from the same schemas.
 */
import { z } from 'zod';
import { ValidationError } from '../../errors.ts';
import { parseWindow } from '../../sources/snapshot.ts';
import { STATUSES } from '../../store/lifecycle.ts';

const LAYERS = ['api', 'database', 'runtime', 'frontend'] as const;
const SEVERITIES = ['info', 'warning', 'critical'] as const;
const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;

/** `?status=open,acknowledged` and `?status=open&status=acknowledged` both give a list. */
const list = <T extends readonly [string, ...string[]]>(values: T) =>
  z.preprocess(
    (v) => (v === undefined ? undefined : (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(','))),
    z.array(z.enum(values)).min(1).optional(),
  );

/** Text PostgreSQL can store: a NUL byte would make the query fail (22021) instead of the request. */
const text = () =>
  z.string().refine((s) => !s.includes('\0'), { message: 'must not contain NUL characters' });

export const findingId = z.string().regex(/^[a-z0-9-]{1,80}-[0-9a-f]{16}$/, {
  message: 'is not a finding id (e.g. slow-endpoint-0123456789abcdef)',
});

export const findingParams = z.strictObject({ id: findingId });

export const findingQuery = z.strictObject({
  service: text().min(1).max(200).optional(),
  subject: text().min(1).max(500).optional(),
  layer: list(LAYERS),
  severity: list(SEVERITIES),
  status: list(STATUSES),
  kind: z.preprocess(
    (v) => (v === undefined ? undefined : (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(','))),
    z
      .array(z.string().regex(/^[a-z0-9-]{1,80}$/, { message: 'is not a finding kind' }))
      .min(1)
      .optional(),
  ),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
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
  status: list(RUN_STATUSES),
  limit: z.coerce.number().int().min(1).max(200).default(20),
});

export const emptyQuery = z.strictObject({});

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
