/**
 * The OpenAPI 3.1 document of the analyzer API, served at `/api/v1/openapi.json`. Request bodies come from the
 * zod schemas that validate them (z.toJSONSchema), so the document cannot drift from the validation.
 */
import { z } from 'zod';
import { STATUSES } from '../../store/lifecycle.ts';
import { ROUTES } from './routes.ts';
import { analysisBody, transitionBody } from './schemas.ts';

const LAYERS = ['api', 'database', 'runtime', 'frontend'];
const SEVERITIES = ['info', 'warning', 'critical'];
const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed'];

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ 'application/json': { schema } });
const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ref('Problem') } },
});

const listParam = (name: string, values: readonly string[], description: string) => ({
  name,
  in: 'query',
  required: false,
  description: `${description} Several values: comma-separated or the parameter repeated.`,
  schema: { type: 'array', items: { type: 'string', enum: values } },
  style: 'form',
  explode: false,
});
const intParam = (name: string, min: number, max: number, def: number, description: string) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema: { type: 'integer', minimum: min, maximum: max, default: def },
});
const findingIdParam = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The finding id (kind + hash of service and subject): stable across cycles.',
  schema: { type: 'string', pattern: '^[a-z0-9-]{1,80}-[0-9a-f]{16}$' },
};
const runIdParam = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'integer', minimum: 1 },
};

const errors = {
  '400': problem('The request is invalid; `problems` lists every issue.'),
  '401': problem('No valid bearer token.'),
  '403': problem('The token lacks the role this route needs.'),
  '429': problem('Too many requests from this caller.'),
  '503': problem('The analyzer store or an upstream did not answer.'),
};

function bodySchema(schema: z.ZodType): object {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

const operations: Record<string, Record<string, object>> = {
  '/healthz': {
    get: {
      operationId: 'health',
      summary: 'The process is up.',
      responses: { '200': { description: 'Up.', content: json({ type: 'object' }) } },
    },
  },
  '/readyz': {
    get: {
      operationId: 'readiness',
      summary: 'Whether each upstream (store, Prometheus, app database, Tempo) answers.',
      responses: {
        '200': { description: 'Every upstream answers.', content: json(ref('Readiness')) },
        '503': {
          description: 'At least one upstream does not; `checks` says which.',
          content: json(ref('Readiness')),
        },
      },
    },
  },
  '/api/v1/openapi.json': {
    get: {
      operationId: 'openapi',
      summary: 'This document.',
      responses: { '200': { description: 'OpenAPI 3.1.', content: json({ type: 'object' }) } },
    },
  },
  '/api/v1/findings': {
    get: {
      operationId: 'listFindings',
      summary: 'Findings, most severe and most costly first.',
      parameters: [
        {
          name: 'service',
          in: 'query',
          required: false,
          schema: { type: 'string' },
          description: 'Prometheus job.',
        },
        {
          name: 'subject',
          in: 'query',
          required: false,
          schema: { type: 'string', maxLength: 500 },
          description:
            'A route (`/api/orders`), a route with its method (`POST /api/orders`) or a finding subject: the ' +
            'findings about it and the causes that absorbed one about it as a symptom. Alert notifications link here.',
        },
        listParam('layer', LAYERS, 'Only these layers.'),
        listParam('severity', SEVERITIES, 'Only these severities.'),
        listParam('status', STATUSES, 'Only these lifecycle states.'),
        {
          ...listParam('kind', [], 'Only these kinds (slow-endpoint, slow-statement, …).'),
          schema: { type: 'array', items: { type: 'string' } },
        },
        intParam('limit', 1, 500, 50, 'Page size.'),
        intParam('offset', 0, 1_000_000, 0, 'Findings to skip.'),
      ],
      responses: {
        '200': {
          description: 'A page of findings.',
          content: json({
            type: 'object',
            required: ['items', 'total', 'limit', 'offset'],
            properties: {
              items: { type: 'array', items: ref('Finding') },
              total: { type: 'integer' },
              limit: { type: 'integer' },
              offset: { type: 'integer' },
            },
          }),
        },
        ...errors,
      },
    },
  },
  '/api/v1/findings/{id}': {
    get: {
      operationId: 'getFinding',
      summary: 'One finding with its evidence and recommendations.',
      parameters: [findingIdParam],
      responses: {
        '200': { description: 'The finding.', content: json(ref('Finding')) },
        '404': problem('No such finding.'),
        ...errors,
      },
    },
  },
  '/api/v1/findings/{id}/history': {
    get: {
      operationId: 'findingHistory',
      summary: 'Every lifecycle change and severity change of a finding, oldest first.',
      parameters: [findingIdParam],
      responses: {
        '200': {
          description: 'The history.',
          content: json({
            type: 'object',
            properties: { items: { type: 'array', items: ref('FindingEvent') } },
          }),
        },
        '404': problem('No such finding.'),
        ...errors,
      },
    },
  },
  '/api/v1/findings/{id}/recommendations': {
    get: {
      operationId: 'findingRecommendations',
      summary: 'What to change, with the artefact to apply and how to verify it.',
      parameters: [findingIdParam],
      responses: {
        '200': {
          description: 'The recommendations.',
          content: json({
            type: 'object',
            properties: {
              findingId: { type: 'string' },
              title: { type: 'string' },
              items: { type: 'array', items: ref('Recommendation') },
            },
          }),
        },
        '404': problem('No such finding.'),
        ...errors,
      },
    },
  },
  '/api/v1/findings/{id}/transitions': {
    post: {
      operationId: 'transitionFinding',
      summary: 'Move a finding through its lifecycle (open → acknowledged → resolved | dismissed; reopen).',
      parameters: [findingIdParam],
      requestBody: { required: true, content: json(bodySchema(transitionBody)) },
      responses: {
        '201': {
          description: 'The finding after the transition, and the event recorded.',
          content: json({
            type: 'object',
            properties: { finding: ref('Finding'), event: ref('FindingEvent') },
          }),
        },
        '404': problem('No such finding.'),
        '409': problem('The transition is not allowed from the current state.'),
        ...errors,
      },
    },
  },
  '/api/v1/analyses': {
    get: {
      operationId: 'listAnalyses',
      summary: 'Recent analysis runs, newest first (scheduled, API and CLI; failed ones with the reason).',
      parameters: [
        listParam('status', RUN_STATUSES, 'Only runs in these states.'),
        intParam('limit', 1, 200, 20, 'How many.'),
      ],
      responses: {
        '200': {
          description: 'The runs.',
          content: json({
            type: 'object',
            properties: { items: { type: 'array', items: ref('AnalysisRun') } },
          }),
        },
        ...errors,
      },
    },
    post: {
      operationId: 'triggerAnalysis',
      summary: 'Queue an analysis now; poll its status at the Location. A run already queued here is reused.',
      requestBody: { required: false, content: json(bodySchema(analysisBody)) },
      responses: {
        '202': {
          description: 'Queued (`created` is false when an already queued run is returned).',
          headers: { Location: { schema: { type: 'string' } } },
          content: json({
            allOf: [ref('AnalysisRun'), { type: 'object', properties: { created: { type: 'boolean' } } }],
          }),
        },
        ...errors,
      },
    },
  },
  '/api/v1/analyses/{id}': {
    get: {
      operationId: 'getAnalysis',
      summary: 'One analysis run and its status.',
      parameters: [runIdParam],
      responses: {
        '200': { description: 'The run.', content: json(ref('AnalysisRun')) },
        '404': problem('No such run.'),
        ...errors,
      },
    },
  },
  '/api/v1/config': {
    get: {
      operationId: 'getConfig',
      summary: 'The effective configuration, secrets masked (admin).',
      responses: {
        '200': { description: 'The configuration.', content: json({ type: 'object' }) },
        ...errors,
      },
    },
  },
};

const schemas = {
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem details.',
    required: ['type', 'title', 'status', 'detail'],
    properties: {
      type: { type: 'string' },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
      problems: {
        type: 'array',
        items: {
          type: 'object',
          required: ['path', 'message'],
          properties: { path: { type: 'string' }, message: { type: 'string' } },
        },
      },
      upstream: { type: 'string' },
    },
  },
  Recommendation: {
    type: 'object',
    required: ['action', 'expectedGain', 'confidence', 'verify'],
    properties: {
      action: { type: 'string' },
      artifact: { type: 'string', description: 'The DDL, code shape or config line to apply.' },
      expectedGain: { type: 'string' },
      confidence: { type: 'string', enum: ['low', 'medium', 'high'] },
      verify: { type: 'string' },
    },
  },
  Finding: {
    type: 'object',
    required: [
      'id',
      'kind',
      'layer',
      'service',
      'subject',
      'severity',
      'impact',
      'status',
      'title',
      'summary',
    ],
    properties: {
      id: { type: 'string' },
      kind: { type: 'string' },
      layer: { type: 'string', enum: LAYERS },
      service: { type: 'string', description: 'Prometheus job.' },
      subject: { type: 'string', description: 'Route, statement fingerprint, instance, pool or page.' },
      severity: { type: 'string', enum: SEVERITIES },
      impact: { type: 'number', description: 'Seconds of user-facing time lost per second.' },
      status: { type: 'string', enum: STATUSES },
      title: { type: 'string' },
      summary: { type: 'string' },
      evidence: { type: 'object', description: 'Values, window, the queries to paste, trace ids, plan.' },
      recommendations: { type: 'array', items: ref('Recommendation') },
      firstSeen: { type: 'string', format: 'date-time' },
      lastSeen: { type: 'string', format: 'date-time' },
      cleanCycles: { type: 'integer' },
      updatedAt: { type: 'string', format: 'date-time' },
    },
  },
  FindingEvent: {
    type: 'object',
    required: ['id', 'at', 'from', 'to', 'actor'],
    properties: {
      id: { type: 'integer' },
      at: { type: 'string', format: 'date-time' },
      from: { type: ['string', 'null'], enum: [...STATUSES, null] },
      to: { type: 'string', enum: STATUSES },
      actor: { type: 'string', description: 'The JWT subject, or `analyzer`.' },
      note: { type: ['string', 'null'] },
      runId: { type: ['integer', 'null'] },
    },
  },
  AnalysisRun: {
    type: 'object',
    required: ['id', 'status', 'trigger', 'startedAt'],
    properties: {
      id: { type: 'integer' },
      status: { type: 'string', enum: RUN_STATUSES },
      trigger: { type: 'string', enum: ['schedule', 'api', 'cli'] },
      startedAt: { type: 'string', format: 'date-time' },
      finishedAt: { type: ['string', 'null'], format: 'date-time' },
      windowSeconds: { type: 'integer' },
      findings: { type: 'integer' },
      error: { type: ['string', 'null'] },
      slot: { type: ['integer', 'null'] },
      replica: { type: ['string', 'null'] },
      requestedBy: { type: ['string', 'null'] },
      changes: { type: 'object' },
    },
  },
  Readiness: {
    type: 'object',
    properties: {
      status: { type: 'string', enum: ['ready', 'unavailable'] },
      ready: { type: 'boolean' },
      checks: {
        type: 'object',
        additionalProperties: {
          type: 'object',
          properties: {
            status: { type: 'string', enum: ['up', 'down'] },
            target: { type: 'string' },
            latencyMs: { type: 'number' },
            error: { type: 'string' },
          },
        },
      },
    },
  },
};

/** `/api/v1/findings/:id` → `/api/v1/findings/{id}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z_]+)/g, '{$1}');
}

export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, object>> = {};
  for (const route of ROUTES) {
    const path = openApiPath(route.path);
    const operation = operations[path]?.[route.method];
    if (operation === undefined) throw new Error(`no OpenAPI operation for ${route.method} ${route.path}`);
    paths[path] = {
      ...paths[path],
      [route.method]: {
        ...operation,
        ...(route.role === null
          ? { security: [] }
          : { description: `Needs the ${route.role} role (or higher).`, 'x-hotpath-role': route.role }),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Hotpath analyzer API',
      version: '1',
      description:
        'Findings (which endpoint, query or page is the bottleneck, why, and what to change), their lifecycle, and analysis runs. Roles: viewer (read) < operator (transitions, trigger analyses) < admin (configuration).',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas,
    },
  };
}
