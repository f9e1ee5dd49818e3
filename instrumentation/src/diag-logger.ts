import type { DiagLogger } from '@opentelemetry/api';

const DEFAULT_QUIET_MS = 60_000;

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

  #log(level: 'error' | 'warn' | 'info' | 'debug' | 'verbose', message: string, args: unknown[]): void {
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
