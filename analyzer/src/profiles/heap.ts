/**
 * Where a leak allocates: live heap per allocation site at the start and at the end of the window, from heap
 * profiles (the SDK's sampled `inuse_space`: what is still referenced of what each site allocated). A site whose
 * live bytes grew is holding on to what it allocates. Each sample is charged like wall time (`hot.ts`): to the
 * first frame of the app's own code above the leaf (`Buffer.alloc`, `Array` are where memory is made, not why).
 */
import type { GrowingSite } from '../facts.ts';
import { type Charge, charge, label, location, packageOf } from './hot.ts';
import type { StackSet } from './source.ts';

/**
 * A site is named only when it grew by at least four heap samples' worth: the SDK samples an allocation every
 * 512 KiB on average (its default `heapSamplingIntervalBytes`), and four samples is the floor Sentry's profile
 * detectors use before they name a function.
 */
export const MIN_SITE_GROWTH_BYTES = 4 * 512 * 1024;

function bySite(set: StackSet): Map<string, { bytes: number; c: Charge }> {
  const out = new Map<string, { bytes: number; c: Charge }>();
  for (const s of set.samples) {
    const c = charge(s.frames);
    if (c === null || c === 'idle' || c === 'vm') continue;
    const key = label(c.at);
    const entry = out.get(key);
    if (entry === undefined) out.set(key, { bytes: s.value, c });
    else entry.bytes += s.value;
  }
  return out;
}

/** The sites whose live bytes grew from `earliest` to `latest`, most first (at most `top`). */
export function growingSites(earliest: StackSet, latest: StackSet, top = 3): GrowingSite[] {
  const before = bySite(earliest);
  const after = bySite(latest);
  const grown = [...after].map(([key, a]) => ({ a, grown: a.bytes - (before.get(key)?.bytes ?? 0) }));
  const total = grown.reduce((sum, g) => sum + Math.max(g.grown, 0), 0);
  return grown
    .filter((g) => g.grown >= MIN_SITE_GROWTH_BYTES)
    .sort((x, y) => y.grown - x.grown)
    .slice(0, top)
    .map(({ a, grown: bytes }): GrowingSite => {
      const pkg = a.c.kind === 'dependency' ? packageOf(a.c.at.file) : undefined;
      return {
        function: a.c.at.name,
        location: location(a.c.at),
        frame_kind: a.c.kind,
        ...(pkg === undefined ? {} : { package: pkg }),
        ...(a.c.callee === undefined ? {} : { allocates_in: a.c.callee.name }),
        grown_bytes: bytes,
        live_bytes: a.bytes,
        share: total > 0 ? bytes / total : 0,
        stack: a.c.stack.join('\n'),
      };
    });
}
