/**
 * Which code holds the main thread, from wall stacks. A sample's leaf is often not the app's code: a loop that
 * calls `zlib.gzipSync` spends its time in the native `writeSync`, a JSON-heavy one in V8. So each sample is
 * charged to the first frame of the app's own code above the leaf (else the first frame of a dependency), and
 * what it called on the way down is named: the Node API (`zlib.gzipSync`), the package (`lodash`), or the VM.
 * The stack kept is the app's frames from the outermost (the route handler) down to the charged one.
 *
 * Idle samples (`(idle)`) are the loop waiting; `(program)` and garbage collection are V8's own time, charged to
 * nobody. Shares are of the profile's wall time: the main thread's time over the stretch profiled.
 */
import type { HotFunction } from '../facts.ts';
import { formatPercent } from '../findings.ts';
import type { Frame, StackSample } from './model.ts';
import type { StackSet } from './source.ts';

export type FrameKind = 'app' | 'dependency' | 'node' | 'native';

export interface HotFrame {
  readonly function: string;
  readonly file: string;
  readonly line: number;
  readonly kind: FrameKind;
  /** The npm package, for a frame under `node_modules`. */
  readonly package?: string;
  /** What it spent the time in below itself: a Node API (`zlib.gzipSync`), a package, or a native frame. */
  readonly callee?: string;
  readonly callee_kind?: 'node-api' | 'dependency' | 'native';
  /** Its share of the main thread's wall time in the profile. */
  readonly share: number;
  /** Main-thread seconds it held per second profiled. */
  readonly seconds: number;
  /** The app's frames from the outermost down to this one, `function (file:line)`. */
  readonly stack: readonly string[];
}

export interface HotCode {
  /** `embedded` or `pyroscope`. */
  readonly source: string;
  /** Seconds of profile read. */
  readonly profiled_s: number;
  /** Share of the main thread's time not idle. */
  readonly busy_share: number;
  /** The route's samples only (span profiles), when the profile was cut by route. */
  readonly route?: string;
  /** Largest first. */
  readonly frames: readonly HotFrame[];
  /**
   * The app's and its dependencies' frames by total time (the samples they are anywhere on the stack of, each
   * counted once), largest first: the handler and the helpers the time passed through, not only where it ended.
   */
  readonly by_total: readonly TotalFrame[];
}

export interface TotalFrame {
  readonly function: string;
  readonly file: string;
  readonly line: number;
  readonly kind: FrameKind;
  /** Its share of the main thread's wall time, itself and what it called. */
  readonly share: number;
  /** Main-thread seconds per second profiled, itself and what it called. */
  readonly seconds: number;
}

const IDLE = new Set(['(idle)']);
const VM = new Set(['(program)', '(garbage collector)', 'Garbage Collection', 'Non JS threads activity']);

export function frameKind(f: Frame): FrameKind {
  if (f.file === '') return 'native';
  if (f.file.startsWith('node:')) return 'node';
  if (/[/\\]node_modules[/\\]/.test(f.file)) return 'dependency';
  return 'app';
}

/** The package of a file under `node_modules` (the last one: a dependency's own dependency). */
export function packageOf(file: string): string | undefined {
  const m = /[/\\]node_modules[/\\]((?:@[^/\\]+[/\\])?[^/\\]+)[/\\](?!.*[/\\]node_modules[/\\])/.exec(file);
  return m?.[1]?.replace('\\', '/');
}

/** `node:internal/crypto/pbkdf2` → `crypto`; `node:zlib` → `zlib`. */
export function nodeModuleOf(file: string): string {
  const path = file.replace(/^node:/, '').replace(/^internal\//, '');
  return path.split('/')[0] ?? path;
}

/**
 * Node's public name for a frame where the function's own name hides it: every zlib `*Sync` convenience method
 * is one closure named `syncBufferWrapper` (lib/zlib.js `createConvenienceMethod`), so which one is not known.
 */
function nodeApiName(module: string, name: string): string {
  if (module === 'zlib' && name === 'syncBufferWrapper') return 'zlib.*Sync';
  return `${module}.${name}`;
}

export function label(f: Frame): string {
  return `${f.name} (${f.file}${f.line > 0 ? `:${f.line}` : ''})`;
}

/** Where a file is shown: a path relative to the app where the SDK made it so, else as given. */
export function location(f: { file: string; line: number }): string {
  return `${f.file}${f.line > 0 ? `:${f.line}` : ''}`;
}

export interface Charge {
  readonly at: Frame;
  readonly kind: FrameKind;
  readonly callee?: { name: string; kind: 'node-api' | 'dependency' | 'native' };
  readonly stack: readonly string[];
}

export function charge(frames: readonly Frame[]): Charge | 'idle' | 'vm' | null {
  const leaf = frames[0];
  if (leaf === undefined) return null;
  if (IDLE.has(leaf.name) && leaf.file === '') return 'idle';
  if (VM.has(leaf.name) && leaf.file === '') return 'vm';
  const kinds = frames.map(frameKind);
  let at = kinds.indexOf('app');
  if (at < 0) at = kinds.indexOf('dependency');
  if (at < 0) at = 0;
  const frame = frames[at] as Frame;
  let callee: Charge['callee'];
  if (at > 0) {
    const below = frames.slice(0, at);
    const belowKinds = kinds.slice(0, at);
    const dep = belowKinds.lastIndexOf('dependency');
    const node = belowKinds.lastIndexOf('node');
    if (dep >= 0 && kinds[at] !== 'dependency') {
      callee = {
        name: packageOf((below[dep] as Frame).file) ?? (below[dep] as Frame).name,
        kind: 'dependency',
      };
    } else if (node >= 0) {
      // The node frame the app called (the outermost one below it): the public API, not an internal helper.
      const api = below[node] as Frame;
      callee = { name: nodeApiName(nodeModuleOf(api.file), api.name), kind: 'node-api' };
    } else {
      callee = { name: (below[below.length - 1] as Frame).name, kind: 'native' };
    }
  }
  const stack = frames
    .slice(at)
    .filter((f, i) => i === 0 || frameKind(f) === 'app')
    .map(label)
    .reverse()
    .slice(-12);
  return { at: frame, kind: kinds[at] as FrameKind, ...(callee === undefined ? {} : { callee }), stack };
}

/** The frames that held the main thread, largest first (at most `top`), from a wall profile's stacks. */
export function hotCode(
  set: StackSet,
  options: { source: string; route?: string; top?: number },
): HotCode | null {
  let total = 0;
  let idle = 0;
  const byKey = new Map<string, { c: Charge; value: number }>();
  const inclusive = new Map<string, { frame: Frame; kind: FrameKind; value: number }>();
  for (const s of set.samples as readonly StackSample[]) {
    total += s.value;
    const c = charge(s.frames);
    if (c === 'idle') idle += s.value;
    if (c === null || c === 'idle' || c === 'vm') continue;
    // Once per sample: a recursive function is on its stack many times but held the thread once.
    const seen = new Set<string>();
    for (const f of s.frames) {
      const kind = frameKind(f);
      if (kind !== 'app' && kind !== 'dependency') continue;
      const key = label(f);
      if (seen.has(key)) continue;
      seen.add(key);
      const entry = inclusive.get(key);
      if (entry === undefined) inclusive.set(key, { frame: f, kind, value: s.value });
      else entry.value += s.value;
    }
    const key = `${label(c.at)}\0${c.callee?.name ?? ''}`;
    const entry = byKey.get(key);
    if (entry === undefined) byKey.set(key, { c, value: s.value });
    else entry.value += s.value;
  }
  if (total <= 0) return null;
  const seconds = set.seconds > 0 ? set.seconds : total / 1e9;
  const frames = [...byKey.values()]
    .sort((a, b) => b.value - a.value)
    .slice(0, options.top ?? 5)
    .map(({ c, value }): HotFrame => {
      const pkg = c.kind === 'dependency' ? packageOf(c.at.file) : undefined;
      return {
        function: c.at.name,
        file: c.at.file,
        line: c.at.line,
        kind: c.kind,
        ...(pkg === undefined ? {} : { package: pkg }),
        ...(c.callee === undefined ? {} : { callee: c.callee.name, callee_kind: c.callee.kind }),
        share: value / total,
        seconds: value / 1e9 / seconds,
        stack: c.stack,
      };
    });
  const byTotal = [...inclusive.values()]
    .sort((a, b) => b.value - a.value)
    .slice(0, options.top ?? 5)
    .map(
      ({ frame, kind, value }): TotalFrame => ({
        function: frame.name,
        file: frame.file,
        line: frame.line,
        kind,
        share: value / total,
        seconds: value / 1e9 / seconds,
      }),
    );
  return {
    source: options.source,
    profiled_s: seconds,
    busy_share: (total - idle) / total,
    ...(options.route === undefined ? {} : { route: options.route }),
    frames,
    by_total: byTotal,
  };
}

/**
 * A frame is named as the code that held the thread only with at least this much of it in the profile read.
 * Sentry's profile-based detectors (e.g. "JSON Decoding on Main Thread") require 40 ms: about four samples at
 * the profiler's ~10 ms interval, "so the function appears in a sufficient number of samples".
 * https://docs.sentry.io/product/issues/issue-details/performance-issues/json-decoding-main-thread/
 */
export const MIN_NAMED_MS = 40;

/** The top frame of `hot` as a finding's fact; undefined when none held the thread long enough to name. */
export function hotFunction(hot: HotCode | undefined): HotFunction | undefined {
  if (hot === undefined) return undefined;
  const named = hot.frames.filter((f) => f.seconds * hot.profiled_s * 1000 >= MIN_NAMED_MS);
  const top = named[0];
  if (top === undefined) return undefined;
  return {
    function: top.function,
    location: location(top),
    frame_kind: top.kind,
    ...(top.package === undefined ? {} : { package: top.package }),
    ...(top.callee === undefined ? {} : { callee: top.callee }),
    ...(top.callee_kind === undefined ? {} : { callee_kind: top.callee_kind }),
    share: top.share,
    ms_per_s: top.seconds * 1000,
    total_ms: top.seconds * hot.profiled_s * 1000,
    profiled_s: hot.profiled_s,
    source: hot.source,
    ...(hot.route === undefined ? {} : { route: hot.route }),
    stack: top.stack.join('\n'),
    by_total: hot.by_total
      .filter((f) => f.seconds * hot.profiled_s * 1000 >= MIN_NAMED_MS)
      .map((f) => `${f.function} (${location(f)}) ${formatPercent(f.share)}`)
      .join('\n'),
    others: named
      .slice(1)
      .map(
        (f) =>
          `${f.function} (${location(f)})${f.callee === undefined ? '' : ` in ${f.callee}`} ${formatPercent(f.share)}`,
      )
      .join('\n'),
  };
}
