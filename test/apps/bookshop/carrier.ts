/**
 * A sandbox of the shipping carrier's rate API, answering in a fixed 60 ms. Run it as its own process
 * (`node carrier.ts`, prints its URL) so its requests are not the bookshop's traffic.
 *
 * 60 ms, not more: a quote (one carrier call) must stay well inside the route SLO (`slo.yaml`, 200 ms) on a
 * loaded two-core machine, or a healthy route breaches it by the machine's noise alone. At 120 ms a quote's
 * p95 crossed 200 ms once under the frontend test's load (browsers, Postgres, Prometheus on two cores).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const CARRIER_LATENCY_MS = 60;

export async function startCarrier(port = 0, host = '127.0.0.1'): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let weightGrams = Number.NaN;
      try {
        weightGrams = Number(JSON.parse(Buffer.concat(chunks).toString('utf8')).weightGrams);
      } catch {}
      if (req.method !== 'POST' || req.url !== '/v1/rates' || !(weightGrams > 0)) {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end('{"error":"POST /v1/rates {weightGrams}"}');
        return;
      }
      setTimeout(() => {
        const perKg = Math.ceil(weightGrams / 1000);
        const rates = [
          { service: 'standard', priceCents: 399 + 100 * perKg, days: 4 },
          { service: 'express', priceCents: 999 + 250 * perKg, days: 1 },
        ];
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ rates }));
      }, CARRIER_LATENCY_MS);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address() as AddressInfo;
  return { url: `http://${host}:${address.port}`, server };
}

if (import.meta.main) {
  const { url } = await startCarrier(Number(process.env.PORT ?? 0));
  console.log(`carrier listening on ${url}`);
}
