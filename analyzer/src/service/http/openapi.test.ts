import { Validator } from '@seriousme/openapi-schema-validator';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createApp } from './app.ts';
import { openApiDocument, openApiPath } from './openapi.ts';
import { ROUTES } from './routes.ts';

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(openApiDocument());
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('describes exactly the routes the app serves, each with the role it needs', () => {
    const app = createApp({
      store: undefined as never,
      authenticate: async () => ({ subject: 'x', role: 'admin' }),
      rateLimitPerMinute: 1,
      log: pino({ level: 'silent' }),
      readiness: async () => ({ ready: true, checks: {} }),
      requestAnalysis: async () => {
        throw new Error('not used');
      },
      config: () => ({}),
      findingsChanged: () => {},
    });
    const served: string[] = [];
    for (const layer of app.router.stack as unknown as {
      route?: { path: string; methods: Record<string, boolean> };
    }[]) {
      if (layer.route === undefined) continue;
      for (const method of Object.keys(layer.route.methods)) served.push(`${method} ${layer.route.path}`);
    }
    expect(served.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());

    const doc = openApiDocument() as {
      paths: Record<string, Record<string, { 'x-hotpath-role'?: string; security?: unknown[] }>>;
    };
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m} ${path}`),
    );
    expect(documented.sort()).toEqual(ROUTES.map((r) => `${r.method} ${openApiPath(r.path)}`).sort());
    for (const route of ROUTES) {
      const op = doc.paths[openApiPath(route.path)]?.[route.method];
      if (route.role === null) expect(op?.security).toEqual([]);
      else expect(op?.['x-hotpath-role']).toBe(route.role);
    }
  });

  it('takes request bodies from the zod schemas that validate them', () => {
    const doc = openApiDocument() as {
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: {
              content: Record<string, { schema: { properties?: object; additionalProperties?: boolean } }>;
            };
          }
        >
      >;
    };
    const body =
      doc.paths['/api/v1/findings/{id}/transitions']?.post?.requestBody?.content['application/json']?.schema;
    expect(Object.keys(body?.properties ?? {})).toEqual(['to', 'note']);
    expect(body?.additionalProperties).toBe(false);
  });
});
