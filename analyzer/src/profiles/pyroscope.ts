/**
 * Grafana Pyroscope's query API as a `ProfileSource`: one Connect unary call,
 * `POST /querier.v1.QuerierService/SelectMergeStacktraces`, with the profile type, a label selector on
 * `service_name` (and `span_name` for one route's samples) and the stretch in milliseconds. The answer is a flame
 * graph in protojson (int64 as strings), decoded by `stacksFromFlameGraph` (contract-tested on the upstream
 * fixture). API: https://grafana.com/docs/pyroscope/latest/reference-server-api/
 */
import { UpstreamError } from '../errors.ts';
import { serviceNameOf } from '../findings.ts';
import { type GetJsonRequest, getJson, type HttpOptions } from '../traces/http.ts';
import { type FlameGraph, type ProfileKind, stacksFromFlameGraph } from './model.ts';
import type { ProfileQuery, ProfileSource, StackSet } from './source.ts';

export const SELECT_MERGE_STACKTRACES_PATH = '/querier.v1.QuerierService/SelectMergeStacktraces';

/**
 * The profile types the Node SDK's pushes become (Pyroscope's `<name>:<sample type>:<unit>:<period type>:<unit>`,
 * derived in the fixture README from the server's conversion code): wall time in nanoseconds, and live heap.
 */
export const PROFILE_TYPE_IDS: Readonly<Record<ProfileKind, string>> = {
  wall: 'wall:wall:nanoseconds:wall:nanoseconds',
  heap: 'memory:space:bytes:space:bytes',
};

/**
 * A heap profile is a snapshot of live memory, so merging a stretch of them sums snapshots. `at` asks for one:
 * the stretch is cut to this much at its end (or its start), about one push of the SDK (every 60 s by default).
 */
export const ONE_PUSH_SECONDS = 60;

/** Nodes of the flame graph asked for: enough for the frames that hold a few percent, bounded in size. */
export const MAX_NODES = 8192;

export interface PyroscopeClientOptions extends HttpOptions {
  /** Pyroscope's HTTP base URL, e.g. `http://pyroscope:4040`. */
  readonly url: string;
  /** The clock, Unix milliseconds; tests fix it. (No `X-Scope-OrgID` is sent: single-tenant, as compose runs it.) */
  readonly now?: () => number;
}

/** A label value inside a Prometheus-style selector: backslash and double quote escaped. */
function quoted(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function labelSelector(query: Pick<ProfileQuery, 'service' | 'spanName'>): string {
  const parts = [`service_name=${quoted(serviceNameOf(query.service))}`];
  if (query.spanName !== undefined) parts.push(`span_name=${quoted(query.spanName)}`);
  return `{${parts.join(',')}}`;
}

function isFlameGraph(value: unknown): value is FlameGraph {
  if (typeof value !== 'object' || value === null) return false;
  const g = value as { names?: unknown; levels?: unknown };
  return (
    Array.isArray(g.names) &&
    g.names.every((n) => typeof n === 'string') &&
    Array.isArray(g.levels) &&
    g.levels.every(
      (l) =>
        typeof l === 'object' &&
        l !== null &&
        Array.isArray((l as { values?: unknown }).values ?? []) &&
        ((l as { values?: unknown[] }).values ?? []).every(
          (v) => typeof v === 'number' || (typeof v === 'string' && /^-?\d+$/.test(v)),
        ),
    )
  );
}

/** The stacks of a `SelectMergeStacktraces` answer; null when it holds no profile (no `flamegraph`). */
export function parseSelectMergeStacktraces(body: unknown, target: string): FlameGraph | null {
  if (typeof body !== 'object' || body === null) {
    throw new UpstreamError(
      'pyroscope',
      target,
      'SelectMergeStacktraces answered with something that is not an object',
    );
  }
  const graph = (body as { flamegraph?: unknown }).flamegraph;
  if (graph === undefined) return null;
  // protojson leaves empty fields out: a level with no nodes may have no `values`.
  const normalised =
    typeof graph === 'object' && graph !== null
      ? {
          names: (graph as { names?: unknown }).names ?? [],
          levels: ((graph as { levels?: unknown }).levels ?? []) as unknown,
        }
      : graph;
  if (!isFlameGraph(normalised)) {
    throw new UpstreamError(
      'pyroscope',
      target,
      'SelectMergeStacktraces answered a flamegraph without names[] and levels[{values}] of integers',
    );
  }
  return {
    names: normalised.names,
    levels: normalised.levels.map((l) => ({ values: l.values ?? [] })),
  };
}

export class PyroscopeClient implements ProfileSource {
  readonly name = 'pyroscope';
  private readonly target: string;
  private readonly http: HttpOptions;
  private readonly now: () => number;

  constructor(options: PyroscopeClientOptions) {
    this.target = options.url.replace(/\/+$/, '');
    this.now = options.now ?? Date.now;
    const { url: _url, now: _now, ...http } = options;
    this.http = http;
  }

  async stacks(query: ProfileQuery): Promise<StackSet | null> {
    const end = this.now();
    let start = end - query.sinceSeconds * 1000;
    let stop = end;
    if (query.at === 'latest') start = Math.max(start, end - ONE_PUSH_SECONDS * 1000);
    if (query.at === 'earliest') stop = Math.min(end, start + ONE_PUSH_SECONDS * 1000);
    const request: GetJsonRequest = {
      ...this.http,
      upstream: 'pyroscope',
      target: this.target,
      path: SELECT_MERGE_STACKTRACES_PATH,
      body: {
        profileTypeID: PROFILE_TYPE_IDS[query.kind],
        labelSelector: labelSelector(query),
        start,
        end: stop,
        maxNodes: MAX_NODES,
      },
      hint: 'is PYROSCOPE_URL the Pyroscope server (port 4040)?',
    };
    const body = await getJson(request);
    if (body === null) {
      throw new UpstreamError(
        'pyroscope',
        this.target,
        `POST ${this.target}${SELECT_MERGE_STACKTRACES_PATH} answered 404: not a Pyroscope server (or one older than 1.0)`,
      );
    }
    const graph = parseSelectMergeStacktraces(body, this.target);
    if (graph === null) return null;
    const samples = stacksFromFlameGraph(graph);
    if (samples.length === 0) return null;
    return { samples, seconds: (stop - start) / 1000, endMs: stop };
  }
}
