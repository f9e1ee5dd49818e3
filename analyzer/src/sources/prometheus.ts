/**
 * A Prometheus HTTP API client: instant queries with a timeout and retries with backoff. Errors name the
 * upstream and say whether Prometheus was unreachable or refused the query.
 * API: https://prometheus.io/docs/prometheus/latest/querying/api/
 */
import { UpstreamError } from '../errors.ts';

export interface PrometheusSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PrometheusClientOptions {
  readonly url: string;
  /** Per attempt (default 10 s). */
  readonly timeoutMs?: number;
  /** Attempts after the first, for network errors and 5xx (default 2). */
  readonly retries?: number;
  /** First backoff; doubles each retry (default 250 ms). */
  readonly backoffMs?: number;
  readonly fetch?: typeof fetch;
}

/** One series of a range query: its labels and its points (Unix seconds, value). */
export interface PrometheusSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly points: readonly (readonly [number, number])[];
}

interface ApiResponse {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: {
    resultType: string;
    result: { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[];
  };
}

export class PrometheusClient {
  readonly url: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #backoffMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: PrometheusClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#retries = options.retries ?? 2;
    this.#backoffMs = options.backoffMs ?? 250;
    this.#fetch = options.fetch ?? fetch;
  }

  /** An instant query; returns the vector (scalars become one sample without labels). */
  async query(expr: string, time?: Date): Promise<PrometheusSample[]> {
    const body = new URLSearchParams({ query: expr });
    if (time !== undefined) body.set('time', String(time.getTime() / 1000));
    const response = await this.#post('/api/v1/query', body);
    const data = response.data;
    if (data === undefined) return [];
    if (data.resultType === 'scalar') {
      const [, v] = data.result as unknown as [number, string];
      return [{ labels: {}, value: Number(v) }];
    }
    return data.result.map((r) => ({ labels: r.metric, value: Number(r.value?.[1]) }));
  }

  /** A range query from `start` to `end` every `stepSeconds`: one entry per series, its points in time order. */
  async queryRange(expr: string, start: Date, end: Date, stepSeconds: number): Promise<PrometheusSeries[]> {
    const body = new URLSearchParams({
      query: expr,
      start: String(start.getTime() / 1000),
      end: String(end.getTime() / 1000),
      step: String(stepSeconds),
    });
    const response = await this.#post('/api/v1/query_range', body);
    return (response.data?.result ?? []).map((r) => ({
      labels: r.metric,
      points: (r.values ?? []).map(([t, v]) => [t, Number(v)] as const),
    }));
  }

  /** Whether Prometheus answers its readiness endpoint. */
  async ready(): Promise<boolean> {
    try {
      const response = await this.#fetch(`${this.url}/-/ready`, {
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      return response.ok;
    } catch {
      return false;
    }
  }

  async #post(path: string, body: URLSearchParams): Promise<ApiResponse> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.#retries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, this.#backoffMs * 2 ** (attempt - 1)));
      let response: Response;
      try {
        response = await this.#fetch(`${this.url}${path}`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (error) {
        lastError = error;
        continue; // unreachable or timed out: worth another try
      }
      const text = await response.text();
      let parsed: ApiResponse | undefined;
      try {
        parsed = JSON.parse(text) as ApiResponse;
      } catch {
        parsed = undefined;
      }
      if (response.ok && parsed?.status === 'success') return parsed;
      const detail = parsed?.error ?? text.slice(0, 200);
      if (response.status >= 500 || response.status === 429) {
        lastError = new Error(`HTTP ${response.status}: ${detail}`);
        continue;
      }
      // 4xx: the query itself is wrong; retrying will not help.
      throw new UpstreamError('prometheus', this.url, `query refused (HTTP ${response.status}): ${detail}`);
    }
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    throw new UpstreamError(
      'prometheus',
      this.url,
      `unreachable after ${this.#retries + 1} attempts (${reason}); check --prometheus / PROMETHEUS_URL`,
      { cause: lastError },
    );
  }
}
