/** The demo's configuration, read once from the environment; every problem is reported at once. */
import { z } from 'zod';
import { parseScenarioList, type ScenarioName } from './scenarios.ts';

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z
    .string()
    .url({ message: 'must be a postgres:// URL' })
    .default('postgres://postgres@127.0.0.1:5432/shop'),
  DEMO_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  DEMO_SEED_PRODUCTS: z.coerce.number().int().min(1).default(2_000),
  DEMO_SEED_CUSTOMERS: z.coerce.number().int().min(1).default(50_000),
  DEMO_SEED_ORDERS: z.coerce.number().int().min(1).default(2_000_000),
  DEMO_SCENARIOS: z.string().default(''),
});

export interface DemoConfig {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  readonly poolMax: number;
  readonly seed: { readonly products: number; readonly customers: number; readonly orders: number };
  readonly scenarios: readonly ScenarioName[];
}

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid demo configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): DemoConfig {
  const problems: string[] = [];
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
  }
  const scenarios = parseScenarioList(env.DEMO_SCENARIOS);
  if (scenarios.unknown.length > 0) {
    problems.push(`DEMO_SCENARIOS: unknown scenario(s) ${scenarios.unknown.join(', ')}`);
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const c = parsed.data;
  return Object.freeze({
    port: c.PORT,
    host: c.HOST,
    databaseUrl: c.DATABASE_URL,
    poolMax: c.DEMO_POOL_MAX,
    seed: Object.freeze({
      products: c.DEMO_SEED_PRODUCTS,
      customers: c.DEMO_SEED_CUSTOMERS,
      orders: c.DEMO_SEED_ORDERS,
    }),
    scenarios: Object.freeze(scenarios.names),
  });
}
