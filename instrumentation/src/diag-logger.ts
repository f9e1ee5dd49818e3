import type { DiagLogger } from '@opentelemetry/api';

const DEFAULT_QUIET_MS = 60_000;

/**
 * The SDK's default error handler logs a failed export as the JSON of the error, stack included: rewrite it as
 * one line that says what failed and that the app is unaffected. (The handler lives in each copy of
 * `@opentelemetry/core`, and an install can hold several; the diag logger is the one global place to catch it.)
 */
function readable(message: string): string {
  if (!message.startsWith('{')) return message;
  try {
    const error = JSON.parse(message) as { message?: unknown; code?: unknown };
    if (typeof error.message !== 'string') return message;
    const code = typeof error.code === 'string' ? ` (${error.code})` : '';
    return `OpenTelemetry export failed: ${error.message}${code}. The app is unaffected; telemetry is dropped until the endpoint answers (check OTEL_EXPORTER_OTLP_ENDPOINT).`;
  } catch {
    return message;
  }
}

/**
 * A `DiagLogger` that says each distinct message at most once per `quietMs`, then reports how many repeats it
 * held back. An unreachable collector makes the SDK fail the same way on every export; the host app's logs
 * should get one line a minute about it, not one every few seconds.
 */
export class RateLimitedDiagLogger implements DiagLogger {
  readonly #inner: DiagLogger;
  readonly #quietMs: number;
  readonly #now: () => number;
  readonly #seen = new Map<string, { at: number; held: number }>();

  constructor(inner: DiagLogger, quietMs = DEFAULT_QUIET_MS, now: () => number = Date.now) {
    this.#inner = inner;
    this.#quietMs = quietMs;
    this.#now = now;
  }

  #log(level: 'error' | 'warn' | 'info' | 'debug' | 'verbose', raw: string, args: unknown[]): void {
    const message = readable(raw);
    const key = `${level}:${message}`;
    const now = this.#now();
    const seen = this.#seen.get(key);
    if (seen !== undefined && now - seen.at < this.#quietMs) {
      seen.held += 1;
      return;
    }
    const suffix = seen !== undefined && seen.held > 0 ? ` (${seen.held} similar messages held back)` : '';
    if (this.#seen.size > 1_000) this.#seen.clear(); // bounded: messages with ids in them must not grow this
    this.#seen.set(key, { at: now, held: 0 });
    this.#inner[level](message + suffix, ...args);
  }

  error(message: string, ...args: unknown[]): void {
    this.#log('error', message, args);
  }
  warn(message: string, ...args: unknown[]): void {
    this.#log('warn', message, args);
  }
  info(message: string, ...args: unknown[]): void {
    this.#log('info', message, args);
  }
  debug(message: string, ...args: unknown[]): void {
    this.#log('debug', message, args);
  }
  verbose(message: string, ...args: unknown[]): void {
    this.#log('verbose', message, args);
  }
}
