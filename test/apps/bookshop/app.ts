/** The bookshop's HTTP API. `createApp(deps)` builds it; only `main.ts` listens. */
import { readFileSync } from 'node:fs';
import { BROWSER_SCRIPT_PATH, browserCollector } from '@hotpath/instrumentation';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { BookPages, BookRepository } from './catalog.ts';
import { ConflictError, NotFoundError, UpstreamError, ValidationError } from './errors.ts';
import type { CatalogFeed } from './feed.ts';
import type { OrderRepository, SalesReports } from './orders.ts';
import type { PageCache } from './page-cache.ts';
import { authorPage, BROWSER_SCRIPT_URL, deliveryPage, PAGE_ROUTES, RUM_PATH, salesPage } from './pages.ts';
import type { ShippingQuotes } from './shipping.ts';

export interface AppDeps {
  readonly books: BookRepository;
  readonly bookPages: BookPages;
  readonly pageCache: PageCache;
  readonly orders: OrderRepository;
  readonly reports: SalesReports;
  readonly shipping: ShippingQuotes;
  readonly feed: CatalogFeed;
}

const id = z.coerce.number().int().positive().max(2_147_483_647);
const checkoutBody = z.object({
  bookId: id,
  quantity: z.number().int().min(1).max(10).default(1),
  email: z.email(),
});
const feedQuery = z.object({ page: z.coerce.number().int().min(1).max(1000).default(1) });
const quoteQuery = z.object({
  book: id,
  country: z
    .string()
    .regex(/^[A-Z]{2}$/)
    .default('DE'),
});

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ValidationError(result.error.issues.map((i) => `${[what, ...i.path].join('.')}: ${i.message}`));
  }
  return result.data;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Before the JSON parser: the collector reads (and bounds) the body itself.
  app.post(RUM_PATH, browserCollector({ routes: PAGE_ROUTES }));
  app.use(express.json({ limit: '16kb' }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', pageCache: deps.pageCache.stats() });
  });

  const authorWithBooks = async (authorId: number) => {
    const [author, books] = await Promise.all([
      deps.books.author(authorId),
      deps.books.byAuthorWithReviews(authorId),
    ]);
    if (author === undefined) throw new NotFoundError(`author ${authorId}`);
    return { author, books };
  };

  app.get('/authors/:id/books', async (req, res) => {
    const { author, books } = await authorWithBooks(parse(id, req.params.id, 'id'));
    res.json({ author: { id: author.id, name: author.name }, books });
  });

  app.get('/authors/:id', async (req, res) => {
    const { author, books } = await authorWithBooks(parse(id, req.params.id, 'id'));
    res.type('html').set('Cache-Control', 'no-store').send(authorPage(author, books));
  });

  // Read once and sent from memory: a file read per request goes through the libuv threadpool, which the
  // feed's compression and the price signing keep busy (a sendFile here measured 64 ms mean, 420 ms p95).
  const browserScript = readFileSync(BROWSER_SCRIPT_PATH);
  app.get(BROWSER_SCRIPT_URL, (_req, res) => {
    res.type('js').set('Cache-Control', 'public, max-age=3600').send(browserScript);
  });

  app.get('/books/:id', async (req, res) => {
    res.type('json').send(await deps.bookPages.render(parse(id, req.params.id, 'id')));
  });

  // JSON for the dashboard's API calls (the default), HTML for the back office's browsers.
  app.get('/books/:id/delivery', async (req, res) => {
    const delivery = await deps.shipping.delivery(parse(id, req.params.id, 'id'));
    res.type('html').set('Cache-Control', 'no-store').send(deliveryPage(delivery));
  });

  app.get('/reports/sales', async (_req, res) => {
    const report = await deps.reports.sales();
    res.format({
      json: () => res.json(report),
      html: () => res.set('Cache-Control', 'no-store').send(salesPage(report)),
    });
  });

  app.get('/orders/:id', async (req, res) => {
    res.json({ order: await deps.orders.find(parse(id, req.params.id, 'id')) });
  });

  app.post('/checkout', async (req, res) => {
    const order = await deps.orders.place(parse(checkoutBody, req.body ?? {}, 'body'));
    res.status(201).json({ order });
  });

  app.get('/feeds/catalog', async (req, res) => {
    const { page } = parse(feedQuery, req.query, 'query');
    const feed = await deps.feed.page(page, req.acceptsEncodings('br') === 'br');
    res.vary('Accept-Encoding').type('json');
    if (feed.encoding === 'br') res.set('Content-Encoding', 'br');
    res.send(feed.body);
  });

  app.get('/shipping/quote', async (req, res) => {
    const query = parse(quoteQuery, req.query, 'query');
    res.json(await deps.shipping.quote(query.book, query.country));
  });

  app.use((_req, _res, next) => next(new NotFoundError('this page')));
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof ValidationError)
      res.status(400).json({ error: error.message, issues: error.issues });
    else if (error instanceof NotFoundError) res.status(404).json({ error: error.message });
    else if (error instanceof ConflictError) res.status(409).json({ error: error.message });
    else if (error instanceof UpstreamError) res.status(502).json({ error: error.message });
    else if (error instanceof SyntaxError && 'body' in error)
      res.status(400).json({ error: 'body is not JSON' });
    else {
      console.error('[bookshop] unhandled error', error);
      res.status(500).json({ error: 'internal error' });
    }
  });
  return app;
}
