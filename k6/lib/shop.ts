/** One shopper's visit of the demo shop, shared by every load profile. Runs inside k6. */
import { check, fail, group, sleep } from 'k6';
import http from 'k6/http';
import { drawIds, SYNTHETIC_HEADERS, VISIT } from './visit.ts';

export const BASE_URL = __ENV.BASE_URL ?? 'http://localhost:3000';

/** Marks the traffic as synthetic, so the analyzer (and anyone reading traces) can tell it from real users. */
const params = {
  headers: { ...SYNTHETIC_HEADERS, 'content-type': 'application/json' },
  tags: { synthetic: 'true' },
};

/** Fail fast: a load test against a shop that is not there measures nothing. */
export function setup(): void {
  const response = http.get(`${BASE_URL}/healthz`, params);
  if (response.status !== 200)
    fail(`the demo shop at ${BASE_URL} is not healthy (status ${response.status})`);
}

/** The visit of `visit.ts`, each request checked for the status a healthy shop answers with. */
export function visit(): void {
  const ids = drawIds();
  for (const g of ['browse', 'account', 'checkout'] as const) {
    group(g, () => {
      for (const r of VISIT.filter((x) => x.group === g)) {
        const url = `${BASE_URL}${r.path(ids)}`;
        const response =
          r.method === 'POST' ? http.post(url, r.body?.(ids) ?? null, params) : http.get(url, params);
        check(response, { [`${r.name} ${r.status}`]: (x) => x.status === r.status });
      }
    });
  }
  sleep(1);
}
