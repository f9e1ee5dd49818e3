/**
 * Starts the demo shop: `node --import @hotpath/instrumentation/register demo/src/main.ts`.
 * Creates and seeds its schema on first start, applies DEMO_SCENARIOS, and shuts down cleanly on SIGTERM/SIGINT.
 */
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { CREATE_CUSTOMER_ORDERS_INDEX, DROP_CUSTOMER_ORDERS_INDEX, migrateAndSeed } from './db.ts';
import { Scenarios } from './scenarios.ts';

const log = (message: string) => console.log(`[demo] ${message}`);

async function main(): Promise<void> {
  const config = loadConfig();
  const pool = new pg.Pool({
    connectionString: config.databaseUrl,
    max: config.poolMax,
    application_name: 'hotpath-demo',
  });
  pool.on('error', (error) => log(`idle database connection failed: ${error.message}`));

  await migrateAndSeed(pool, config.seed, log);
  const scenarios = new Scenarios({
    'missing-index': async (on) => {
      await pool.query(on ? DROP_CUSTOMER_ORDERS_INDEX : CREATE_CUSTOMER_ORDERS_INDEX);
    },
  });
  await scenarios.setExactly(config.scenarios);

  const server = createApp({ pool, scenarios }).listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const active = config.scenarios.length === 0 ? 'none (healthy)' : config.scenarios.join(', ');
  log(`listening on http://127.0.0.1:${port} — scenarios: ${active}`);

  let closing = false;
  const close = (signal: string) => {
    if (closing) return;
    closing = true;
    log(`${signal}: closing`);
    server.closeIdleConnections();
    // No process.exit here: the process ends once the server, the pool and the telemetry exporters (flushing
    // on the same signal) have closed. The timer only bounds a shutdown that hangs.
    server.close(() => void pool.end());
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.on('SIGTERM', () => close('SIGTERM'));
  process.on('SIGINT', () => close('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`[demo] could not start: ${message}`);
  }
  process.exit(1);
});
