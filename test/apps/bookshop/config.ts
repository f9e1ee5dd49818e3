/** The bookshop's configuration, read once from the environment; every problem is reported at once. */
import { z } from 'zod';

/** Known defects that can be switched on at start (`BOOKSHOP_FAULTS`), each in the code path it belongs to. */
export const FAULTS = [
  'eager-n-plus-one',
  'slow-report',
  'sync-pricing',
  'sync-feed-compression',
  'sequential-carrier-calls',
] as const;
export type Fault = (typeof FAULTS)[number];

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z
    .url({ message: 'must be a postgres:// URL' })
    .default('postgres://postgres@127.0.0.1:5432/bookshop'),
  /** The shipping carrier's rate API; unset, a sandbox carrier runs inside the process. */
  CARRIER_URL: z.url().optional(),
  BOOKSHOP_FAULTS: z.string().default(''),
  /** Signs quoted prices (see pricing.ts); the default is the payment provider's sandbox secret. */
  BOOKSHOP_MERCHANT_SECRET: z.string().min(16).default('sandbox-merchant-secret'),
});

export interface BookshopConfig {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  readonly carrierUrl: string | undefined;
  readonly merchantSecret: string;
  readonly faults: ReadonlySet<Fault>;
}

export class ConfigError extends Error {
  constructor(problems: readonly string[]) {
    super(`invalid bookshop configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const isFault = (name: string): name is Fault => (FAULTS as readonly string[]).includes(name);

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): BookshopConfig {
  const parsed = schema.safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  const names = (env.BOOKSHOP_FAULTS ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  const unknown = names.filter((n) => !isFault(n));
  if (unknown.length > 0) {
    problems.push(`BOOKSHOP_FAULTS: unknown ${unknown.join(', ')} (known: ${FAULTS.join(', ')})`);
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    port: parsed.data.PORT,
    host: parsed.data.HOST,
    databaseUrl: parsed.data.DATABASE_URL,
    carrierUrl: parsed.data.CARRIER_URL,
    merchantSecret: parsed.data.BOOKSHOP_MERCHANT_SECRET,
    faults: new Set(names.filter(isFault)),
  });
}
