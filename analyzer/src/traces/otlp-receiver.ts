/**
 * An OTLP/HTTP traces receiver (`POST /v1/traces`) that feeds the embedded trace source, so a service can point
 * its SDK exporter (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) at the analyzer without a Collector or Tempo.
 * Spec: https://opentelemetry.io/docs/specs/otlp/#otlphttp
 *
 * - bodies: binary protobuf (`application/x-protobuf`) or OTLP JSON (`application/json`), optionally
 *   `Content-Encoding: gzip` (or deflate/br, which body-parser also inflates); the size limit counts the
 *   inflated bytes, as the spec asks, so a small gzip bomb is refused like a large body;
 * - 200 with an `ExportTraceServiceResponse` in the request's encoding (`partialSuccess` when the window refused
 *   spans); 400 (undecodable or invalid), 413 (too large), 415 (another content type or encoding), each with a
 *   `google.rpc.Status` whose `BadRequest` detail names every problem by its JSON path. A client must not retry
 *   any of these, and the receiver never answers 5xx for a bad body.
 *
 * Mount it before any app-wide body parser: `express.json()` would consume OTLP JSON first (a body it already
 * parsed is still accepted, but under that parser's limit).
 */
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { IngestResult } from './embedded.ts';
import type { Span } from './model.ts';
import { spansFromOtlpJson, TraceFormatError } from './otlp-json.ts';
import {
  BAD_REQUEST_TYPE_URL,
  encodeExportResponse,
  encodeRpcStatus,
  type FieldViolation,
  otlpJsonFromProtobuf,
} from './otlp-receiver-proto.ts';

export const OTLP_TRACES_PATH = '/v1/traces';

/** 8 MiB: a few thousand spans per request; the SDK's batch processor sends 512 spans at most. */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface OtlpReceiverOptions {
  /** Where received spans go: the embedded source, which also counts the requests refused. */
  readonly source: {
    ingest(spans: readonly Span[]): IngestResult;
    recordRejectedBatch(): void;
  };
  /** The largest body accepted, counted after decompression (default 8 MiB). */
  readonly maxBodyBytes?: number;
  /** Refused requests are logged at warn, receiver failures at error. */
  readonly log?: Pick<Logger, 'warn' | 'error'>;
}

type Encoding = 'protobuf' | 'json';

const MEDIA_TYPES: Readonly<Record<string, Encoding>> = {
  'application/x-protobuf': 'protobuf',
  'application/json': 'json',
};

/** google.rpc.Code values; OTLP/HTTP clients act on the HTTP status, the code is for people reading logs. */
const RPC_CODE = { invalidArgument: 3, internal: 13 } as const;

/** A refused request: the HTTP status and what to tell the client. */
class Rejection extends Error {
  readonly status: 400 | 405 | 413 | 415 | 500;
  readonly violations: readonly FieldViolation[];
  constructor(status: Rejection['status'], message: string, violations: readonly FieldViolation[] = []) {
    super(message);
    this.status = status;
    this.violations = violations;
  }
}

function contentTypeOf(req: Request): { encoding: Encoding; charset?: string } | Rejection {
  const header = req.headers['content-type'] ?? '';
  const [media = '', ...params] = header.split(';');
  const encoding = MEDIA_TYPES[media.trim().toLowerCase()];
  if (encoding === undefined) {
    return new Rejection(
      415,
      `Content-Type ${header === '' ? '(none)' : JSON.stringify(header)} is not an OTLP/HTTP encoding: ` +
        'send application/x-protobuf or application/json',
    );
  }
  const charset = params
    .map((p) => /^\s*charset\s*=\s*"?([^"]*)"?\s*$/i.exec(p)?.[1]?.toLowerCase())
    .find((c) => c !== undefined);
  return charset === undefined ? { encoding } : { encoding, charset };
}

/** `path: message` lines of a `TraceFormatError` as `BadRequest` field violations. */
function violationsOf(problems: readonly string[]): FieldViolation[] {
  return problems.map((p) => {
    const at = p.indexOf(': ');
    const field = at < 0 ? '' : p.slice(0, at);
    return field === '' || field === '(body)'
      ? { field: '', description: at < 0 ? p : p.slice(at + 2) }
      : { field, description: p.slice(at + 2) };
  });
}

function decodeJson(body: Buffer, charset: string | undefined): unknown {
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new Rejection(415, `charset ${JSON.stringify(charset)} is not supported: OTLP JSON is UTF-8`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new Rejection(400, 'the body is not UTF-8 text', [
      { field: '', description: 'is not valid UTF-8' },
    ]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Rejection(400, `the body is not valid JSON: ${reason}`, [
      { field: '', description: `is not valid JSON: ${reason}` },
    ]);
  }
}

/** The request's spans; a `Rejection` (400) naming each problem when the body is not a valid export request. */
function spansOf(body: unknown, encoding: Encoding, charset: string | undefined): Span[] {
  try {
    if (encoding === 'protobuf') {
      if (!Buffer.isBuffer(body)) throw new Rejection(400, 'the body is not a protobuf message');
      return spansFromOtlpJson(otlpJsonFromProtobuf(body));
    }
    // An app-wide express.json() may have parsed the body already.
    return spansFromOtlpJson(Buffer.isBuffer(body) ? decodeJson(body, charset) : body);
  } catch (error) {
    if (error instanceof Rejection) throw error;
    if (error instanceof TraceFormatError) {
      throw new Rejection(400, error.message, violationsOf(error.problems));
    }
    // Whatever else the decoders threw is still about the body; a RangeError is recursion exhausting the stack.
    const reason = error instanceof Error ? error.message : String(error);
    throw new Rejection(
      400,
      error instanceof RangeError
        ? `the body is nested too deeply to decode (${reason})`
        : `the body cannot be decoded: ${reason}`,
    );
  }
}

/** body-parser's errors (they carry `status` and `type`) as rejections. */
function readFailure(error: unknown, maxBodyBytes: number): Rejection {
  const { status, type, message } = error as { status?: unknown; type?: unknown; message?: unknown };
  const reason = typeof message === 'string' ? message : String(error);
  if (status === 413) {
    return new Rejection(
      413,
      `the body is larger than ${maxBodyBytes} bytes (counted after decompression): send smaller batches ` +
        '(BatchSpanProcessor maxExportBatchSize)',
    );
  }
  if (status === 415 || type === 'encoding.unsupported') {
    return new Rejection(415, `${reason}: send the body as is or gzip-compressed`);
  }
  return new Rejection(400, `the body cannot be read: ${reason}`, [{ field: '', description: reason }]);
}

function sendFailure(res: Response, encoding: Encoding, rejection: Rejection): void {
  const code = rejection.status >= 500 ? RPC_CODE.internal : RPC_CODE.invalidArgument;
  res.status(rejection.status);
  if (rejection.status === 405) res.set('Allow', 'POST');
  if (encoding === 'protobuf') {
    res
      .type('application/x-protobuf')
      .send(Buffer.from(encodeRpcStatus(code, rejection.message, rejection.violations)));
    return;
  }
  res.json({
    code,
    message: rejection.message,
    ...(rejection.violations.length === 0
      ? {}
      : { details: [{ '@type': BAD_REQUEST_TYPE_URL, fieldViolations: rejection.violations }] }),
  });
}

function sendSuccess(res: Response, encoding: Encoding, result: IngestResult): void {
  const partial =
    result.rejected === 0
      ? undefined
      : { rejectedSpans: result.rejected, errorMessage: result.reason ?? 'spans were refused' };
  res.status(200);
  if (encoding === 'protobuf') {
    res.type('application/x-protobuf').send(Buffer.from(encodeExportResponse(partial)));
    return;
  }
  // proto3 JSON writes int64 as a decimal string.
  res.json(
    partial === undefined
      ? {}
      : { partialSuccess: { ...partial, rejectedSpans: String(partial.rejectedSpans) } },
  );
}

/** The `POST /v1/traces` handler alone, for `app.post(path, handler)`. It answers every request itself. */
export function otlpTracesHandler(options: OtlpReceiverOptions): RequestHandler {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const readRaw = express.raw({ type: () => true, limit: maxBodyBytes });
  const read = (req: Request, res: Response) =>
    new Promise<void>((resolve, reject) => {
      readRaw(req, res, (error?: unknown) => (error === undefined ? resolve() : reject(error)));
    });

  return async (req, res) => {
    const type = contentTypeOf(req);
    // A 415 cannot answer in the request's encoding; JSON is the one a person can read.
    const encoding: Encoding = type instanceof Rejection ? 'json' : type.encoding;
    const refuse = (rejection: Rejection) => {
      // Drain what is left of the body (an unread one would stall the client's keep-alive connection).
      if (!req.complete) req.resume();
      if (rejection.status < 500) options.source.recordRejectedBatch();
      const log = {
        status: rejection.status,
        problems: rejection.violations,
        contentType: req.headers['content-type'],
      };
      options.log?.warn(log, `OTLP traces request refused: ${rejection.message}`);
      sendFailure(res, encoding, rejection);
    };
    try {
      if (type instanceof Rejection) {
        refuse(type);
        return;
      }
      try {
        await read(req, res);
      } catch (error) {
        refuse(readFailure(error, maxBodyBytes));
        return;
      }
      // No body at all is an empty request: no spans, a success (spec: "Full Success").
      const body: unknown = req.body ?? Buffer.alloc(0);
      let spans: Span[];
      try {
        spans = spansOf(body, type.encoding, type.charset);
      } catch (error) {
        refuse(error instanceof Rejection ? error : new Rejection(400, String(error)));
        return;
      }
      sendSuccess(res, type.encoding, options.source.ingest(spans));
    } catch (error) {
      options.log?.error({ err: error }, 'OTLP traces receiver failed');
      if (!res.headersSent) {
        sendFailure(
          res,
          encoding,
          new Rejection(500, 'the receiver failed; the analyzer log has the details'),
        );
      }
    }
  };
}

/**
 * An Express router with the receiver at `POST /v1/traces` (other methods there get 405): `app.use(router)`,
 * before any app-wide body parser.
 */
export function otlpTracesRouter(options: OtlpReceiverOptions): Router {
  const router = express.Router();
  router.post(OTLP_TRACES_PATH, otlpTracesHandler(options));
  router.all(OTLP_TRACES_PATH, (req, res) => {
    req.resume();
    sendFailure(
      res,
      'json',
      new Rejection(405, `${req.method} is not supported: OTLP/HTTP exports are POSTs`),
    );
  });
  return router;
}
