/**
 * GET (or POST, with a body) a JSON document from an upstream with a timeout per attempt and retries with backoff on network errors,
 * timeouts, 429 and 5xx — the same policy as the Prometheus client — and errors that name the upstream and URL.
 */
import { UpstreamError } from '../errors.ts';

export interface HttpOptions {
  /** Per attempt (default 10 s). */
  readonly timeoutMs?: number;
  /** Attempts after the first, for network errors, 429 and 5xx (default 2). */
  readonly retries?: number;
  /** First backoff; doubles each retry (default 250 ms). */
  readonly backoffMs?: number;
}

export interface GetJsonRequest extends HttpOptions {
  readonly upstream: UpstreamError['upstream'];
  /** Base URL, named in errors. */
  readonly target: string;
  readonly path: string;
  readonly params?: Readonly<Record<string, string>>;
  /** What to tell the user to check when the upstream cannot be reached. */
  readonly hint?: string;
  /** Sent as JSON with POST (Connect unary calls, e.g. Pyroscope's query API); GET without it. */
  readonly body?: unknown;
}

/** A 2xx answer's JSON, or `null` for 404 (the caller decides what absence means). */
export async function getJson(request: GetJsonRequest): Promise<unknown | null> {
  const retries = request.retries ?? 2;
  const backoffMs = request.backoffMs ?? 250;
  const timeoutMs = request.timeoutMs ?? 10_000;
  const query = new URLSearchParams(request.params ?? {}).toString();
  const url = `${request.target}${request.path}${query === '' ? '' : `?${query}`}`;
  const verb = request.body === undefined ? 'GET' : 'POST';
  const fail = (message: string, cause?: unknown): UpstreamError =>
    new UpstreamError(request.upstream, request.target, message, cause === undefined ? undefined : { cause });

  let lastError: unknown;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, backoffMs * 2 ** (attempt - 1)));
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        headers: {
          accept: 'application/json',
          ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(request.body === undefined ? {} : { method: 'POST', body: JSON.stringify(request.body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      lastError = error;
      continue; // unreachable, reset or timed out: worth another try
    }
    if (response.status === 404) return null;
    if (response.status >= 500 || response.status === 429) {
      lastError = new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`);
      continue;
    }
    if (!response.ok) {
      // 4xx: the request itself is wrong (a bad TraceQL, a bad id); retrying will not help.
      throw fail(`${verb} ${url} refused (HTTP ${response.status}): ${text.slice(0, 300)}`);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw fail(`${verb} ${url} answered with something that is not JSON: ${text.slice(0, 200)}`, error);
    }
  }
  const reason = describe(lastError);
  const hint = request.hint === undefined ? '' : `; ${request.hint}`;
  throw fail(`${verb} ${url} failed after ${retries + 1} attempts (${reason})${hint}`, lastError);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici reports "fetch failed" and keeps the useful part (ECONNREFUSED…) in the cause.
  const cause = (error as { cause?: unknown }).cause;
  const detail = cause instanceof Error ? cause.message : '';
  if (error.name === 'TimeoutError') return `timed out: ${error.message}`;
  return detail === '' ? error.message : `${error.message}: ${detail}`;
}
