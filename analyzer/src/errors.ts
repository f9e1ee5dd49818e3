/**
 * The analyzer's errors. Each says what failed and how to fix it; the CLI and (later) the HTTP API map them to
 * exit codes and status codes in one place.
 */

/** The user asked for something that cannot be done as asked (CLI usage, bad input). Exit code 2 / HTTP 400. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Configuration (environment, SLO file) is invalid; `problems` lists every issue. Exit code 2. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** An upstream (Prometheus, Tempo, the app database) failed or is unreachable. Exit code 3 / HTTP 502/503. */
export class UpstreamError extends Error {
  readonly upstream: 'prometheus' | 'tempo' | 'pyroscope' | 'database' | 'identity-provider' | 'alertmanager';
  readonly target: string;
  constructor(
    upstream: UpstreamError['upstream'],
    target: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${upstream} (${target}): ${message}`, options);
    this.name = 'UpstreamError';
    this.upstream = upstream;
    this.target = target;
  }
}

/** One problem with a request: where (`query.limit`, `body.to`) and what is wrong with it. */
export interface Problem {
  readonly path: string;
  readonly message: string;
}

/** A request is invalid; `problems` names every issue at once. HTTP 400. */
export class ValidationError extends Error {
  readonly problems: readonly Problem[];
  constructor(problems: readonly Problem[]) {
    super(`invalid request: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    this.name = 'ValidationError';
    this.problems = problems;
  }
}

/** The thing asked for does not exist. HTTP 404. */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** The request is valid but cannot be applied to the current state (a lifecycle transition). HTTP 409. */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** No valid credentials (401), or credentials without the role a route needs (403). */
export class AuthError extends Error {
  readonly status: 401 | 403;
  constructor(status: 401 | 403, message: string) {
    super(message);
    this.name = 'AuthError';
    this.status = status;
  }
}

/** Where a URL points, for messages: `host:port/path`, never its credentials. */
export function where(url: string): string {
  try {
    const u = new URL(url);
    const port =
      u.port || ({ 'http:': '80', 'https:': '443' } as Record<string, string>)[u.protocol] || '5432';
    return `${u.hostname}:${port}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return 'the configured URL';
  }
}

/**
 * A server that cannot be reached, as opposed to one that refused a query: SQLSTATE 08xxx, 57P0x (shutting
 * down), 53300 (too many connections), socket errors, and pg's connect/terminate messages.
 */
export function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (/^(08|57P0)/.test(code) || code === '53300') return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE'].includes(code))
      return true;
  }
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    message,
  );
}

/** The database cannot be used at all: unreachable, a wrong password or role, or no such database. */
export function cannotConnect(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return isUnreachable(error) || code === '28P01' || code === '28000' || code === '3D000';
}
