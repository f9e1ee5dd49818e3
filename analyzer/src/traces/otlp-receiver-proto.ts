/**
 * The binary protobuf side of the OTLP/HTTP traces receiver: an `ExportTraceServiceRequest` decoded into the
 * OTLP JSON shape that `spansFromOtlpJson` reads (one normalisation path for both encodings), and the responses
 * (`ExportTraceServiceResponse`, `google.rpc.Status`) encoded back.
 *
 * The schema is a protobufjs reflection definition of the messages the receiver needs, with the field numbers
 * of opentelemetry-proto v1 (`opentelemetry/proto/{common,resource,trace}/v1/*.proto` and
 * `opentelemetry/proto/collector/trace/v1/trace_service.proto`, checked against trace.proto at commit
 * 05e412fbc8a6d4a5af55ddc1b56c7d09f0ffcba9; the numbers are frozen since 1.0.0, `Span.flags` and
 * `Span.Link.flags` exist since 1.1.0). Fields this definition leaves out (`Resource.entity_refs`, anything
 * newer) are skipped on decode, as protobuf requires. `google.rpc.Status` and `BadRequest` are from
 * googleapis `google/rpc/{status,error_details}.proto`.
 *
 * The OpenTelemetry JS packages do not help here: `@opentelemetry/otlp-transformer` 0.301 serialises with a
 * hand-written writer and ships no request decoder, so this uses `protobufjs` (light build, no .proto parser).
 */
import protobuf from 'protobufjs/light.js';
import { TraceFormatError } from './otlp-json.ts';

const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id });
const field = (type: string, id: number) => ({ type, id });

const COMMON = 'opentelemetry.proto.common.v1';
const TRACE = 'opentelemetry.proto.trace.v1';

/** protobufjs JSON descriptor; names are the lowerCamelCase JSON names, so decoded objects read like OTLP JSON. */
const DESCRIPTOR = {
  nested: {
    opentelemetry: {
      nested: {
        proto: {
          nested: {
            common: {
              nested: {
                v1: {
                  nested: {
                    AnyValue: {
                      oneofs: {
                        value: {
                          oneof: [
                            'stringValue',
                            'boolValue',
                            'intValue',
                            'doubleValue',
                            'arrayValue',
                            'kvlistValue',
                            'bytesValue',
                          ],
                        },
                      },
                      fields: {
                        stringValue: field('string', 1),
                        boolValue: field('bool', 2),
                        intValue: field('int64', 3),
                        doubleValue: field('double', 4),
                        arrayValue: field('ArrayValue', 5),
                        kvlistValue: field('KeyValueList', 6),
                        bytesValue: field('bytes', 7),
                      },
                    },
                    ArrayValue: { fields: { values: repeated('AnyValue', 1) } },
                    KeyValueList: { fields: { values: repeated('KeyValue', 1) } },
                    KeyValue: { fields: { key: field('string', 1), value: field('AnyValue', 2) } },
                    InstrumentationScope: {
                      fields: {
                        name: field('string', 1),
                        version: field('string', 2),
                        attributes: repeated('KeyValue', 3),
                        droppedAttributesCount: field('uint32', 4),
                      },
                    },
                  },
                },
              },
            },
            resource: {
              nested: {
                v1: {
                  nested: {
                    Resource: {
                      fields: {
                        attributes: repeated(`${COMMON}.KeyValue`, 1),
                        droppedAttributesCount: field('uint32', 2),
                      },
                    },
                  },
                },
              },
            },
            trace: {
              nested: {
                v1: {
                  nested: {
                    ResourceSpans: {
                      fields: {
                        resource: field('opentelemetry.proto.resource.v1.Resource', 1),
                        scopeSpans: repeated('ScopeSpans', 2),
                        schemaUrl: field('string', 3),
                      },
                    },
                    ScopeSpans: {
                      fields: {
                        scope: field(`${COMMON}.InstrumentationScope`, 1),
                        spans: repeated('Span', 2),
                        schemaUrl: field('string', 3),
                      },
                    },
                    Span: {
                      fields: {
                        traceId: field('bytes', 1),
                        spanId: field('bytes', 2),
                        traceState: field('string', 3),
                        parentSpanId: field('bytes', 4),
                        flags: field('fixed32', 16),
                        name: field('string', 5),
                        kind: field('SpanKind', 6),
                        startTimeUnixNano: field('fixed64', 7),
                        endTimeUnixNano: field('fixed64', 8),
                        attributes: repeated(`${COMMON}.KeyValue`, 9),
                        droppedAttributesCount: field('uint32', 10),
                        events: repeated('Event', 11),
                        droppedEventsCount: field('uint32', 12),
                        links: repeated('Link', 13),
                        droppedLinksCount: field('uint32', 14),
                        status: field('Status', 15),
                      },
                      nested: {
                        SpanKind: {
                          values: {
                            SPAN_KIND_UNSPECIFIED: 0,
                            SPAN_KIND_INTERNAL: 1,
                            SPAN_KIND_SERVER: 2,
                            SPAN_KIND_CLIENT: 3,
                            SPAN_KIND_PRODUCER: 4,
                            SPAN_KIND_CONSUMER: 5,
                          },
                        },
                        Event: {
                          fields: {
                            timeUnixNano: field('fixed64', 1),
                            name: field('string', 2),
                            attributes: repeated(`${COMMON}.KeyValue`, 3),
                            droppedAttributesCount: field('uint32', 4),
                          },
                        },
                        Link: {
                          fields: {
                            traceId: field('bytes', 1),
                            spanId: field('bytes', 2),
                            traceState: field('string', 3),
                            attributes: repeated(`${COMMON}.KeyValue`, 4),
                            droppedAttributesCount: field('uint32', 5),
                            flags: field('fixed32', 6),
                          },
                        },
                      },
                    },
                    Status: {
                      fields: { message: field('string', 2), code: field('StatusCode', 3) },
                      nested: {
                        StatusCode: {
                          values: { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 },
                        },
                      },
                    },
                  },
                },
              },
            },
            collector: {
              nested: {
                trace: {
                  nested: {
                    v1: {
                      nested: {
                        ExportTraceServiceRequest: {
                          fields: { resourceSpans: repeated(`${TRACE}.ResourceSpans`, 1) },
                        },
                        ExportTraceServiceResponse: {
                          fields: { partialSuccess: field('ExportTracePartialSuccess', 1) },
                        },
                        ExportTracePartialSuccess: {
                          fields: { rejectedSpans: field('int64', 1), errorMessage: field('string', 2) },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    google: {
      nested: {
        protobuf: {
          nested: { Any: { fields: { typeUrl: field('string', 1), value: field('bytes', 2) } } },
        },
        rpc: {
          nested: {
            Status: {
              fields: {
                code: field('int32', 1),
                message: field('string', 2),
                details: repeated('google.protobuf.Any', 3),
              },
            },
            BadRequest: {
              fields: { fieldViolations: repeated('FieldViolation', 1) },
              nested: {
                FieldViolation: { fields: { field: field('string', 1), description: field('string', 2) } },
              },
            },
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(DESCRIPTOR);
const ExportTraceServiceRequest = root.lookupType(
  'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
);
const ExportTraceServiceResponse = root.lookupType(
  'opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse',
);
const RpcStatus = root.lookupType('google.rpc.Status');
const BadRequest = root.lookupType('google.rpc.BadRequest');

/** `type_url` of a `BadRequest` in `Status.details`, as gRPC and the Collector spell it. */
export const BAD_REQUEST_TYPE_URL = 'type.googleapis.com/google.rpc.BadRequest';

// ---------------------------------------------------------------------------------------------------------------
// Decoding

/** A decoded id (bytes as base64, protobufjs' JSON form) as hex, the OTLP/JSON form; absent stays absent. */
function hexId(base64: unknown): string | undefined {
  return typeof base64 === 'string' ? Buffer.from(base64, 'base64').toString('hex') : undefined;
}

type JsonObject = Record<string, unknown>;

function objects(value: unknown): JsonObject[] {
  return Array.isArray(value) ? (value as JsonObject[]) : [];
}

/**
 * A binary `ExportTraceServiceRequest` as OTLP/JSON: ids hex, 64-bit integers decimal strings, enums numbers,
 * non-finite doubles as their JSON names, `bytesValue` base64 (OTLP/JSON's own rule for bytes that are not
 * ids). Proto3 leaves zero values off the wire, so missing span times are filled in as "0" for the schema to
 * judge, like the JSON a proto3 encoder with defaults would write. Throws `TraceFormatError` when the bytes
 * are not such a message (truncated, wrong wire types, nested deeper than 100).
 */
export function otlpJsonFromProtobuf(body: Uint8Array): JsonObject {
  let request: JsonObject;
  try {
    const message = ExportTraceServiceRequest.decode(body);
    request = ExportTraceServiceRequest.toObject(message, {
      longs: String,
      enums: Number,
      bytes: String,
      json: true,
      arrays: true,
    }) as JsonObject;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TraceFormatError(
      [`(body): cannot decode as a protobuf ExportTraceServiceRequest: ${reason}`],
      'an OTLP protobuf ExportTraceServiceRequest',
    );
  }
  for (const resourceSpans of objects(request.resourceSpans)) {
    for (const scopeSpans of objects(resourceSpans.scopeSpans)) {
      for (const span of objects(scopeSpans.spans)) {
        span.traceId = hexId(span.traceId) ?? '';
        span.spanId = hexId(span.spanId) ?? '';
        const parent = hexId(span.parentSpanId);
        if (parent === undefined) delete span.parentSpanId;
        else span.parentSpanId = parent;
        span.startTimeUnixNano ??= '0';
        span.endTimeUnixNano ??= '0';
        for (const link of objects(span.links)) {
          link.traceId = hexId(link.traceId) ?? '';
          link.spanId = hexId(link.spanId) ?? '';
        }
      }
    }
  }
  return request;
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

/** `ExportTraceServiceResponse`: empty for a full success, `partial_success` set when spans were rejected. */
export function encodeExportResponse(partial?: { rejectedSpans: number; errorMessage: string }): Uint8Array {
  const message = ExportTraceServiceResponse.fromObject(
    partial === undefined ? {} : { partialSuccess: partial },
  );
  return ExportTraceServiceResponse.encode(message).finish();
}

export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

/** `google.rpc.Status`, with a `BadRequest` detail listing `violations` when there are any. */
export function encodeRpcStatus(
  code: number,
  message: string,
  violations: readonly FieldViolation[],
): Uint8Array {
  const details =
    violations.length === 0
      ? []
      : [
          {
            typeUrl: BAD_REQUEST_TYPE_URL,
            value: BadRequest.encode(BadRequest.fromObject({ fieldViolations: violations })).finish(),
          },
        ];
  return RpcStatus.encode(RpcStatus.fromObject({ code, message, details })).finish();
}

/** A binary `google.rpc.Status` as JSON (for tests and logs): `details` keep their `typeUrl` and bytes. */
export function decodeRpcStatus(body: Uint8Array): {
  code?: number;
  message?: string;
  violations: FieldViolation[];
} {
  const status = RpcStatus.toObject(RpcStatus.decode(body)) as {
    code?: number;
    message?: string;
    details?: { typeUrl?: string; value?: Uint8Array }[];
  };
  const violations: FieldViolation[] = [];
  for (const detail of status.details ?? []) {
    if (detail.typeUrl !== BAD_REQUEST_TYPE_URL || detail.value === undefined) continue;
    const bad = BadRequest.toObject(BadRequest.decode(detail.value)) as {
      fieldViolations?: FieldViolation[];
    };
    violations.push(...(bad.fieldViolations ?? []));
  }
  return {
    ...(status.code === undefined ? {} : { code: status.code }),
    ...(status.message === undefined ? {} : { message: status.message }),
    violations,
  };
}

/** A binary `ExportTraceServiceResponse` as JSON (for tests): `{}` or `{ partialSuccess }`. */
export function decodeExportResponse(body: Uint8Array): {
  partialSuccess?: { rejectedSpans?: string; errorMessage?: string };
} {
  return ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(body), { longs: String });
}
