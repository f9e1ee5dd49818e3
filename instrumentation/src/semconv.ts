/**
 * The single home of every signal name Hotpath uses: metric names (as OpenTelemetry emits them), their units,
 * instruments and attributes, and the span/resource attribute names the analyzer reads.
 *
 * Prometheus names are never written by hand: `prometheusName()` in `prometheus-names.ts` derives them from
 * this catalogue with the OTLP → Prometheus translation rules, so dashboards, alerts, the analyzer and the pull
 * mode scrape config cannot disagree. The package README lists every entry (kept in sync by a test).
 */

/** The OpenTelemetry instrument kind, which decides the Prometheus type and suffixes. */
export type Instrument = 'counter' | 'updowncounter' | 'histogram' | 'gauge';

/** One catalogued metric. */
export interface MetricSpec {
  readonly name: string;
  readonly instrument: Instrument;
  /** UCUM unit as emitted (`s`, `By`, `1`, `{connection}`). */
  readonly unit: string;
  readonly description: string;
  readonly attributes: readonly string[];
  /** Which package emits it (for the README and for debugging missing series). */
  readonly source: string;
  /** Histogram bucket boundaries Hotpath sets with a view (in the metric's unit); absent = the emitter's. */
  readonly buckets?: readonly number[];
}

/** Attribute names, stable conventions first; `legacy` ones still appear in real traces and are accepted. */
export const ATTR = {
  serviceName: 'service.name',
  serviceVersion: 'service.version',
  serviceNamespace: 'service.namespace',
  serviceInstanceId: 'service.instance.id',
  deploymentEnvironmentName: 'deployment.environment.name',
  httpRoute: 'http.route',
  httpRequestMethod: 'http.request.method',
  httpResponseStatusCode: 'http.response.status_code',
  httpRequestMethodOriginal: 'http.request.method_original',
  urlPath: 'url.path',
  urlFull: 'url.full',
  urlScheme: 'url.scheme',
  networkProtocolVersion: 'network.protocol.version',
  networkPeerAddress: 'network.peer.address',
  networkPeerPort: 'network.peer.port',
  clientAddress: 'client.address',
  userAgentOriginal: 'user_agent.original',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
  dbSystemName: 'db.system.name',
  dbOperationName: 'db.operation.name',
  dbCollectionName: 'db.collection.name',
  dbNamespace: 'db.namespace',
  dbQueryText: 'db.query.text',
  dbClientConnectionState: 'db.client.connection.state',
  dbClientConnectionPoolName: 'db.client.connection.pool.name',
  v8jsHeapSpaceName: 'v8js.heap.space.name',
  v8jsGcType: 'v8js.gc.type',
  nodejsEventloopState: 'nodejs.eventloop.state',
  cpuMode: 'cpu.mode',
  pageRoute: 'page.route',
  /** The element a Web Vital is attributed to: the LCP element, the INP interaction target, the largest CLS shift. */
  webVitalElement: 'browser.web_vital.element',
  /** Which part of the LCP (web.dev's four: ttfb, resource_load_delay, resource_load_duration, element_render_delay). */
  webVitalPhase: 'browser.web_vital.phase',
  /** The low-cardinality template of a URL (stable semantic convention): an asset's path with hashes as `*`. */
  urlTemplate: 'url.template',
  resourceInitiatorType: 'browser.resource.initiator_type',
  /** Resource Timing's `renderBlockingStatus`: `blocking`, `non-blocking`, or `unknown` where the browser has none. */
  resourceRenderBlocking: 'browser.resource.render_blocking',
  /** On a `browser.page_load` span: the page's time to first byte, in seconds. */
  pageTtfb: 'browser.page.ttfb',
  rejectReason: 'hotpath.reject.reason',
  /** On a server span: the request came from a load test (W3C Baggage `hotpath.synthetic=true`). */
  hotpathSynthetic: 'hotpath.synthetic',
  findingLayer: 'hotpath.finding.layer',
  findingKind: 'hotpath.finding.kind',
  findingSeverity: 'hotpath.finding.severity',
  analysisOutcome: 'hotpath.analysis.outcome',
} as const;

/**
 * Span names Hotpath emits itself. `connectionWait` spans the time from asking a pool (pg.Pool or knex's tarn
 * pool) for a connection until the caller gets it, recorded only when no idle connection was ready, so the
 * analyzer can tell waiting for the pool from the caller's own work. Kind INTERNAL, child of the caller's span;
 * attributes `db.system.name` (`postgresql`) and `db.client.connection.pool.name`; error status (and
 * `error.type`) when the pool could not hand out a connection.
 */
export const SPAN_NAMES = {
  connectionWait: 'db.client.connection.wait',
  /** A page load as a browser reported it, recorded by the collection endpoint in the document's trace. */
  pageLoad: 'browser.page_load',
} as const;

/** Older attribute names that real traces still carry (semantic conventions before their stable release). */
export const LEGACY_ATTR = {
  dbStatement: 'db.statement',
  dbSystem: 'db.system',
  dbOperation: 'db.operation',
  httpMethod: 'http.method',
  httpStatusCode: 'http.status_code',
  httpTarget: 'http.target',
  httpUrl: 'http.url',
} as const;

/**
 * HTTP latency buckets: the instrumentation's advice plus the SLO neighbourhood (0.15, 0.2, 0.3 s), so that
 * `histogram_quantile` is exact where the API SLO (p95 < 200 ms) is judged instead of interpolating 0.1–0.25.
 */
const HTTP_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
] as const;
/** DB latency buckets: the pg instrumentation's advice is 1/5/10/50/100/500 ms; add the range around 100 ms. */
const DB_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;
/** Browser timings span seconds (page load SLO 3 s, LCP 2.5 s / 4 s). */
const BROWSER_BUCKETS = [0.1, 0.25, 0.5, 0.8, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 20] as const;
/** Asset sizes in bytes, with edges at Sentry's render-blocking (500 000) and uncompressed (500 KiB) limits. */
const SIZE_BUCKETS = [
  1_000, 10_000, 50_000, 100_000, 250_000, 500_000, 512_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000,
] as const;
const RESOURCE_ATTRIBUTES = [
  ATTR.pageRoute,
  ATTR.urlTemplate,
  ATTR.resourceInitiatorType,
  ATTR.resourceRenderBlocking,
] as const;

const RUNTIME = '@opentelemetry/instrumentation-runtime-node';
const HOST = '@opentelemetry/instrumentation-host-metrics';
const BROWSER = '@hotpath/instrumentation (browser RUM)';
const ANALYZER = '@hotpath/analyzer';
const HOTPATH_RUNTIME = '@hotpath/instrumentation (runtime limits)';
/** Hotpath reports both pool kinds, read at collection time: instrumentation-pg's own counters mix pools. */
const POOL = '@hotpath/instrumentation (pg.Pool and knex)';

/** Every metric the project reads or writes. Keys are the code names; `name` is the OpenTelemetry name. */
export const METRICS = {
  httpServerRequestDuration: {
    name: 'http.server.request.duration',
    instrument: 'histogram',
    unit: 's',
    description: 'Duration of inbound HTTP requests, by route template.',
    attributes: [ATTR.httpRoute, ATTR.httpRequestMethod, ATTR.httpResponseStatusCode, ATTR.errorType],
    source: '@hotpath/instrumentation (http-server-instrumentation.ts)',
    buckets: HTTP_BUCKETS,
  },
  httpClientRequestDuration: {
    name: 'http.client.request.duration',
    instrument: 'histogram',
    unit: 's',
    description: 'Duration of outbound HTTP requests (http and fetch/undici).',
    attributes: [ATTR.httpRequestMethod, ATTR.serverAddress, ATTR.serverPort, ATTR.httpResponseStatusCode],
    source: '@opentelemetry/instrumentation-http, @opentelemetry/instrumentation-undici',
    buckets: HTTP_BUCKETS,
  },
  dbClientOperationDuration: {
    name: 'db.client.operation.duration',
    instrument: 'histogram',
    unit: 's',
    description: 'Duration of database client operations.',
    attributes: [
      ATTR.dbSystemName,
      ATTR.dbOperationName,
      ATTR.dbCollectionName,
      ATTR.dbNamespace,
      ATTR.errorType,
    ],
    source: '@opentelemetry/instrumentation-pg',
    buckets: DB_BUCKETS,
  },
  dbClientConnectionCount: {
    name: 'db.client.connection.count',
    instrument: 'updowncounter',
    unit: '{connection}',
    description: 'Connections of the pool by state (idle, used).',
    attributes: [ATTR.dbClientConnectionState, ATTR.dbClientConnectionPoolName],
    source: POOL,
  },
  dbClientConnectionPendingRequests: {
    name: 'db.client.connection.pending_requests',
    instrument: 'updowncounter',
    unit: '{connection}',
    description: 'Requests waiting for a pooled connection.',
    attributes: [ATTR.dbClientConnectionPoolName],
    source: POOL,
  },
  dbClientConnectionMax: {
    name: 'db.client.connection.max',
    instrument: 'updowncounter',
    unit: '{connection}',
    description: 'The maximum number of open connections the pool allows.',
    attributes: [ATTR.dbClientConnectionPoolName],
    source: POOL,
  },
  nodejsEventloopDelayP50: {
    name: 'nodejs.eventloop.delay.p50',
    instrument: 'gauge',
    unit: 's',
    description: 'Event-loop delay, 50th percentile.',
    attributes: [],
    source: RUNTIME,
  },
  nodejsEventloopDelayP99: {
    name: 'nodejs.eventloop.delay.p99',
    instrument: 'gauge',
    unit: 's',
    description: 'Event-loop delay, 99th percentile.',
    attributes: [],
    source: RUNTIME,
  },
  nodejsEventloopDelayMax: {
    name: 'nodejs.eventloop.delay.max',
    instrument: 'gauge',
    unit: 's',
    description: 'Event-loop delay, maximum.',
    attributes: [],
    source: RUNTIME,
  },
  nodejsEventloopUtilization: {
    name: 'nodejs.eventloop.utilization',
    instrument: 'gauge',
    unit: '1',
    description: 'Share of time the event loop was busy (0–1).',
    attributes: [],
    source: RUNTIME,
  },
  nodejsEventloopTime: {
    name: 'nodejs.eventloop.time',
    instrument: 'counter',
    unit: 's',
    description: 'Cumulative time the event loop spent active or idle.',
    attributes: [ATTR.nodejsEventloopState],
    source: RUNTIME,
  },
  v8jsMemoryHeapUsed: {
    name: 'v8js.memory.heap.used',
    instrument: 'gauge',
    unit: 'By',
    description: 'V8 heap bytes in use, per heap space (sum over spaces for the total).',
    attributes: [ATTR.v8jsHeapSpaceName],
    source: RUNTIME,
  },
  v8jsMemoryHeapSpaceSize: {
    name: 'v8js.memory.heap.space.size',
    instrument: 'updowncounter',
    unit: 'By',
    description: 'V8 heap space size, per heap space.',
    attributes: [ATTR.v8jsHeapSpaceName],
    source: RUNTIME,
  },
  /**
   * Not semconv: semconv's `v8js.memory.heap.limit` is each space's current size (`space_size`), which grows
   * with the heap. The ceiling at which V8 aborts with "JavaScript heap out of memory" is `heap_size_limit` of
   * `v8.getHeapStatistics()` (set by --max-old-space-size or derived from the memory the process may use).
   */
  hotpathV8jsHeapSizeLimit: {
    name: 'hotpath.v8js.heap.size_limit',
    instrument: 'gauge',
    unit: 'By',
    description: 'The V8 heap size at which the process aborts with "JavaScript heap out of memory".',
    attributes: [],
    source: HOTPATH_RUNTIME,
  },
  /**
   * Not semconv: the heap that survived the latest major (mark-compact) collection. `v8js.memory.heap.used` also
   * counts garbage promoted since the last major GC, and V8 can go minutes without one while the old space grows
   * into a raised limit, so its minimum climbs in a healthy process. What is left right after a mark-compact is
   * what the process still references: the series a leak grows. Reported from the first major GC on.
   */
  hotpathV8jsHeapLive: {
    name: 'hotpath.v8js.heap.live',
    instrument: 'gauge',
    unit: 'By',
    description: 'V8 heap bytes in use right after the latest major (mark-compact) garbage collection.',
    attributes: [],
    source: HOTPATH_RUNTIME,
  },
  v8jsGcDuration: {
    name: 'v8js.gc.duration',
    instrument: 'histogram',
    unit: 's',
    description: 'Garbage collection pauses by kind.',
    attributes: [ATTR.v8jsGcType],
    source: RUNTIME,
  },
  processCpuTime: {
    name: 'process.cpu.time',
    instrument: 'counter',
    unit: 's',
    description: 'CPU seconds used by the process, by mode (user, system).',
    attributes: [ATTR.cpuMode],
    source: HOST,
  },
  processCpuUtilization: {
    name: 'process.cpu.utilization',
    instrument: 'gauge',
    unit: '1',
    description: 'CPU used by the process since the last measurement, per core (0–1), by mode.',
    attributes: [ATTR.cpuMode],
    source: HOST,
  },
  processMemoryUsage: {
    name: 'process.memory.usage',
    instrument: 'updowncounter',
    unit: 'By',
    description: 'Resident memory of the process.',
    attributes: [],
    source: HOST,
  },
  browserPageLoadDuration: {
    name: 'browser.page.load.duration',
    instrument: 'histogram',
    unit: 's',
    description: 'Navigation start to load event end, as seen by real browsers.',
    attributes: [ATTR.pageRoute],
    source: BROWSER,
    buckets: BROWSER_BUCKETS,
  },
  browserWebVitalLcp: {
    name: 'browser.web_vital.lcp',
    instrument: 'histogram',
    unit: 's',
    description: 'Largest Contentful Paint, by the LCP element and the template of its resource (if any).',
    attributes: [ATTR.pageRoute, ATTR.webVitalElement, ATTR.urlTemplate],
    source: BROWSER,
    buckets: BROWSER_BUCKETS,
  },
  browserWebVitalInp: {
    name: 'browser.web_vital.inp',
    instrument: 'histogram',
    unit: 's',
    description: 'Interaction to Next Paint, by the interaction target.',
    attributes: [ATTR.pageRoute, ATTR.webVitalElement],
    source: BROWSER,
    buckets: BROWSER_BUCKETS,
  },
  browserWebVitalCls: {
    name: 'browser.web_vital.cls',
    instrument: 'histogram',
    unit: '1',
    description: 'Cumulative Layout Shift (unitless score), by the element of the largest shift.',
    attributes: [ATTR.pageRoute, ATTR.webVitalElement],
    source: BROWSER,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1],
  },
  browserWebVitalFcp: {
    name: 'browser.web_vital.fcp',
    instrument: 'histogram',
    unit: 's',
    description: 'First Contentful Paint.',
    attributes: [ATTR.pageRoute],
    source: BROWSER,
    buckets: BROWSER_BUCKETS,
  },
  browserWebVitalTtfb: {
    name: 'browser.web_vital.ttfb',
    instrument: 'histogram',
    unit: 's',
    description: 'Time to First Byte.',
    attributes: [ATTR.pageRoute],
    source: BROWSER,
    buckets: BROWSER_BUCKETS,
  },
  browserWebVitalLcpPhase: {
    name: 'browser.web_vital.lcp.phase',
    instrument: 'histogram',
    unit: 's',
    description:
      'The four parts an LCP splits into (web-vitals attribution): time to first byte, resource load delay, resource load duration, element render delay.',
    attributes: [ATTR.pageRoute, ATTR.webVitalPhase],
    source: BROWSER,
    buckets: BROWSER_BUCKETS,
  },
  browserResourceEncodedSize: {
    name: 'browser.resource.encoded_size',
    instrument: 'histogram',
    unit: 'By',
    description:
      'Body size of a page resource as sent (compressed, if it was), per full load, from Resource Timing.',
    attributes: RESOURCE_ATTRIBUTES,
    source: BROWSER,
    buckets: SIZE_BUCKETS,
  },
  browserResourceDecodedSize: {
    name: 'browser.resource.decoded_size',
    instrument: 'histogram',
    unit: 'By',
    description: 'Body size of a page resource once decoded, per full load, from Resource Timing.',
    attributes: RESOURCE_ATTRIBUTES,
    source: BROWSER,
    buckets: SIZE_BUCKETS,
  },
  browserResourceDuration: {
    name: 'browser.resource.duration',
    instrument: 'histogram',
    unit: 's',
    description: 'Fetch start to response end of a page resource, per full load, from Resource Timing.',
    attributes: RESOURCE_ATTRIBUTES,
    source: BROWSER,
    buckets: BROWSER_BUCKETS,
  },
  hotpathBrowserPayloadsRejected: {
    name: 'hotpath.browser.payloads.rejected',
    instrument: 'counter',
    unit: '{payload}',
    description:
      'Browser payloads the collection endpoint refused (too large, not JSON, invalid, over the rate), by reason.',
    attributes: [ATTR.rejectReason],
    source: BROWSER,
  },
  hotpathFindingsOpen: {
    name: 'hotpath.findings.open',
    instrument: 'gauge',
    unit: '{finding}',
    description: 'Open analyzer findings.',
    attributes: [ATTR.findingLayer, ATTR.findingKind, ATTR.findingSeverity, ATTR.serviceName],
    source: ANALYZER,
  },
  hotpathAnalysisDuration: {
    name: 'hotpath.analysis.duration',
    instrument: 'histogram',
    unit: 's',
    description: 'Duration of one analysis cycle.',
    attributes: [ATTR.analysisOutcome],
    source: ANALYZER,
  },
  hotpathAnalysisFailures: {
    name: 'hotpath.analysis.failures',
    instrument: 'counter',
    unit: '{analysis}',
    description: 'Analysis cycles that failed (an upstream was unreachable or a query failed).',
    attributes: [],
    source: ANALYZER,
  },
} as const satisfies Record<string, MetricSpec>;

/** Code name of a catalogued metric. */
export type MetricKey = keyof typeof METRICS;

/** All catalogued metrics, in catalogue order. */
export const ALL_METRICS: readonly MetricSpec[] = Object.values(METRICS);

/**
 * Series that reach Prometheus already named, not translated from OTLP: Tempo's metrics generator (span metrics
 * and the service graph, over remote write) and Prometheus's own per-target series.
 */
export const PROMETHEUS_SERIES = {
  /** Tempo span metrics: labels service, span_name, span_kind, status_code + configured dimensions (http_route…). */
  spanMetricsCalls: 'traces_spanmetrics_calls_total',
  spanMetricsLatencyBucket: 'traces_spanmetrics_latency_bucket',
  spanMetricsLatencyCount: 'traces_spanmetrics_latency_count',
  spanMetricsLatencySum: 'traces_spanmetrics_latency_sum',
  /** Tempo service graph: labels client, server, connection_type. */
  serviceGraphRequests: 'traces_service_graph_request_total',
  serviceGraphRequestsFailed: 'traces_service_graph_request_failed_total',
  serviceGraphServerSecondsBucket: 'traces_service_graph_request_server_seconds_bucket',
  serviceGraphClientSecondsBucket: 'traces_service_graph_request_client_seconds_bucket',
  /**
   * The collector's own telemetry, scraped from :8888 (an explicit Prometheus reader adds `_total` and unit
   * suffixes). Labels: receiver/exporter (the component id, e.g. otlp_http/prometheus), transport, data_type.
   */
  collectorReceiverRefusedSpans: 'otelcol_receiver_refused_spans_total',
  collectorReceiverRefusedMetricPoints: 'otelcol_receiver_refused_metric_points_total',
  collectorExporterSendFailedSpans: 'otelcol_exporter_send_failed_spans_total',
  collectorExporterSendFailedMetricPoints: 'otelcol_exporter_send_failed_metric_points_total',
  collectorExporterQueueSize: 'otelcol_exporter_queue_size',
  collectorExporterQueueCapacity: 'otelcol_exporter_queue_capacity',
  /** Prometheus's own ingestion health (self-scrape): OTLP/remote-write requests by handler and code. */
  prometheusHttpRequests: 'prometheus_http_requests_total',
  prometheusTsdbOutOfOrderSamples: 'prometheus_tsdb_out_of_order_samples_total',
  /**
   * k6 results over remote write (`-o experimental-prometheus-rw`, K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM=
   * true): a trend is one native histogram under the metric's own name, time trends in seconds (the output's
   * `nativeHistogramSink`), so quantiles aggregate across series and runs, which per-stat gauges cannot. Labels:
   * testid, scenario, name, method, status.
   */
  k6HttpRequests: 'k6_http_reqs_total',
  k6HttpRequestFailedRate: 'k6_http_req_failed_rate',
  k6HttpRequestDuration: 'k6_http_req_duration',
  k6Vus: 'k6_vus',
  k6Iterations: 'k6_iterations_total',
  k6ChecksRate: 'k6_checks_rate',
  /** Prometheus: 1 when the last scrape of a target succeeded. */
  up: 'up',
  /** Resource attributes of each OTLP (or pulled) job/instance. */
  targetInfo: 'target_info',
} as const;
