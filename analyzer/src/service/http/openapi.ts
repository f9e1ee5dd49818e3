/**
 * The OpenAPI 3.1 document of the analyzer API, served at `/api/v1/openapi.json`, generated from the route table
 * (`api.ts`): parameters, request bodies and responses are the zod schemas that validate the requests and that
 * the answers are checked against (z.toJSONSchema), so the document cannot drift from either.
 */
import { z } from 'zod';
import { API, type ApiRoute, problemStatuses } from './api.ts';
import { components } from './schemas.ts';

const COMPONENTS_URI = '#/components/schemas/';

/** `/api/v1/findings/:id` → `/api/v1/findings/{id}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z_]+)/g, '{$1}');
}

/** A JSON Schema node without what OpenAPI's schema objects do not take, refs pointing at the components. */
function clean(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(clean);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema' || key === '$defs' || key === '$id') continue;
    out[key] =
      key === '$ref' && typeof value === 'string'
        ? value.replace(/^#\/\$defs\//, COMPONENTS_URI)
        : clean(value);
  }
  return out;
}

/** The schema of one zod type, its named parts as references to the components. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  return clean(z.toJSONSchema(schema, { io, metadata: components, unrepresentable: 'any' })) as Record<
    string,
    unknown
  >;
}

function parameters(route: ApiRoute): object[] {
  const out: object[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (!(schema instanceof z.ZodObject)) continue;
    for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      const { description, ...fieldSchema } = jsonSchema(field, 'input');
      out.push({
        name,
        in: where,
        required: where === 'path' || !field.safeParse(undefined).success,
        ...(typeof description === 'string' ? { description } : {}),
        schema: fieldSchema,
        ...(fieldSchema.type === 'array' ? { style: 'form', explode: false } : {}),
      });
    }
  }
  return out;
}

function operation(route: ApiRoute): object {
  const json = (schema: z.ZodType, io: 'input' | 'output') => ({
    'application/json': { schema: jsonSchema(schema, io) },
  });
  const responses: Record<string, object> = {};
  for (const [status, response] of Object.entries(route.responses)) {
    responses[status] = {
      description: response.description,
      ...(response.location ? { headers: { Location: { schema: { type: 'string' } } } } : {}),
      content: json(response.schema, 'output'),
    };
  }
  for (const [status, description] of Object.entries(problemStatuses(route))) {
    responses[status] = {
      description,
      content: { 'application/problem+json': { schema: { $ref: `${COMPONENTS_URI}Problem` } } },
    };
  }
  const params = parameters(route);
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(params.length === 0 ? {} : { parameters: params }),
    ...(route.body === undefined
      ? {}
      : { requestBody: { required: route.body.required, content: json(route.body.schema, 'input') } }),
    responses,
    ...(route.role === null
      ? { security: [] }
      : { description: `Needs the ${route.role} role (or higher).`, 'x-hotpath-role': route.role }),
  };
}

let built: Record<string, unknown> | undefined;

/** The document, built once: the table and its schemas do not change while the process runs. */
export function openApiDocument(): Record<string, unknown> {
  built ??= buildDocument();
  return built;
}

function buildDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, object>> = {};
  for (const route of API) {
    const path = openApiPath(route.path);
    paths[path] = { ...paths[path], [route.method]: operation(route) };
  }
  // Every schema with an id (schemas.ts), the problem document among them (every route's errors refer to it).
  const { schemas } = z.toJSONSchema(components, { uri: (id) => `${COMPONENTS_URI}${id}`, io: 'output' }) as {
    schemas: Record<string, unknown>;
  };
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
      schemas: clean(schemas),
    },
  };
}
