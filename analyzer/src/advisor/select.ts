/**
 * A small set of indexes for the whole workload, not one per statement (pganalyze's Index Advisor picks a set
 * that covers many statements; Dexter's rule decides what counts as help). Greedy: take the candidate that
 * removes the most database time over every statement it helps, where a statement counts as helped only if the
 * candidate cuts its planned cost by at least `minReduction` of what it costs with the indexes already chosen;
 * repeat. An index that serves five statements outweighs five that serve one each, and a second index on a
 * statement already served is only taken if it halves it again. When no single candidate helps, Dexter's own
 * step: plan each statement with all of its candidates in place, and take the indexes that plan uses, together,
 * if together they halve it (a semi-join can need one on each side, and neither alone may halve it). Repeat
 * until neither step helps. Pure but for `evaluate` and `together`, which ask the planner.
 */

export interface WorkloadStatement {
  readonly id: string;
  /** Database time per second the statement holds in the window. */
  readonly secondsPerSecond: number;
  /** Planned cost without any new index. */
  readonly cost: number;
  /** Keys of the candidates drawn from this statement, for the step that plans them together. */
  readonly candidates?: readonly string[];
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

/**
 * Statement `id`'s planned cost with `chosen` and all of `keys` in place, and which of `keys` that plan uses;
 * undefined when it cannot be planned.
 */
export type EvaluateTogether = (
  chosen: readonly string[],
  keys: readonly string[],
  id: string,
) => Promise<{ readonly cost: number; readonly used: readonly string[] } | undefined>;

export interface Chosen {
  readonly key: string;
  /** The statements it helps, with their cost before (with earlier choices) and after. */
  readonly serves: readonly { readonly id: string; readonly before: number; readonly after: number }[];
  /** Estimated database time removed per second: Σ time × (before − after) / cost without any new index. */
  readonly secondsPerSecond: number;
  /** The other indexes of a set chosen together: without them, this one does not halve what it serves. */
  readonly with?: readonly string[];
}

/** Dexter's `--min-cost-savings-pct` default: an index must halve a statement's planned cost. */
export const MIN_COST_REDUCTION = 0.5;

/** Two amounts of time removed within 1 % of each other count as equal: no plan cost is that precise. */
const TIE = 0.01;

export interface ChooseOptions {
  /** Plans a statement with several candidates at once; without it, only single candidates are tried. */
  readonly together?: EvaluateTogether;
  readonly minReduction?: number;
}

export async function chooseIndexes(
  statements: readonly WorkloadStatement[],
  candidates: readonly IndexCandidate[],
  evaluate: Evaluate,
  options: ChooseOptions = {},
): Promise<Chosen[]> {
  const { together, minReduction = MIN_COST_REDUCTION } = options;
  const current = new Map(statements.map((s) => [s.id, s.cost]));
  const time = new Map(statements.map((s) => [s.id, s.secondsPerSecond]));
  const base = new Map(statements.map((s) => [s.id, s.cost]));
  const left = [...candidates];
  const chosen: Chosen[] = [];
  const keys = () => chosen.map((x) => x.key);
  for (;;) {
    let best: { c: IndexCandidate; value: Chosen; costs: ReadonlyMap<string, number> } | undefined;
    for (const c of left) {
      const serves: { id: string; before: number; after: number }[] = [];
      let seconds = 0;
      const costs = await evaluate(keys(), c.key);
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
      if (best === undefined || better(c, value, best.c, best.value)) best = { c, value, costs };
    }
    if (best !== undefined) {
      chosen.push(best.value);
      // What each statement costs with it in place, halved or not: the next index must halve that.
      for (const [id, after] of best.costs) if (after < (current.get(id) ?? after)) current.set(id, after);
      left.splice(left.indexOf(best.c), 1);
      continue;
    }
    if (together === undefined) break;
    const group = await bestGroup(together);
    if (group === undefined) break;
    chosen.push(...(await takeGroup(together, group)));
  }
  return chosen;

  /**
   * Takes a set that halves `statement` together. First a member that adds next to nothing to the set (within
   * the 1 % `better` treats as a tie) is dropped, one at a time, while the rest still halve it. Then each member
   * serves the statements that read its table and that the set halves, planned with all of it in place; each
   * one's removed time is split among those members by what each adds to the set on it (what the set costs it
   * without the member, less what it costs with all: leave-one-out).
   */
  async function takeGroup(
    plan: EvaluateTogether,
    group: { statement: string; members: readonly string[]; cost: number },
  ): Promise<Chosen[]> {
    const prior = keys();
    /** What `id` costs with the set less `m`, or `alone` when `m` is all of it. */
    const without = async (set: readonly string[], m: string, id: string, alone: number) => {
      const others = set.filter((k) => k !== m);
      return others.length === 0 ? alone : ((await plan(prior, others, id))?.cost ?? alone);
    };
    const before = current.get(group.statement) ?? 0;
    let members = [...new Set(group.members)];
    let setCost = group.cost;
    while (members.length > 1) {
      const gains: number[] = [];
      for (const m of members) gains.push((await without(members, m, group.statement, before)) - setCost);
      const least = gains.indexOf(Math.min(...gains));
      if ((gains[least] ?? 0) > TIE * (before - setCost)) break;
      const rest = members.filter((_, i) => i !== least);
      const r = await plan(prior, rest, group.statement);
      if (r === undefined || r.cost > before * (1 - minReduction)) break;
      members = rest;
      setCost = r.cost;
    }

    // Per member, the statements reading its table, costed with the whole set in place.
    const all = [...prior, ...members];
    const reads = new Map<string, ReadonlyMap<string, number>>();
    for (const m of members)
      reads.set(
        m,
        await evaluate(
          all.filter((k) => k !== m),
          m,
        ),
      );
    const after = new Map<string, number>([[group.statement, setCost]]);
    for (const costs of reads.values())
      for (const [id, cost] of costs) after.set(id, Math.min(cost, after.get(id) ?? cost));

    const serves = new Map(members.map((m) => [m, [] as { id: string; before: number; after: number }[]]));
    const seconds = new Map(members.map((m) => [m, 0]));
    for (const [id, cost] of after) {
      const was = current.get(id);
      const baseCost = base.get(id);
      if (was === undefined || baseCost === undefined || was <= 0 || cost > was * (1 - minReduction))
        continue;
      const removed = ((time.get(id) ?? 0) * (was - cost)) / baseCost;
      const readers = members.filter((m) => id === group.statement || reads.get(m)?.has(id) === true);
      const gains: number[] = [];
      for (const m of readers) gains.push(Math.max((await without(readers, m, id, was)) - cost, 0));
      const total = gains.reduce((x, y) => x + y, 0);
      readers.forEach((m, i) => {
        serves.get(m)?.push({ id, before: was, after: cost });
        const share = total > 0 ? (gains[i] ?? 0) / total : 1 / readers.length;
        seconds.set(m, (seconds.get(m) ?? 0) + removed * share);
      });
    }
    // What the set does is now the cost to improve on, whether it halved a statement or not.
    for (const [id, cost] of after) if (cost < (current.get(id) ?? cost)) current.set(id, cost);
    for (const m of members) {
      const i = left.findIndex((c) => c.key === m);
      if (i >= 0) left.splice(i, 1);
    }
    return members
      .map((key) => ({
        key,
        serves: serves.get(key) ?? [],
        with: members.filter((k) => k !== key),
        secondsPerSecond: seconds.get(key) ?? 0,
      }))
      .sort((x, y) => y.secondsPerSecond - x.secondsPerSecond);
  }

  /** The statement whose candidates, planned together, remove the most time; the ones its plan uses. */
  async function bestGroup(
    plan: EvaluateTogether,
  ): Promise<{ statement: string; members: readonly string[]; cost: number } | undefined> {
    let best: { statement: string; members: readonly string[]; cost: number; seconds: number } | undefined;
    for (const s of statements) {
      const own = [...new Set(s.candidates ?? [])].filter((k) => left.some((c) => c.key === k));
      const before = current.get(s.id) ?? 0;
      if (own.length < 2 || before <= 0 || s.cost <= 0) continue;
      const r = await plan(keys(), own, s.id);
      if (r === undefined || r.cost > before * (1 - minReduction)) continue;
      const members = own.filter((k) => r.used.includes(k));
      const seconds = (s.secondsPerSecond * (before - r.cost)) / s.cost;
      if (members.length > 0 && (best === undefined || seconds > best.seconds))
        best = { statement: s.id, members, cost: r.cost, seconds };
    }
    return best;
  }
}

/** More time removed; on a tie (within 1 %), fewer columns, then the smaller index, then fewer bytes written. */
function better(a: IndexCandidate, av: Chosen, b: IndexCandidate, bv: Chosen): boolean {
  const tie =
    Math.abs(av.secondsPerSecond - bv.secondsPerSecond) <= TIE * Math.max(bv.secondsPerSecond, 1e-12);
  if (!tie) return av.secondsPerSecond > bv.secondsPerSecond;
  if (a.columns !== b.columns) return a.columns < b.columns;
  if (a.bytes !== b.bytes) return a.bytes < b.bytes;
  const aw = a.writeBytesPerSecond ?? 0;
  const bw = b.writeBytesPerSecond ?? 0;
  if (aw !== bw) return aw < bw;
  return a.key < b.key;
}
