/** Light, realistic shop traffic with autocannon: every route, varying ids, a few checkouts. */
import autocannon from 'autocannon';

/** One visit of each kind; ids vary per request so caches and the planner see realistic spread. */
export const SHOP_ROUTES: readonly {
  method: 'GET' | 'POST';
  path: (i: number) => string;
  body?: (i: number) => string;
}[] = [
  { method: 'GET', path: () => '/' },
  { method: 'GET', path: () => '/assets/app.js' },
  { method: 'GET', path: () => '/assets/hero.svg' },
  { method: 'GET', path: (i) => `/api/products?limit=12&category=category-${1 + (i % 25)}` },
  { method: 'GET', path: (i) => `/api/products/${1 + ((i * 37) % 2000)}` },
  { method: 'GET', path: (i) => `/api/products/${1 + ((i * 53) % 2000)}/stock` },
  { method: 'GET', path: (i) => `/api/products/${1 + ((i * 71) % 2000)}/recommendations` },
  { method: 'GET', path: (i) => `/api/categories/category-${1 + (i % 25)}/products` },
  { method: 'GET', path: (i) => `/api/customers/${1 + ((i * 97) % 50_000)}/orders` },
  { method: 'GET', path: () => '/api/stats' },
  {
    method: 'POST',
    path: () => '/api/orders',
    body: (i) =>
      JSON.stringify({ customerId: 1 + ((i * 13) % 50_000), productId: 1 + ((i * 7) % 2000), quantity: 1 }),
  },
];

export interface TrafficOptions {
  readonly url: string;
  /** Requests per second over all connections (default 10). */
  readonly rate?: number;
  readonly connections?: number;
  /** Seconds; 0 = until stopped. */
  readonly duration?: number;
}

export interface Traffic {
  stop(): void;
  done: Promise<autocannon.Result>;
}

export function startTraffic(options: TrafficOptions): Traffic {
  let n = 0;
  let settle: { resolve: (r: autocannon.Result) => void; reject: (e: unknown) => void } | undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const instance = autocannon(
    {
      url: options.url,
      connections: options.connections ?? 4,
      overallRate: options.rate ?? 10,
      // "Until stopped" is a week: autocannon sets its end timer with setTimeout, and anything past 2^31 ms
      // (24.8 days) overflows to an immediate timeout — the run would end after a handful of requests.
      duration: options.duration === undefined || options.duration === 0 ? 7 * 24 * 3600 : options.duration,
      // One entry per route: autocannon walks the list on every connection. Method and body are fixed per entry
      // (switching them inside setupRequest stalls keep-alive connections); setupRequest only varies the ids.
      requests: SHOP_ROUTES.map((route) => ({
        method: route.method,
        ...(route.body === undefined
          ? {}
          : { body: route.body(0), headers: { 'content-type': 'application/json' } }),
        setupRequest: (request: autocannon.Request) => {
          const i = n++;
          return {
            ...request,
            path: route.path(i),
            ...(route.body === undefined ? {} : { body: route.body(i) }),
          };
        },
      })),
    },
    (error, result) => (error ? settle?.reject(error) : settle?.resolve(result)),
  );
  return { stop: () => instance.stop(), done };
}
