/** One shopper's visit of the demo shop, shared by every load profile. Runs inside k6. */
import { check, fail, group, sleep } from 'k6';
import http from 'k6/http';

export const BASE_URL = __ENV.BASE_URL ?? 'http://localhost:3000';

/** Marks the traffic as synthetic, so the analyzer (and anyone reading traces) can tell it from real users. */
const params = {
  headers: { 'x-hotpath-synthetic': 'k6', 'content-type': 'application/json' },
  tags: { synthetic: 'true' },
};

/** Fail fast: a load test against a shop that is not there measures nothing. */
export function setup(): void {
  const response = http.get(`${BASE_URL}/healthz`, params);
  if (response.status !== 200)
    fail(`the demo shop at ${BASE_URL} is not healthy (status ${response.status})`);
}

export function visit(): void {
  const product = 1 + Math.floor(Math.random() * 2000);
  const customer = 1 + Math.floor(Math.random() * 50_000);
  group('browse', () => {
    check(http.get(`${BASE_URL}/`, params), { 'page 200': (r) => r.status === 200 });
    check(http.get(`${BASE_URL}/api/products?limit=12`, params), { 'list 200': (r) => r.status === 200 });
    check(http.get(`${BASE_URL}/api/products/${product}`, params), {
      'product 200': (r) => r.status === 200,
    });
    check(http.get(`${BASE_URL}/api/products/${product}/recommendations`, params), {
      'recommendations 200': (r) => r.status === 200,
    });
    check(http.get(`${BASE_URL}/api/categories/category-${1 + (product % 25)}/products`, params), {
      'category 200': (r) => r.status === 200,
    });
  });
  group('account', () => {
    check(http.get(`${BASE_URL}/api/customers/${customer}/orders`, params), {
      'orders 200': (r) => r.status === 200,
    });
  });
  group('checkout', () => {
    check(http.get(`${BASE_URL}/api/products/${product}/stock`, params), {
      'stock 200': (r) => r.status === 200,
    });
    const body = JSON.stringify({ customerId: customer, productId: product, quantity: 1 });
    check(http.post(`${BASE_URL}/api/orders`, body, params), { 'order 201': (r) => r.status === 201 });
  });
  sleep(1);
}
