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
  readonly upstream: 'prometheus' | 'tempo' | 'database';
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
