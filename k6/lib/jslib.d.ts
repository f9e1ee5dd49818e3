/** The jslib module k6 fetches at run time (https://grafana.com/docs/k6/latest/javascript-api/jslib/k6-summary/). */
declare module 'https://jslib.k6.io/k6-summary/0.1.0/index.js' {
  export function textSummary(data: unknown, options?: { indent?: string; enableColors?: boolean }): string;
}
