/**
 * Starts the bookshop: `node --import @hotpath/instrumentation/register test/apps/bookshop/main.ts`.
 * Creates and seeds its schema on first start; SIGTERM/SIGINT close the server, then both pools.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { startCarrier } from './carrier.ts';
import { BookPages, BookRepository } from './catalog.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createCatalogDb, createOrdersPool, migrateAndSeed } from './db.ts';
import { CatalogFeed } from './feed.ts';
import { OrderRepository, SalesReports } from './orders.ts';
import { PageCache } from './page-cache.ts';
import { PriceSigner } from './pricing.ts';
import { CarrierClient, ShippingQuotes } from './shipping.ts';

/** Rendered book pages kept in memory: about 400 of the 3,000 books, full after the first minute or so. */
const PAGE_CACHE_BYTES = 8 * 1024 * 1024;

const log = (message: string) => console.log(`[bookshop] ${message}`);

async function main(): Promise<void> {
  const config = loadConfig();
  const catalogDb = createCatalogDb(config.databaseUrl);
  const ordersPool = createOrdersPool(config.databaseUrl);
  await migrateAndSeed(ordersPool, log);

  let sandbox: Server | undefined;
  let carrierUrl = config.carrierUrl;
  if (carrierUrl === undefined) {
    ({ url: carrierUrl, server: sandbox } = await startCarrier());
    log(`CARRIER_URL is not set: using the sandbox carrier on ${carrierUrl}`);
  }

  const books = new BookRepository(catalogDb, { batchEagerLoads: !config.faults.has('eager-n-plus-one') });
  const pageCache = new PageCache(PAGE_CACHE_BYTES);
  const signer = new PriceSigner(config.merchantSecret, { cacheKey: !config.faults.has('sync-pricing') });
  const app = createApp({
    books,
    bookPages: new BookPages(books, pageCache),
    pageCache,
    orders: new OrderRepository(ordersPool, signer),
    reports: new SalesReports(ordersPool, { fullLedger: config.faults.has('slow-report') }),
    shipping: new ShippingQuotes(catalogDb, new CarrierClient(carrierUrl), {
      concurrentCarrierCalls: !config.faults.has('sequential-carrier-calls'),
    }),
    feed: new CatalogFeed(catalogDb, { offLoopCompression: !config.faults.has('sync-feed-compression') }),
  });

  const server = app.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const faults = config.faults.size === 0 ? 'none' : [...config.faults].join(', ');
  log(`ready on http://${config.host}:${port} (faults: ${faults})`);

  let closing = false;
  const close = (signal: string) => {
    if (closing) return;
    closing = true;
    log(`${signal}: closing`);
    server.closeIdleConnections();
    sandbox?.close();
    // No process.exit: the process ends once the server, the pools and the telemetry exporters (flushing on
    // the same signal) have closed. The timer only bounds a shutdown that hangs.
    server.close(() => void Promise.allSettled([catalogDb.destroy(), ordersPool.end()]));
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.on('SIGTERM', () => close('SIGTERM'));
  process.on('SIGINT', () => close('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(
    error instanceof ConfigError ? error.message : `[bookshop] could not start: ${String(error)}`,
  );
  process.exit(1);
});
