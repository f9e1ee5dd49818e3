import { describe, expect, it } from 'vitest';
import { parseTraceResponse } from '../tempo.ts';
import { FIXTURES, fixture, snapshotOf } from '../testdata.ts';
import { detectFromTraces, TRACE_DETECTORS } from './index.ts';

/** The four recorded traces of ../shared/fixtures/tempo, as the Tempo client returns them. */
async function recordedSnapshot() {
  const traces = [
    parseTraceResponse(fixture(FIXTURES.v1Java)),
    parseTraceResponse(fixture(FIXTURES.v2Docs)),
    parseTraceResponse({ trace: fixture(FIXTURES.failed) }),
    parseTraceResponse({ trace: fixture(FIXTURES.dbSystemName) }),
  ].filter((t) => t !== null);
  expect(traces).toHaveLength(4);
  return snapshotOf(traces);
}

describe('trace detectors over the recorded Tempo traces', () => {
  it('find no N+1 and nothing to parallelize: each request runs one statement', async () => {
    const findings = detectFromTraces(await recordedSnapshot());

    expect(findings.filter((f) => f.kind === 'n-plus-one' || f.kind === 'parallelizable-queries')).toEqual(
      [],
    );
  });

  it('break each route down, naming the SELECT that holds 79 % of GET /:endpoint', async () => {
    const findings = detectFromTraces(await recordedSnapshot());

    expect(findings.map((f) => [f.service, f.subject, f.severity])).toEqual([
      ['mythical-server', 'GET /:endpoint', 'warning'],
      ['mythical-server', 'POST /:endpoint', 'info'],
      ['my.service', 'I am a span!', 'info'],
      ['shop/app', 'GET /stock', 'info'],
    ]);
    const [select, insert, docs, stock] = findings;
    expect(select?.title).toBe('79 % of GET /:endpoint is one statement: SELECT name from manticore');
    // The Loki push (HTTP POST) starts after the response was sent: outside the request, not part of its time.
    expect(select?.evidence.values).toMatchObject({ db_share: 0.793, http_share: 0, own_share: 0.207 });
    expect(select?.evidence.traceIds).toEqual(['4290b5877a9930de79bb428365398ecc']);
    expect(select?.evidence.queries[0]?.text).toBe(
      '{ resource.service.name = "mythical-server" && span.http.route = "/:endpoint" && kind = server && ' +
        '(span.http.request.method = "GET" || span.http.method = "GET") }',
    );
    expect(insert?.evidence.values).toMatchObject({
      db_share: 0.38,
      http_share: 0,
      top_statement_share: 0.38,
    });
    expect(insert?.evidence.values.top_statement).toBe('INSERT INTO illithid(name) VALUES ($1)');
    expect(docs?.evidence.queries).toEqual([]);
    expect(stock?.title).toBe('GET /stock: 0 % database, 0 % outbound HTTP, 100 % own code');
  });

  it('lists every detector once', () => {
    expect(TRACE_DETECTORS.flatMap((d) => d.kinds)).toEqual([
      'n-plus-one',
      'parallelizable-queries',
      'time-breakdown',
    ]);
  });
});
