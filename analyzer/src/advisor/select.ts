/**
 * A small set of indexes for the whole workload, not one per statement (pganalyze's Index Advisor picks a set
 * that covers many statements; Dexter's rule decides what counts as help). Greedy: take the candidate that
 * removes the most database time over every statement it helps, where a statement counts as helped only if the
 * candidate cuts its planned cost by at least `minReduction` of what it costs with the indexes already chosen;
 * repeat until no candidate helps any statement. An index that serves five statements outweighs five that
 * serve one each, and a second index on a statement already served is only taken if it halves it again.
 * Pure but for `evaluate`, which asks the planner.
 */

export interface WorkloadStatement {
  readonly id: string;
  /** Database time per second the statement holds in the window. */
  readonly secondsPerSecond: number;
  /** Planned cost without any new index. */
  readonly cost: number;
}

export interface IndexCandidate {
  readonly key: string;
  readonly columns: number;
  /** Estimated size (HypoPG), bytes. */
  readonly bytes: number;
  /** Bytes written to the index per second by the table's writes (pganalyze's write overhead), when known. */
  readonly writeBytesPerSecond: number | null;
}

/**
 * The planned cost of each statement that reads `candidate`'s table, with the indexes `chosen` so far and
 * `candidate` (hypothetically) in place: indexes work together (a semi-join needs one on each side), so each
 * round plans again with what is already chosen.
 */
export type Evaluate = (chosen: readonly string[], candidate: string) => Promise<ReadonlyMap<string, number>>;

export interface Chosen {
  readonly key: string;
  /** The statements it helps, with their cost before (with earlier choices) and after. */
  readonly serves: readonly { readonly id: string; readonly before: number; readonly after: number }[];
  /** Estimated database time removed per second: Σ time × (before − after) / cost without any new index. */
  readonly secondsPerSecond: number;
}

/** Dexter's `--min-cost-savings-pct` default: an index must halve a statement's planned cost. */
export const MIN_COST_REDUCTION = 0.5;

export async function chooseIndexes(
  statements: readonly WorkloadStatement[],
  candidates: readonly IndexCandidate[],
  evaluate: Evaluate,
  minReduction = MIN_COST_REDUCTION,
): Promise<Chosen[]> {
  const current = new Map(statements.map((s) => [s.id, s.cost]));
  const time = new Map(statements.map((s) => [s.id, s.secondsPerSecond]));
  const base = new Map(statements.map((s) => [s.id, s.cost]));
  const left = [...candidates];
  const chosen: Chosen[] = [];
  for (;;) {
    let best: { c: IndexCandidate; value: Chosen } | undefined;
    for (const c of left) {
      const costs = await evaluate(
        chosen.map((x) => x.key),
        c.key,
      );
      const serves: { id: string; before: number; after: number }[] = [];
      let seconds = 0;
      for (const [id, after] of costs) {
        const before = current.get(id);
        const baseCost = base.get(id);
        if (before === undefined || baseCost === undefined || before <= 0) continue;
        if (after > before * (1 - minReduction)) continue;
        serves.push({ id, before, after });
        // The statement's time scales with its cost: what this index removes of what is left of it.
        seconds += ((time.get(id) ?? 0) * (before - after)) / baseCost;
      }
      if (serves.length === 0) continue;
      const value = { key: c.key, serves, secondsPerSecond: seconds };
      if (best === undefined || better(c, value, best.c, best.value)) best = { c, value };
    }
    if (best === undefined) break;
    chosen.push(best.value);
    for (const s of best.value.serves) current.set(s.id, s.after);
    left.splice(left.indexOf(best.c), 1);
  }
  return chosen;
}

/** More time removed; on a tie (within 1 %), fewer columns, then the smaller index, then fewer bytes written. */
function better(a: IndexCandidate, av: Chosen, b: IndexCandidate, bv: Chosen): boolean {
  const tie =
    Math.abs(av.secondsPerSecond - bv.secondsPerSecond) <= 0.01 * Math.max(bv.secondsPerSecond, 1e-12);
  if (!tie) return av.secondsPerSecond > bv.secondsPerSecond;
  if (a.columns !== b.columns) return a.columns < b.columns;
  if (a.bytes !== b.bytes) return a.bytes < b.bytes;
  const aw = a.writeBytesPerSecond ?? 0;
  const bw = b.writeBytesPerSecond ?? 0;
  if (aw !== bw) return aw < bw;
  return a.key < b.key;
}
