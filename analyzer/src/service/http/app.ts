/**
 * The analyzer's HTTP API (`/api/v1`) and health endpoints. `createApp(deps)` returns the Express app, its
 * routes read from the one table of them (`api.ts`); only `serve` listens. Errors map to RFC 9457 problem
 * documents in one place (`problem`), never a stack trace.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import type pg from 'pg';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import {
  AuthError,
  ConfigError,
  ConflictError,
  isUnreachable,
  NotFoundError,
  type Problem,
  UpstreamError,
  ValidationError,
} from '../../errors.ts';
import type { AnalysisRun } from '../../store/runs.ts';
import { API } from './api.ts';
import { type Authenticate, requireRole } from './auth.ts';
import { parseRequest } from './schemas.ts';

export interface UpstreamCheck {
  readonly status: 'up' | 'down';
  readonly target: string;
  readonly latencyMs: number;
  readonly error?: string;
}

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, UpstreamCheck>>;
  /** The embedded trace window: what it holds and what it dropped (absent with Tempo). */
  readonly traces?: Readonly<Record<string, string | number>>;
  /** The embedded profile window's counters, when profiles are embedded. */
  readonly profiles?: Readonly<Record<string, string | number>>;
}

export interface ApiDeps {
  readonly store: pg.Pool;
  readonly authenticate: Authenticate;
  readonly rateLimitPerMinute: number;
  readonly log: Logger;
  readiness(): Promise<Readiness>;
  /** Queues an analysis for any replica to claim (or returns one with the default window still waiting). */
  requestAnalysis(request: {
    readonly window?: string | undefined;
    readonly requestedBy: string;
  }): Promise<{ readonly run: AnalysisRun; readonly created: boolean }>;
  /** The effective configuration, secrets masked. */
  config(): Record<string, unknown>;
  /** Called after a person changed a finding (the open-findings gauge follows). */
  findingsChanged(): void;
}

export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Behind compose's network or a load balancer, the client address is in X-Forwarded-For (one hop).
  app.set('trust proxy', 1);
  app.use(
    pinoHttp({
      logger: deps.log,
      // Probes every few seconds are noise in the log.
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
      customProps: (req) => ({ subject: (req as Request).principal?.subject }),
    }),
  );
  app.use(express.json({ limit: '64kb' }));

  const limiter = rateLimit({
    windowMs: 60_000,
    limit: deps.rateLimitPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // After authentication: one budget per caller, whatever address they come from.
    keyGenerator: (req) => `sub:${req.principal?.subject ?? 'unknown'}`,
    handler: (_req, _res, next) => {
      next(new RateLimited(`more than ${deps.rateLimitPerMinute} requests in a minute; retry later`));
    },
  });
  for (const route of API) {
    const guard = route.role === null ? [] : [requireRole(deps.authenticate, route.role), limiter];
    app[route.method](route.path, ...guard, async (req: Request, res: Response) => {
      const { params, query, body } = parseRequest(
        {
          ...(route.params === undefined ? {} : { params: route.params }),
          ...(route.query === undefined ? {} : { query: route.query }),
          ...(route.body === undefined ? {} : { body: route.body.schema }),
        },
        req,
      ) as { params?: unknown; query?: unknown; body?: unknown };
      const reply = await route.handle({ deps, params, query, body, principal: req.principal });
      if (reply.location !== undefined) res.location(reply.location);
      res.status(reply.status).json(reply.body);
    });
  }

  app.use((req, _res, next) => {
    next(
      new NotFoundError(`no route ${req.method} ${req.path}; the API is described at /api/v1/openapi.json`),
    );
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const p = problem(error);
    if (p.status >= 500) req.log.error({ err: error }, 'request failed');
    if (p.status === 401) res.set('WWW-Authenticate', 'Bearer');
    res.status(p.status).type('application/problem+json').json(p);
  });
  return app;
}

class RateLimited extends Error {}

export interface ProblemDocument {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly problems?: readonly Problem[];
  readonly upstream?: string;
}

/** The one place errors become HTTP responses (README "Errors" lists them). */
export function problem(error: unknown): ProblemDocument {
  const base = (status: number, title: string, detail: string) => ({
    type: `https://github.com/hotpath/hotpath/blob/main/README.md#errors-${status}`,
    title,
    status,
    detail,
  });
  if (error instanceof ValidationError) {
    return { ...base(400, 'Invalid request', error.message), problems: error.problems };
  }
  if (error instanceof AuthError) {
    return base(error.status, error.status === 401 ? 'Unauthorized' : 'Forbidden', error.message);
  }
  if (error instanceof NotFoundError) return base(404, 'Not found', error.message);
  if (error instanceof ConflictError) return base(409, 'Conflict', error.message);
  if (error instanceof RateLimited) return base(429, 'Too many requests', error.message);
  if (error instanceof UpstreamError) {
    return { ...base(503, 'Upstream unavailable', error.message), upstream: error.upstream };
  }
  if (error instanceof ConfigError) return base(500, 'Misconfigured', error.message);
  // body-parser's errors carry their status and type: malformed JSON (400), a body too large (413), a wrong
  // charset (415); Express's own (an undecodable path parameter) a status alone.
  const { status, type } = error as { status?: unknown; type?: unknown };
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const message = error instanceof Error ? error.message : 'bad request';
    if (type === 'entity.parse.failed') {
      return {
        ...base(400, 'Invalid request', message),
        problems: [{ path: 'body', message: `is not valid JSON: ${message}` }],
      };
    }
    return status === 400
      ? { ...base(400, 'Invalid request', message), problems: [{ path: 'request', message }] }
      : base(status, 'Request rejected', message);
  }
  // Only a store that cannot be reached is "unavailable" (retry later); a query that fails is a bug (500).
  if (isUnreachable(error)) {
    return {
      ...base(503, 'Upstream unavailable', 'the analyzer store (PostgreSQL) did not answer'),
      upstream: 'store',
    };
  }
  return base(500, 'Internal error', 'the analyzer failed to handle this request; the log has the details');
}
