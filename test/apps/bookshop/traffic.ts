/**
 * Mixed bookshop traffic with autocannon: every route, weighted as a shop's traffic is (book pages most,
 * reports rare), ids drawn at random from the seeded ranges, and per-route counts of what came back.
 */
import autocannon from 'autocannon';
import { SEED } from './db.ts';
import { FEED_PAGE_SIZE } from './feed.ts';

export interface BookshopRoute {
  readonly method: 'GET' | 'POST';
  /** The route template as the app registers it (`http.route` on its spans). */
  readonly route: string;
}

export const BOOKSHOP_ROUTES = [
  { method: 'GET', route: '/authors/:id/books' },
  { method: 'GET', route: '/authors/:id' },
  { method: 'GET', route: '/books/:id' },
  { method: 'GET', route: '/books/:id/delivery' },
  { method: 'GET', route: '/reports/sales' },
  { method: 'GET', route: '/orders/:id' },
  { method: 'POST', route: '/checkout' },
  { method: 'GET', route: '/shipping/quote' },
  { method: 'GET', route: '/feeds/catalog' },
  { method: 'GET', route: '/healthz' },
] as const satisfies readonly BookshopRoute[];

export type BookshopRouteName = (typeof BOOKSHOP_ROUTES)[number]['route'];

const pick = (from: number, to: number) => from + Math.floor(Math.random() * (to - from + 1));

/** Author pages are mostly the series authors' (~100 books each), the rest from the long tail (~5). */
export const authorId = (): number =>
  Math.random() < 0.8 ? pick(1, SEED.houseAuthors) : pick(SEED.houseAuthors + 1, SEED.authors);
export const bookId = (): number => pick(1, SEED.books);
export const orderId = (): number => pick(1, SEED.orders);

interface Visit {
  readonly route: BookshopRouteName;
  readonly method: 'GET' | 'POST';
  readonly path: () => string;
  readonly body?: () => string;
  readonly headers?: Readonly<Record<string, string>>;
}

const VISITS: Record<BookshopRouteName, Visit> = {
  '/authors/:id/books': {
    route: '/authors/:id/books',
    method: 'GET',
    path: () => `/authors/${authorId()}/books`,
  },
  // The author page as a browser asks for it (the HTML only: autocannon runs no scripts).
  '/authors/:id': {
    route: '/authors/:id',
    method: 'GET',
    path: () => `/authors/${authorId()}`,
    headers: { accept: 'text/html' },
  },
  '/books/:id': { route: '/books/:id', method: 'GET', path: () => `/books/${bookId()}` },
  '/books/:id/delivery': {
    route: '/books/:id/delivery',
    method: 'GET',
    path: () => `/books/${bookId()}/delivery`,
    headers: { accept: 'text/html' },
  },
  '/reports/sales': { route: '/reports/sales', method: 'GET', path: () => '/reports/sales' },
  '/orders/:id': { route: '/orders/:id', method: 'GET', path: () => `/orders/${orderId()}` },
  '/checkout': {
    route: '/checkout',
    method: 'POST',
    path: () => '/checkout',
    body: () =>
      JSON.stringify({ bookId: bookId(), quantity: pick(1, 2), email: `reader${pick(1, 5000)}@example.com` }),
  },
  '/shipping/quote': {
    route: '/shipping/quote',
    method: 'GET',
    path: () => `/shipping/quote?book=${bookId()}&country=${Math.random() < 0.7 ? 'DE' : 'FR'}`,
  },
  '/feeds/catalog': {
    route: '/feeds/catalog',
    method: 'GET',
    path: () => `/feeds/catalog?page=${pick(1, Math.ceil(SEED.books / FEED_PAGE_SIZE))}`,
    // A crawler, as every one of them is: it takes Brotli.
    headers: { 'accept-encoding': 'br, gzip' },
  },
  '/healthz': { route: '/healthz', method: 'GET', path: () => '/healthz' },
};

/**
 * One round of a connection, 20 visits: 6 book pages, 1 delivery page, 3 author pages (2 from the API, 1 as
 * HTML), 3 order lookups, 2 checkouts, 2 shipping quotes, 1 sales report, 1 page of the partner feed, 1 health
 * check. Interleaved so no connection runs one kind in a burst.
 */
const ROUND: readonly BookshopRouteName[] = [
  '/books/:id',
  '/orders/:id',
  '/books/:id',
  '/authors/:id/books',
  '/checkout',
  '/books/:id',
  '/shipping/quote',
  '/feeds/catalog',
  '/orders/:id',
  '/authors/:id/books',
  '/books/:id',
  '/reports/sales',
  '/books/:id/delivery',
  '/checkout',
  '/orders/:id',
  '/books/:id',
  '/authors/:id',
  '/shipping/quote',
  '/books/:id',
  '/healthz',
];

export interface RouteCounts {
  readonly requests: number;
  /** Responses with a status outside 2xx. */
  readonly non2xx: number;
  /** Non-2xx responses by status. */
  readonly statuses: Readonly<Record<string, number>>;
}

export interface BookshopTrafficResult {
  readonly durationMs: number;
  readonly requests: number;
  readonly non2xx: number;
  /** Connection errors and timeouts (no response at all). */
  readonly errors: number;
  readonly byRoute: Readonly<Record<BookshopRouteName, RouteCounts>>;
}

export interface DriveOptions {
  readonly durationMs: number;
  /**
   * Concurrent keep-alive connections (default 10). With `slow-report` on, the orders pool (3) saturates only
   * while more than 3 connections are in a report at once: 10 connections get there, 4 never do.
   */
  readonly connections?: number;
  /** Cap on requests per second over all connections (default: as fast as the shop answers). */
  readonly rate?: number;
}

/** Drives `url` with the bookshop mix for `durationMs`; resolves with per-route request and non-2xx counts. */
export function driveBookshop(url: string, options: DriveOptions): Promise<BookshopTrafficResult> {
  const counts = new Map<
    BookshopRouteName,
    { requests: number; non2xx: number; statuses: Record<string, number> }
  >(BOOKSHOP_ROUTES.map((r) => [r.route, { requests: 0, non2xx: 0, statuses: {} }]));
  const started = Date.now();
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections: options.connections ?? 10,
        ...(options.rate === undefined ? {} : { overallRate: options.rate }),
        duration: options.durationMs / 1000,
        timeout: 30,
        // Method and body stay fixed per entry (switching them in setupRequest stalls keep-alive
        // connections); setupRequest only draws new ids.
        requests: ROUND.map((name) => {
          const visit = VISITS[name];
          const count = counts.get(name)!;
          return {
            method: visit.method,
            ...(visit.body === undefined
              ? visit.headers === undefined
                ? {}
                : { headers: { ...visit.headers } }
              : { body: visit.body(), headers: { ...visit.headers, 'content-type': 'application/json' } }),
            setupRequest: (request: autocannon.Request) => ({
              ...request,
              path: visit.path(),
              ...(visit.body === undefined ? {} : { body: visit.body() }),
            }),
            onResponse: (status: number) => {
              count.requests += 1;
              if (status < 200 || status > 299) {
                count.non2xx += 1;
                count.statuses[status] = (count.statuses[status] ?? 0) + 1;
              }
            },
          };
        }),
      },
      (error, result) => {
        if (error) {
          reject(error);
          return;
        }
        const byRoute = Object.fromEntries(counts) as Record<BookshopRouteName, RouteCounts>;
        const all = [...counts.values()];
        resolve({
          durationMs: Date.now() - started,
          requests: all.reduce((n, c) => n + c.requests, 0),
          non2xx: all.reduce((n, c) => n + c.non2xx, 0),
          errors: result.errors,
          byRoute,
        });
      },
    );
  });
}
