/**
 * The analyzer's HTTP API, declared once: each route's method, path, role, request and response schemas and
 * handler. The Express router (`app.ts`), the OpenAPI document (`openapi.ts`) and the API fuzzer
 * (`api.fuzz.test.ts`) all read this table, so a route cannot be served undocumented, documented unserved, or
 * answer something other than what it declares without a test noticing.
 */
import { z } from 'zod';
import { findingHistory, getFinding, listFindings, transitionFinding } from '../../store/findings.ts';
import { getRun, listRuns } from '../../store/runs.ts';
import type { ApiDeps } from './app.ts';
import type { Principal, Role } from './auth.ts';
import { openApiDocument } from './openapi.ts';
import {
  analysisBody,
  analysisParams,
  analysisQuery,
  analysisRun,
  emptyQuery,
  finding,
  findingEvent,
  findingParams,
  findingQuery,
  readiness,
  recommendation,
  transitionBody,
} from './schemas.ts';

export interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly location?: string;
}

export interface Call<P, Q, B> {
  readonly deps: ApiDeps;
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** The authenticated caller; present on every route with a role. */
  readonly principal: Principal | undefined;
}

interface Response {
  readonly description: string;
  readonly schema: z.ZodType;
  /** The response carries a Location header. */
  readonly location?: boolean;
}

export interface ApiRoute {
  readonly method: 'get' | 'post';
  /** Express syntax (`/api/v1/findings/:id`). */
  readonly path: string;
  /** The role a caller needs; null: public (no token, no rate limit). */
  readonly role: Role | null;
  readonly operationId: string;
  readonly summary: string;
  readonly params?: z.ZodType;
  /** Absent: the query string is not read (health probes may add cache-busting parameters). */
  readonly query?: z.ZodType;
  readonly body?: { readonly schema: z.ZodType; readonly required: boolean };
  /** What it answers when it succeeds (and, for /readyz, when an upstream is down), by status. */
  readonly responses: Readonly<Record<number, Response>>;
  /** The problems particular to this route (404, 409), by status; the common ones are added from its shape. */
  readonly problems?: Readonly<Record<number, string>>;
  handle(call: Call<unknown, unknown, unknown>): Promise<Reply> | Reply;
}

type Infer<S> = S extends z.ZodType ? z.output<S> : undefined;

/** A route with its handler typed from its schemas. */
function route<
  P extends z.ZodType | undefined,
  Q extends z.ZodType | undefined,
  B extends z.ZodType | undefined,
>(
  definition: Omit<ApiRoute, 'handle' | 'params' | 'query' | 'body'> & {
    readonly params?: P;
    readonly query?: Q;
    readonly body?: { readonly schema: B & z.ZodType; readonly required: boolean };
    handle(call: Call<Infer<P>, Infer<Q>, Infer<B>>): Promise<Reply> | Reply;
  },
): ApiRoute {
  return definition as ApiRoute;
}

const ok = (body: unknown, status = 200): Reply => ({ status, body });
const NO_FINDING = { 404: 'No such finding.' };

export const API: readonly ApiRoute[] = [
  route({
    method: 'get',
    path: '/healthz',
    role: null,
    operationId: 'health',
    summary: 'The process is up.',
    responses: { 200: { description: 'Up.', schema: z.object({ status: z.literal('ok') }) } },
    handle: () => ok({ status: 'ok' }),
  }),
  route({
    method: 'get',
    path: '/readyz',
    role: null,
    operationId: 'readiness',
    summary: 'Whether each upstream (store, Prometheus, app database, Tempo) answers.',
    responses: {
      200: { description: 'Every upstream answers.', schema: readiness },
      503: { description: 'At least one upstream does not; `checks` says which.', schema: readiness },
    },
    handle: async ({ deps }) => {
      const state = await deps.readiness();
      return ok({ status: state.ready ? 'ready' : 'unavailable', ...state }, state.ready ? 200 : 503);
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/openapi.json',
    role: null,
    operationId: 'openapi',
    summary: 'This document.',
    responses: { 200: { description: 'OpenAPI 3.1.', schema: z.looseObject({ openapi: z.string() }) } },
    handle: () => ok(openApiDocument()),
  }),
  route({
    method: 'get',
    path: '/api/v1/findings',
    role: 'viewer',
    operationId: 'listFindings',
    summary: 'Findings, most severe and most costly first.',
    query: findingQuery,
    responses: {
      200: {
        description: 'A page of findings.',
        schema: z.object({
          items: z.array(finding),
          total: z.number().int().min(0),
          limit: z.number().int(),
          offset: z.number().int(),
        }),
      },
    },
    handle: async ({ deps, query }) => {
      const { items, total } = await listFindings(deps.store, query);
      return ok({ items, total, limit: query.limit, offset: query.offset });
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/findings/:id',
    role: 'viewer',
    operationId: 'getFinding',
    summary: 'One finding with its evidence and recommendations.',
    params: findingParams,
    query: emptyQuery,
    responses: { 200: { description: 'The finding.', schema: finding } },
    problems: NO_FINDING,
    handle: async ({ deps, params }) => ok(await getFinding(deps.store, params.id)),
  }),
  route({
    method: 'get',
    path: '/api/v1/findings/:id/history',
    role: 'viewer',
    operationId: 'findingHistory',
    summary: 'Every lifecycle change and severity change of a finding, oldest first.',
    params: findingParams,
    query: emptyQuery,
    responses: {
      200: { description: 'The history.', schema: z.object({ items: z.array(findingEvent) }) },
    },
    problems: NO_FINDING,
    handle: async ({ deps, params }) => ok({ items: await findingHistory(deps.store, params.id) }),
  }),
  route({
    method: 'get',
    path: '/api/v1/findings/:id/recommendations',
    role: 'viewer',
    operationId: 'findingRecommendations',
    summary: 'What to change, with the artefact to apply and how to verify it.',
    params: findingParams,
    query: emptyQuery,
    responses: {
      200: {
        description: 'The recommendations.',
        schema: z.object({ findingId: z.string(), title: z.string(), items: z.array(recommendation) }),
      },
    },
    problems: NO_FINDING,
    handle: async ({ deps, params }) => {
      const found = await getFinding(deps.store, params.id);
      return ok({ findingId: found.id, title: found.title, items: found.recommendations });
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/findings/:id/transitions',
    role: 'operator',
    operationId: 'transitionFinding',
    summary: 'Move a finding through its lifecycle (open → acknowledged → resolved | dismissed; reopen).',
    params: findingParams,
    query: emptyQuery,
    body: { schema: transitionBody, required: true },
    responses: {
      201: {
        description: 'The finding after the transition, and the event recorded.',
        schema: z.object({ finding, event: findingEvent }),
      },
    },
    problems: { ...NO_FINDING, 409: 'The transition is not allowed from the current state.' },
    handle: async ({ deps, params, body, principal }) => {
      const result = await transitionFinding(
        deps.store,
        params.id,
        body.to,
        (principal as Principal).subject,
        body.note ?? null,
      );
      deps.findingsChanged();
      return ok(result, 201);
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/analyses',
    role: 'viewer',
    operationId: 'listAnalyses',
    summary: 'Recent analysis runs, newest first (scheduled, API and CLI; failed ones with the reason).',
    query: analysisQuery,
    responses: { 200: { description: 'The runs.', schema: z.object({ items: z.array(analysisRun) }) } },
    handle: async ({ deps, query }) => ok({ items: await listRuns(deps.store, query) }),
  }),
  route({
    method: 'post',
    path: '/api/v1/analyses',
    role: 'operator',
    operationId: 'triggerAnalysis',
    summary:
      'Queue an analysis now; any replica claims it. Poll its status at the Location. Without a window, a run still waiting for a replica is reused.',
    query: emptyQuery,
    body: { schema: analysisBody, required: false },
    responses: {
      202: {
        description: 'Queued (`created` is false when an already queued run is returned).',
        schema: analysisRun.extend({ created: z.boolean() }),
        location: true,
      },
    },
    handle: async ({ deps, body, principal }) => {
      const { run, created } = await deps.requestAnalysis({
        window: body.window,
        requestedBy: (principal as Principal).subject,
      });
      return { status: 202, body: { ...run, created }, location: `/api/v1/analyses/${run.id}` };
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/analyses/:id',
    role: 'viewer',
    operationId: 'getAnalysis',
    summary: 'One analysis run and its status.',
    params: analysisParams,
    query: emptyQuery,
    responses: { 200: { description: 'The run.', schema: analysisRun } },
    problems: { 404: 'No such run.' },
    handle: async ({ deps, params }) => ok(await getRun(deps.store, params.id)),
  }),
  route({
    method: 'get',
    path: '/api/v1/config',
    role: 'admin',
    operationId: 'getConfig',
    summary: 'The effective configuration, secrets masked (admin).',
    query: emptyQuery,
    responses: { 200: { description: 'The configuration.', schema: z.record(z.string(), z.unknown()) } },
    handle: ({ deps }) => ok(deps.config()),
  }),
];

/** The problem statuses a route can answer: its own, and those that follow from its shape. */
export function problemStatuses(r: ApiRoute): Record<number, string> {
  const validated = r.params !== undefined || r.query !== undefined || r.body !== undefined;
  return {
    ...(validated ? { 400: 'The request is invalid; `problems` lists every issue.' } : {}),
    ...(r.role === null
      ? {}
      : {
          401: 'No valid bearer token.',
          403: 'The token lacks the role this route needs.',
          429: 'Too many requests from this caller.',
          503: 'The analyzer store or an upstream did not answer.',
        }),
    ...(r.body === undefined
      ? {}
      : { 413: 'The body is larger than 64 kB.', 415: 'The body’s charset or encoding is not supported.' }),
    ...r.problems,
  };
}
