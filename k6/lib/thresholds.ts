/**
 * k6 thresholds from the SLO file. `k6/lib/slo.json` is generated from slo.yaml (`npm run generate`), because
 * k6 cannot parse YAML; this module turns it into k6's threshold syntax. Pure: unit-tested under Node.
 */

/** The part of the SLO file k6 needs (written by scripts/generate.ts). */
export interface K6Slo {
  readonly service: string;
  readonly api: { readonly latency_p95_ms: number; readonly error_rate_percent: number };
}

/** A k6 threshold: an expression, or one that aborts the test when it fails. */
export type Threshold = string | { threshold: string; abortOnFail?: boolean; delayAbortEval?: string };
export type Thresholds = Record<string, Threshold[]>;

export function thresholdsFromSlo(slo: K6Slo): Thresholds {
  return {
    // Same objectives as the alerts and the analyzer: p95 latency and the 5xx/failed ratio.
    http_req_duration: [`p(95)<${slo.api.latency_p95_ms}`],
    http_req_failed: [`rate<${slo.api.error_rate_percent / 100}`],
    // Every check must pass almost always; abort early when the service is clearly down.
    checks: [{ threshold: 'rate>0.99', abortOnFail: true, delayAbortEval: '30s' }],
  };
}
