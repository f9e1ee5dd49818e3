/**
 * Profiles as the analyzer reads them: stacks with a value (wall nanoseconds, or live heap bytes) and the
 * sample's labels, whichever backend they came from. Two decoders: pprof (what the Node SDK pushes, decoded with
 * `pprof-format`) and Pyroscope's flame graph (what its query API answers).
 *
 * Frame names: the Pyroscope Node SDK names a function `<file>:<function>:<line>` (`./src/app.ts:render:42`,
 * `node:zlib:gzipSync:0`, `:writeSync:0` for a native frame), because its flame graphs show names only; both
 * decoders split that back into file, function and line.
 */
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';

export interface Frame {
  /** The function (`(anonymous)` for an unnamed one). */
  readonly name: string;
  /** Source file or module: `/app/src/orders.js`, `node:zlib`; empty for native and VM frames. */
  readonly file: string;
  /** The function's line in the file (0 when unknown). */
  readonly line: number;
}

export interface StackSample {
  /** Leaf first: `frames[0]` is where the time was spent (or the memory allocated). */
  readonly frames: readonly Frame[];
  /** Nanoseconds of wall time, or bytes of live heap. */
  readonly value: number;
  readonly labels: Readonly<Record<string, string>>;
}

export type ProfileKind = 'wall' | 'heap';

export interface DecodedProfile {
  readonly kind: ProfileKind;
  readonly samples: readonly StackSample[];
}

export class ProfileFormatError extends Error {
  override readonly name = 'ProfileFormatError';
}

/**
 * `<file>:<function>:<line>` as the Node SDK writes it; any other name is kept whole. An unnamed function is
 * `(anonymous:L#<line>:C#<column>)` in V8's wall profiles (colons inside the function part): it is `(anonymous)`,
 * its line the frame's.
 */
export function splitFrameName(raw: string, file = '', line = 0): Frame {
  // A native frame has no file, and its name may hold colons (`RegExp: (a+)+$`).
  const native = /^:(.+):(\d+)$/.exec(raw);
  if (native !== null) return { name: native[1] ?? raw, file: '', line: Number(native[2]) };
  const m = /^(.*?):(\(anonymous:L#\d+:C#\d+\)|[^:]*):(\d+)$/.exec(raw);
  if (m === null) return { name: raw === '' ? '(anonymous)' : raw, file, line };
  const name = m[2] === '' || m[2]?.startsWith('(anonymous:') ? '(anonymous)' : (m[2] ?? '');
  return { name, file: m[1] ?? file, line: Number(m[3]) };
}

const GZIP = [0x1f, 0x8b];

/**
 * A pprof body as the SDK pushes it (gzipped, or raw): the wall profile's wall time in nanoseconds (older SDKs
 * wrote microseconds), or the heap profile's live bytes. Other profiles are refused: the analyzer reads no other.
 */
export function decodePprof(body: Uint8Array): DecodedProfile {
  let raw: Uint8Array = body;
  if (body[0] === GZIP[0] && body[1] === GZIP[1]) {
    try {
      raw = gunzipSync(body);
    } catch (error) {
      throw new ProfileFormatError(`the gzipped profile does not inflate: ${(error as Error).message}`);
    }
  }
  let profile: Profile;
  try {
    profile = Profile.decode(raw);
  } catch (error) {
    throw new ProfileFormatError(`not a pprof profile: ${(error as Error).message}`);
  }
  const strings = profile.stringTable.strings;
  const str = (i: unknown) => strings[Number(i)] ?? '';
  const types = profile.sampleType.map((t) => ({ type: str(t.type), unit: str(t.unit) }));
  let index = types.findIndex((t) => t.type === 'wall');
  let kind: ProfileKind = 'wall';
  let scale = 1;
  if (index >= 0) {
    const unit = types[index]?.unit;
    scale = unit === 'microseconds' ? 1_000 : unit === 'milliseconds' ? 1_000_000 : 1;
  } else {
    index = types.findIndex((t) => t.type === 'inuse_space' || t.type === 'space');
    kind = 'heap';
  }
  if (index < 0) {
    throw new ProfileFormatError(
      `the profile has neither wall time nor live heap (sample types: ${types.map((t) => `${t.type}/${t.unit}`).join(', ') || 'none'})`,
    );
  }
  const functions = new Map(profile.function.map((f) => [Number(f.id), f]));
  const locations = new Map<number, Frame[]>();
  for (const loc of profile.location) {
    // A location's lines: inlined frames first, the physical function last (pprof's order).
    locations.set(
      Number(loc.id),
      loc.line.map((l) => {
        const f = functions.get(Number(l.functionId));
        return splitFrameName(str(f?.name), str(f?.filename), Number(l.line ?? 0));
      }),
    );
  }
  const samples: StackSample[] = [];
  for (const s of profile.sample) {
    const value = Number(s.value[index] ?? 0) * scale;
    if (!(value > 0)) continue;
    const labels: Record<string, string> = {};
    for (const l of s.label) {
      const key = str(l.key);
      if (key !== '') labels[key] = Number(l.str) !== 0 ? str(l.str) : String(l.num);
    }
    samples.push({ frames: s.locationId.flatMap((id) => locations.get(Number(id)) ?? []), value, labels });
  }
  return { kind, samples };
}

/** Pyroscope's flame graph (`SelectMergeStacktraces`): names, and per level 4 numbers a node. */
export interface FlameGraph {
  readonly names: readonly string[];
  readonly levels: readonly { readonly values: readonly (string | number)[] }[];
}

/**
 * Stacks from a flame graph: each node with self time is one sample (its path from the root), value = self.
 * Per level, a node is `[x offset from the previous node's end, total, self, name index]`; a node's parent is
 * the node of the level above whose span holds its start.
 */
export function stacksFromFlameGraph(graph: FlameGraph): StackSample[] {
  interface Node {
    readonly start: number;
    readonly end: number;
    readonly frame: Frame;
    readonly parent: Node | undefined;
  }
  const samples: StackSample[] = [];
  let above: Node[] = [];
  for (const level of graph.levels) {
    const values = level.values.map(Number);
    const nodes: Node[] = [];
    let x = 0;
    let p = 0;
    for (let i = 0; i + 3 < values.length; i += 4) {
      const start = x + (values[i] ?? 0);
      const total = values[i + 1] ?? 0;
      const self = values[i + 2] ?? 0;
      const name = graph.names[values[i + 3] ?? 0] ?? '';
      while (p < above.length && (above[p]?.end ?? 0) <= start) p++;
      const parent = above[p] !== undefined && (above[p]?.start ?? 0) <= start ? above[p] : undefined;
      const node: Node = { start, end: start + total, frame: splitFrameName(name), parent };
      nodes.push(node);
      x = start + total;
      // The root node ("total") is not a frame of the program.
      if (self > 0 && parent !== undefined) {
        const frames: Frame[] = [];
        for (let n: Node | undefined = node; n?.parent !== undefined; n = n.parent) frames.push(n.frame);
        samples.push({ frames, value: self, labels: {} });
      }
    }
    above = nodes;
  }
  return samples;
}
