/** The bookshop's errors; `app.ts` maps each to one HTTP status. */
export class NotFoundError extends Error {
  constructor(what: string) {
    super(`${what} does not exist`);
    this.name = 'NotFoundError';
  }
}

export class ValidationError extends Error {
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`invalid request: ${issues.join('; ')}`);
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

/** The order could not be placed as asked (e.g. not enough stock). */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** A service the bookshop depends on failed or answered badly. */
export class UpstreamError extends Error {
  readonly upstream: string;
  constructor(upstream: string, message: string) {
    super(`${upstream}: ${message}`);
    this.name = 'UpstreamError';
    this.upstream = upstream;
  }
}
