/**
 * One shopper's visit of the demo shop, as data: the k6 scripts (`shop.ts`) and the local driver
 * (`scripts/load.ts`) send the same requests. Pure: no k6 or Node imports, so both runtimes load it.
 */

/** The ids a visit draws: one product and one customer of the demo's seed. */
export interface VisitIds {
  readonly product: number;
  readonly customer: number;
}

export interface VisitRequest {
  /** A check's name in k6 and a row of the local driver's summary. */
  readonly name: string;
  readonly group: 'browse' | 'account' | 'checkout';
  readonly method: 'GET' | 'POST';
  readonly path: (ids: VisitIds) => string;
  /** A JSON body (POST). */
  readonly body?: (ids: VisitIds) => string;
  /** The status a healthy shop answers with. */
  readonly status: number;
}

/** The demo's seed: 2 000 products in 25 categories, 50 000 customers. */
export function drawIds(random: () => number = Math.random): VisitIds {
  return { product: 1 + Math.floor(random() * 2000), customer: 1 + Math.floor(random() * 50_000) };
}

export const VISIT: readonly VisitRequest[] = [
  { name: 'page', group: 'browse', method: 'GET', path: () => '/', status: 200 },
  { name: 'list', group: 'browse', method: 'GET', path: () => '/api/products?limit=12', status: 200 },
  { name: 'product', group: 'browse', method: 'GET', path: (i) => `/api/products/${i.product}`, status: 200 },
  {
    name: 'recommendations',
    group: 'browse',
    method: 'GET',
    path: (i) => `/api/products/${i.product}/recommendations`,
    status: 200,
  },
  {
    name: 'category',
    group: 'browse',
    method: 'GET',
    path: (i) => `/api/categories/category-${1 + (i.product % 25)}/products`,
    status: 200,
  },
  {
    name: 'orders',
    group: 'account',
    method: 'GET',
    path: (i) => `/api/customers/${i.customer}/orders`,
    status: 200,
  },
  {
    name: 'stock',
    group: 'checkout',
    method: 'GET',
    path: (i) => `/api/products/${i.product}/stock`,
    status: 200,
  },
  {
    name: 'order',
    group: 'checkout',
    method: 'POST',
    path: () => '/api/orders',
    body: (i) => JSON.stringify({ customerId: i.customer, productId: i.product, quantity: 1 }),
    status: 201,
  },
];

/**
 * Marks load-test traffic as synthetic: W3C Baggage (propagated by OpenTelemetry to every downstream call and
 * readable in any span processor), and a plain header for proxies and logs.
 */
export const SYNTHETIC_HEADERS: Readonly<Record<string, string>> = {
  baggage: 'hotpath.synthetic=true',
  'x-hotpath-synthetic': 'load-test',
};
