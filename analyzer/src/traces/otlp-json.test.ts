import { describe, expect, it } from 'vitest';
import {
  groupTraces,
  normalizeSpanId,
  normalizeTraceId,
  padTraceId,
  spansFromOtlpJson,
  TraceFormatError,
  tracesFromOtlpJson,
} from './otlp-json.ts';

/** A request as the OpenTelemetry JS SDK's OTLP/HTTP JSON exporter sends it: hex ids, numeric enums. */
const SDK_BODY = {
  resourceSpans: [
    {
      resource: {
        attributes: [
          { key: 'service.name', value: { stringValue: 'shop' } },
          { key: 'service.namespace', value: { stringValue: 'demo' } },
        ],
      },
      scopeSpans: [
        {
          scope: { name: '@opentelemetry/instrumentation-http', version: '0.200.0' },
          spans: [
            {
              traceId: '4BF92F3577B34DA6A3CE929D0E0E4736',
              spanId: '00f067aa0ba902b7',
              parentSpanId: '',
              name: 'GET /api/orders/:id',
              kind: 2,
              startTimeUnixNano: '1700000000000000001',
              endTimeUnixNano: 1700000000,
              attributes: [
                { key: 'http.response.status_code', value: { intValue: 200 } },
                { key: 'big', value: { intValue: '9007199254740993' } },
                { key: 'ratio', value: { doubleValue: 0.25 } },
                { key: 'nan', value: { doubleValue: 'NaN' } },
                { key: 'ok', value: { boolValue: true } },
                { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '2' }] } } },
                {
                  key: 'nested',
                  value: { kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }] } },
                },
                { key: 'empty', value: {} },
              ],
              status: { code: 2, message: 'boom' },
              events: [{ name: 'ignored' }],
            },
          ],
        },
      ],
    },
  ],
};

describe('OTLP JSON to spans', () => {
  it('reads the SDK encoding: hex ids lower-cased, numeric kind and status, ints as numbers or strings', () => {
    const [span, ...rest] = spansFromOtlpJson(SDK_BODY);

    expect(rest).toEqual([]);
    expect(span).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      kind: 'server',
      status: 'error',
      statusMessage: 'boom',
      service: 'shop',
      startNs: 1700000000000000001n,
      scope: '@opentelemetry/instrumentation-http',
    });
    expect(span?.parentSpanId).toBeUndefined();
    expect(span?.attributes).toEqual({
      'http.response.status_code': 200,
      big: '9007199254740993', // past 2^53: kept exact as a string
      ratio: 0.25,
      nan: Number.NaN,
      ok: true,
      tags: ['a', 2],
      nested: { k: 'v' },
    });
  });

  it('gives a span that ends before it starts (clock skew) a zero duration instead of a negative one', () => {
    expect(spansFromOtlpJson(SDK_BODY)[0]?.durationMs).toBe(0);
  });

  it('reads the pre-1.0 instrumentationLibrarySpans and treats an all-zero parent as none', () => {
    const [span] = spansFromOtlpJson({
      resourceSpans: [
        {
          instrumentationLibrarySpans: [
            {
              instrumentationLibrary: { name: 'old-lib' },
              spans: [
                {
                  traceId: 'W47/95gDgQPSabYzgT/HAA==',
                  spanId: '7uGbfsPBsQA=',
                  parentSpanId: 'AAAAAAAAAAA=',
                  name: 'x',
                  kind: 'SPAN_KIND_CLIENT',
                  startTimeUnixNano: '1',
                  endTimeUnixNano: '2000001',
                },
              ],
            },
          ],
        },
      ],
    });

    expect(span).toMatchObject({
      traceId: '5b8efff798038103d269b633813fc700',
      kind: 'client',
      service: 'unknown_service',
      scope: 'old-lib',
      durationMs: 2,
      status: 'unset',
    });
    expect(span?.parentSpanId).toBeUndefined();
  });

  it('groups spans by trace, ordered by start, keeping a span sent twice once', () => {
    const spans = spansFromOtlpJson(SDK_BODY);
    const base = spans[0];
    if (base === undefined) throw new Error('no span');
    const later = { ...base, spanId: '1111111111111111', startNs: base.startNs + 5n };
    const other = { ...base, traceId: 'ffffffffffffffffffffffffffffffff' };

    const traces = groupTraces([later, base, base, other]);

    expect(traces.map((t) => [t.traceId, t.spans.map((s) => s.spanId)])).toEqual([
      ['4bf92f3577b34da6a3ce929d0e0e4736', ['00f067aa0ba902b7', '1111111111111111']],
      ['ffffffffffffffffffffffffffffffff', ['00f067aa0ba902b7']],
    ]);
    expect(tracesFromOtlpJson(SDK_BODY)).toHaveLength(1);
  });

  it('lists every problem of a malformed body with its path', () => {
    const body = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '00000000000000000000000000000000',
                  spanId: 'zz',
                  kind: 'SERVER',
                  startTimeUnixNano: '-1',
                  endTimeUnixNano: '2',
                },
              ],
            },
          ],
        },
      ],
    };

    let error: unknown;
    try {
      spansFromOtlpJson(body);
    } catch (e) {
      error = e;
    }

    expect(error).toBeInstanceOf(TraceFormatError);
    const problems = (error as TraceFormatError).problems;
    const at = 'resourceSpans[0].scopeSpans[0].spans[0]';
    expect(problems.find((p) => p.startsWith(`${at}.traceId:`))).toMatch(
      /neither 32 hex characters nor base64/,
    );
    expect(problems.find((p) => p.startsWith(`${at}.spanId:`))).toMatch(/"zz"/);
    expect(problems).toContain(
      `${at}.kind: unknown span kind "SERVER" (expected one of SPAN_KIND_UNSPECIFIED, SPAN_KIND_INTERNAL, ` +
        'SPAN_KIND_SERVER, SPAN_KIND_CLIENT, SPAN_KIND_PRODUCER, SPAN_KIND_CONSUMER or 0-5)',
    );
    expect(problems).toContain(
      `${at}.startTimeUnixNano: expected an unsigned integer (decimal string or number), got "-1"`,
    );
    expect((error as Error).message).toMatch(/^not OTLP JSON traces:\n {2}- /);
  });
});

describe('trace and span ids', () => {
  it('accepts hex or base64 of the right length and nothing else', () => {
    expect(normalizeTraceId('B3vTDy+BVLWUjcBHJPif9Q==')).toBe('077bd30f2f8154b5948dc04724f89ff5');
    expect(normalizeTraceId('077BD30F2F8154B5948DC04724F89FF5')).toBe('077bd30f2f8154b5948dc04724f89ff5');
    expect(normalizeSpanId('P7TdbwfHmLc=')).toBe('3fb4dd6f07c798b7');
    expect(normalizeSpanId('3fb4dd6f07c798b7')).toBe('3fb4dd6f07c798b7');
    expect(normalizeTraceId('3fb4dd6f07c798b7')).toBeNull();
    expect(normalizeSpanId('0000000000000000')).toBeNull();
    expect(normalizeTraceId('not an id at all, not at all!!!!')).toBeNull();
  });

  it('left-pads the short hex ids of search results and exemplars', () => {
    expect(padTraceId('d6e9329d67b6146a')).toBe('0000000000000000d6e9329d67b6146a');
    expect(padTraceId('EpTxMJ40fUus7aGY')).toBeNull();
    expect(padTraceId('')).toBeNull();
    expect(padTraceId('0')).toBeNull();
  });
});
