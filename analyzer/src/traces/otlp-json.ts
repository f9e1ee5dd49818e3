/**
 * OTLP JSON `resourceSpans` → the span model. Accepts both encodings seen in practice:
 * - OTLP/HTTP JSON (the SDK exporters, the embedded receiver): hex ids, `kind` as an integer;
 * - Tempo's gogo-jsonpb (trace-by-id bodies): base64 ids, enum names (`SPAN_KIND_SERVER`), 64-bit integers as
 *   strings, zero values left out (`"status": {}` is unset).
 * Spec: https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding
 */
import { z } from 'zod';
import type { Attributes, AttributeValue, Span, SpanKind, SpanStatus, Trace } from './model.ts';

/**
 * A body (OTLP traces, a Tempo search, Prometheus exemplars) does not have the documented shape; `problems`
 * lists each issue with its JSON path. The embedded receiver maps it to 400, the Tempo client to UpstreamError.
 */
export class TraceFormatError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[], what = 'OTLP JSON traces') {
    super(`not ${what}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'TraceFormatError';
    this.problems = problems;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Ids

const HEX = /^[0-9a-fA-F]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

const ZERO = /^0+$/;

/**
 * An id as lowercase hex of `bytes` bytes, from hex or base64; null when it is neither. The lengths never
 * collide: 16 bytes are 32 hex or 24 base64 characters, 8 bytes 16 hex or 12 base64.
 */
function decodeId(id: string, bytes: number): string | null {
  if (id.length === bytes * 2 && HEX.test(id)) return id.toLowerCase();
  if (id.length !== Math.ceil(bytes / 3) * 4 || !BASE64.test(id)) return null;
  const decoded = Buffer.from(id, 'base64');
  return decoded.length === bytes ? decoded.toString('hex') : null;
}

/** As `decodeId`, and null for the all-zero id, which OTLP defines as invalid. */
function normalizeId(id: string, bytes: number): string | null {
  const hex = decodeId(id, bytes);
  return hex === null || ZERO.test(hex) ? null : hex;
}

/** A trace id (hex or base64) as 32 lowercase hex characters, or null. */
export function normalizeTraceId(id: string): string | null {
  return normalizeId(id, 16);
}

/** A span id (hex or base64) as 16 lowercase hex characters, or null. */
export function normalizeSpanId(id: string): string | null {
  return normalizeId(id, 8);
}

/**
 * A hex trace id as search results and exemplars carry it: Tempo strips leading zeros
 * (`pkg/util/traceid.go`), so shorter ids are left-padded to 32. Null when it is not hex.
 */
export function padTraceId(id: string): string | null {
  if (id.length === 0 || id.length > 32 || !HEX.test(id)) return null;
  const hex = id.toLowerCase().padStart(32, '0');
  return ZERO.test(hex) ? null : hex;
}

// ---------------------------------------------------------------------------------------------------------------
// Schema

const idOf = (bytes: number, what: string) =>
  z.string().transform((s, ctx) => {
    const hex = normalizeId(s, bytes);
    if (hex === null) {
      ctx.issues.push({
        code: 'custom',
        input: s,
        message: `${what} ${JSON.stringify(s)} is neither ${bytes * 2} hex characters nor base64 of ${bytes} bytes`,
      });
      return z.NEVER;
    }
    return hex;
  });

/** fixed64: a decimal string (jsonpb) or a JSON number (some encoders). */
const Uint64 = z.union([z.string(), z.number()]).transform((v, ctx) => {
  if (typeof v === 'string' ? /^\d+$/.test(v) : Number.isInteger(v) && v >= 0) return BigInt(v);
  ctx.issues.push({
    code: 'custom',
    input: v,
    message: `expected an unsigned integer (decimal string or number), got ${JSON.stringify(v)}`,
  });
  return z.NEVER;
});

const KIND_NAMES: Readonly<Record<string, SpanKind>> = {
  SPAN_KIND_UNSPECIFIED: 'unspecified',
  SPAN_KIND_INTERNAL: 'internal',
  SPAN_KIND_SERVER: 'server',
  SPAN_KIND_CLIENT: 'client',
  SPAN_KIND_PRODUCER: 'producer',
  SPAN_KIND_CONSUMER: 'consumer',
};
const KIND_NUMBERS: readonly SpanKind[] = [
  'unspecified',
  'internal',
  'server',
  'client',
  'producer',
  'consumer',
];

/** An enum as protobuf JSON spells it: the value's name (jsonpb) or its number (the SDK exporters). */
function enumOf<T>(what: string, names: Readonly<Record<string, T>>, numbers: readonly T[]) {
  return z.union([z.string(), z.number()]).transform((v, ctx): T => {
    const value = typeof v === 'number' ? numbers[v] : names[v];
    if (value !== undefined) return value;
    ctx.issues.push({
      code: 'custom',
      input: v,
      message: `unknown ${what} ${JSON.stringify(v)} (expected one of ${Object.keys(names).join(', ')} or 0-${numbers.length - 1})`,
    });
    return z.NEVER;
  });
}

const Kind = enumOf('span kind', KIND_NAMES, KIND_NUMBERS);

const STATUS_NAMES: Readonly<Record<string, SpanStatus>> = {
  STATUS_CODE_UNSET: 'unset',
  STATUS_CODE_OK: 'ok',
  STATUS_CODE_ERROR: 'error',
};
const STATUS_NUMBERS: readonly SpanStatus[] = ['unset', 'ok', 'error'];

const StatusCode = enumOf('status code', STATUS_NAMES, STATUS_NUMBERS);

interface AnyValueJson {
  stringValue?: string | undefined;
  boolValue?: boolean | undefined;
  intValue?: string | number | undefined;
  doubleValue?: number | string | undefined;
  bytesValue?: string | undefined;
  arrayValue?: { values?: AnyValueJson[] | undefined } | undefined;
  kvlistValue?: { values?: KeyValueJson[] | undefined } | undefined;
}
interface KeyValueJson {
  key: string;
  value?: AnyValueJson | undefined;
}

const AnyValue: z.ZodType<AnyValueJson> = z.lazy(() =>
  z.object({
    stringValue: z.string().optional(),
    boolValue: z.boolean().optional(),
    intValue: z
      .union([z.string().regex(/^-?\d+$/, 'expected a decimal integer string'), z.number().int()])
      .optional(),
    // protobuf JSON spells the non-finite doubles as strings.
    doubleValue: z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]).optional(),
    bytesValue: z.string().optional(),
    arrayValue: z.object({ values: z.array(AnyValue).optional() }).optional(),
    kvlistValue: z.object({ values: z.array(KeyValue).optional() }).optional(),
  }),
);
const KeyValue: z.ZodType<KeyValueJson> = z.lazy(() =>
  z.object({ key: z.string(), value: AnyValue.optional() }),
);

const SpanJson = z.object({
  traceId: idOf(16, 'traceId'),
  spanId: idOf(8, 'spanId'),
  // Root spans: left out by jsonpb, sent as "" by the SDK exporters.
  parentSpanId: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined || s === '') return undefined;
      const hex = decodeId(s, 8);
      if (hex === null) {
        ctx.issues.push({
          code: 'custom',
          input: s,
          message: `parentSpanId ${JSON.stringify(s)} is neither 16 hex characters nor base64 of 8 bytes`,
        });
        return z.NEVER;
      }
      return ZERO.test(hex) ? undefined : hex;
    }),
  name: z.string().default(''),
  kind: Kind.optional(),
  startTimeUnixNano: Uint64,
  endTimeUnixNano: Uint64,
  attributes: z.array(KeyValue).optional(),
  status: z.object({ code: StatusCode.optional(), message: z.string().optional() }).optional(),
});

const ResourceSpansJson = z.object({
  resource: z.object({ attributes: z.array(KeyValue).optional() }).optional(),
  scopeSpans: z
    .array(
      z.object({
        scope: z.object({ name: z.string().optional() }).optional(),
        spans: z.array(SpanJson).optional(),
      }),
    )
    .optional(),
  // OTLP before 0.15 (and Tempo before 1.4) called scopes "instrumentation libraries".
  instrumentationLibrarySpans: z
    .array(
      z.object({
        instrumentationLibrary: z.object({ name: z.string().optional() }).optional(),
        spans: z.array(SpanJson).optional(),
      }),
    )
    .optional(),
});

/** `{resourceSpans}` (OTLP, a v2 trace body) or `{batches}` (Tempo's v1 trace-by-id): the same list. */
const TracesDataJson = {
  resourceSpans: z.object({ resourceSpans: z.array(ResourceSpansJson) }),
  batches: z.object({ batches: z.array(ResourceSpansJson) }),
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Conversion

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function anyValue(v: AnyValueJson | undefined): AttributeValue | undefined {
  if (v === undefined) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) {
    if (typeof v.intValue === 'number') return v.intValue;
    const big = BigInt(v.intValue);
    return big <= MAX_SAFE && big >= -MAX_SAFE ? Number(big) : v.intValue;
  }
  if (v.doubleValue !== undefined) return Number(v.doubleValue);
  if (v.bytesValue !== undefined) return v.bytesValue;
  if (v.arrayValue !== undefined) {
    return (v.arrayValue.values ?? []).map(anyValue).filter((x): x is AttributeValue => x !== undefined);
  }
  if (v.kvlistValue !== undefined) return attributes(v.kvlistValue.values);
  return undefined; // an empty AnyValue is OTLP's null
}

function attributes(list: readonly KeyValueJson[] | undefined): Attributes {
  const out: Record<string, AttributeValue> = {};
  for (const kv of list ?? []) {
    const value = anyValue(kv.value);
    if (value !== undefined) out[kv.key] = value;
  }
  return out;
}

function pathOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? '(body)' : out;
}

const MAX_PROBLEMS = 20;

/** zod's issues as `path: message` lines, duplicates dropped, at most 20 and a count of the rest. */
export function formatIssues(error: z.ZodError): string[] {
  const unique = [...new Set(error.issues.map((i) => `${pathOf(i.path)}: ${i.message}`))];
  const shown = unique.slice(0, MAX_PROBLEMS);
  if (unique.length > shown.length) shown.push(`… and ${unique.length - shown.length} more`);
  return shown;
}

/** Every span in an OTLP JSON body, in the order they appear. Throws `TraceFormatError` listing what is wrong. */
export function spansFromOtlpJson(body: unknown): Span[] {
  // The key picks the schema (not a union), so that problems are reported where they are, not as "Invalid input".
  const key =
    typeof body === 'object' && body !== null
      ? 'resourceSpans' in body
        ? 'resourceSpans'
        : 'batches' in body
          ? 'batches'
          : undefined
      : undefined;
  if (key === undefined) {
    throw new TraceFormatError(['expected an object with "resourceSpans" (OTLP) or "batches" (Tempo v1)']);
  }
  const parsed =
    key === 'resourceSpans'
      ? TracesDataJson.resourceSpans.safeParse(body)
      : TracesDataJson.batches.safeParse(body);
  if (!parsed.success) throw new TraceFormatError(formatIssues(parsed.error));
  const resourceSpans = 'resourceSpans' in parsed.data ? parsed.data.resourceSpans : parsed.data.batches;
  const out: Span[] = [];
  for (const rs of resourceSpans) {
    const resource = attributes(rs.resource?.attributes);
    const name = resource['service.name'];
    const service = typeof name === 'string' && name !== '' ? name : 'unknown_service';
    const scopes = [
      ...(rs.scopeSpans ?? []).map((s) => ({ scope: s.scope?.name, spans: s.spans ?? [] })),
      ...(rs.instrumentationLibrarySpans ?? []).map((s) => ({
        scope: s.instrumentationLibrary?.name,
        spans: s.spans ?? [],
      })),
    ];
    for (const { scope, spans } of scopes) {
      for (const s of spans) {
        const durationNs = s.endTimeUnixNano - s.startTimeUnixNano;
        const message = s.status?.message;
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          ...(s.parentSpanId === undefined ? {} : { parentSpanId: s.parentSpanId }),
          name: s.name,
          kind: s.kind ?? 'unspecified',
          service,
          startNs: s.startTimeUnixNano,
          endNs: s.endTimeUnixNano,
          durationMs: durationNs > 0n ? Number(durationNs) / 1e6 : 0,
          status: s.status?.code ?? 'unset',
          ...(message === undefined || message === '' ? {} : { statusMessage: message }),
          attributes: attributes(s.attributes),
          resource,
          ...(scope === undefined || scope === '' ? {} : { scope }),
        });
      }
    }
  }
  return out;
}

/**
 * Spans grouped into traces by trace id, each trace's spans ordered by start time; a span id seen twice in a
 * trace (Tempo returns a span once per ingester copy until compaction deduplicates) is kept once.
 */
export function groupTraces(spans: readonly Span[]): Trace[] {
  const byTrace = new Map<string, Map<string, Span>>();
  for (const s of spans) {
    let trace = byTrace.get(s.traceId);
    if (trace === undefined) {
      trace = new Map();
      byTrace.set(s.traceId, trace);
    }
    if (!trace.has(s.spanId)) trace.set(s.spanId, s);
  }
  return [...byTrace].map(([traceId, byId]) => ({
    traceId,
    spans: [...byId.values()].sort((a, b) => (a.startNs === b.startNs ? 0 : a.startNs < b.startNs ? -1 : 1)),
  }));
}

/** An OTLP JSON body as traces. Throws `TraceFormatError` listing what is wrong. */
export function tracesFromOtlpJson(body: unknown): Trace[] {
  return groupTraces(spansFromOtlpJson(body));
}
