/**
 * The set choice alone, with a planner written as a table: which statement costs what under which indexes.
 * The advisor test shows it on real plans; this one pins the rules (Dexter's 50 %, one index for several
 * statements, indexes that only help together, ties) where a real planner would hide which one decided.
 */
import { describe, expect, it } from 'vitest';
import { chooseIndexes, type Evaluate, type IndexCandidate } from './select.ts';

const candidate = (key: string, columns = 1, bytes = 1000, writeBytesPerSecond: number | null = null) =>
  ({ key, columns, bytes, writeBytesPerSecond }) satisfies IndexCandidate;

/** Costs by statement for a set of indexes (sorted keys joined by '+'); a set not listed costs as without. */
function planner(base: Record<string, number>, table: Record<string, Record<string, number>>): Evaluate {
  return async (chosen, c) => {
    const key = [...chosen, c].sort().join('+');
    return new Map(Object.entries({ ...base, ...(table[key] ?? {}) }));
  };
}

describe('chooseIndexes', () => {
  it('takes the index serving several statements before one serving one, and a second only if it halves again', async () => {
    const base = { s1: 100, s2: 100, s3: 100 };
    const statements = Object.entries(base).map(([id, cost]) => ({ id, cost, secondsPerSecond: 0.1 }));
    const chosen = await chooseIndexes(
      statements,
      [candidate('one'), candidate('shared', 2)],
      planner(base, {
        shared: { s1: 40, s2: 40, s3: 40 },
        one: { s1: 10 },
        'one+shared': { s1: 10, s2: 40, s3: 40 },
      }),
    );
    expect(chosen.map((c) => c.key)).toEqual(['shared', 'one']);
    expect(chosen[0]?.serves.map((s) => s.id)).toEqual(['s1', 's2', 's3']);
    expect(chosen[0]?.secondsPerSecond).toBeCloseTo(3 * 0.1 * 0.6);
    // The second is weighed against what the first left: 40 → 10 of a base of 100.
    expect(chosen[1]?.serves).toEqual([{ id: 's1', before: 40, after: 10 }]);
    expect(chosen[1]?.secondsPerSecond).toBeCloseTo(0.1 * 0.3);
  });

  it('keeps nothing that cuts a cost by less than half (Dexter)', async () => {
    const base = { s1: 100 };
    const chosen = await chooseIndexes(
      [{ id: 's1', cost: 100, secondsPerSecond: 1 }],
      [candidate('weak')],
      planner(base, { weak: { s1: 51 } }),
    );
    expect(chosen).toEqual([]);
    const halved = await chooseIndexes(
      [{ id: 's1', cost: 100, secondsPerSecond: 1 }],
      [candidate('weak')],
      planner(base, { weak: { s1: 50 } }),
    );
    expect(halved.map((c) => c.key)).toEqual(['weak']);
  });

  it('finds two indexes that only help together, planning each round with what is already chosen', async () => {
    const base = { semi: 1000, inner: 100 };
    const chosen = await chooseIndexes(
      [
        { id: 'semi', cost: 1000, secondsPerSecond: 1 },
        { id: 'inner', cost: 100, secondsPerSecond: 0.01 },
      ],
      [candidate('outer_fk'), candidate('inner_key')],
      planner(base, {
        // Alone, the outer index does nothing; the inner one helps a little statement.
        inner_key: { inner: 10 },
        'inner_key+outer_fk': { semi: 20, inner: 10 },
      }),
    );
    expect(chosen.map((c) => c.key)).toEqual(['inner_key', 'outer_fk']);
    expect(chosen[1]?.serves).toEqual([{ id: 'semi', before: 1000, after: 20 }]);
  });

  it('takes the indexes a statement needs together when neither alone halves it (Dexter, all candidates at once)', async () => {
    const base = { semi: 1000, other: 100 };
    // Alone: 1000 → 540 and → 670, neither half. Together: → 180. The plan with all three uses two.
    const costs: Record<string, Record<string, number>> = {
      fk: { semi: 540 },
      key: { semi: 670 },
      noise: { semi: 990 },
      'fk+key': { semi: 180 },
    };
    const plan = planner(base, costs);
    const togetherCalls: string[][] = [];
    const statements = [
      { id: 'semi', cost: 1000, secondsPerSecond: 1, candidates: ['fk', 'key', 'noise'] },
      { id: 'other', cost: 100, secondsPerSecond: 1, candidates: [] },
    ];
    const candidates = [candidate('fk'), candidate('key'), candidate('noise')];
    expect(await chooseIndexes(statements, candidates, plan)).toEqual([]);
    const chosen = await chooseIndexes(statements, candidates, plan, {
      together: async (chosenKeys, keys, id) => {
        togetherCalls.push([...keys]);
        const set = [...chosenKeys, ...keys]
          .filter((k) => k !== 'noise')
          .sort()
          .join('+');
        const cost = costs[set]?.[id] ?? base[id as keyof typeof base];
        return { cost, used: keys.filter((k) => k !== 'noise') };
      },
    });
    expect(togetherCalls[0]).toEqual(['fk', 'key', 'noise']);
    // Leave-one-out on the set: without fk it costs 670, without key 540; so fk adds 490, key 360 of 850.
    expect(chosen.map((c) => c.key)).toEqual(['fk', 'key']);
    expect(chosen[0]?.serves).toEqual([{ id: 'semi', before: 1000, after: 180 }]);
    expect(chosen[0]?.secondsPerSecond).toBeCloseTo(0.82 * (490 / 850));
    expect(chosen[1]?.secondsPerSecond).toBeCloseTo(0.82 * (360 / 850));
    expect(chosen.map((c) => c.with)).toEqual([['key'], ['fk']]);
  });

  it('drops a member of a set the plan uses but the set costs no more without', async () => {
    const costs: Record<string, number> = { fk: 540, key: 670, 'fk+key': 180, 'fk+key+spare': 180 };
    const cost = (keys: readonly string[]) => costs[[...keys].sort().join('+')] ?? 1000;
    const chosen = await chooseIndexes(
      [{ id: 'semi', cost: 1000, secondsPerSecond: 1, candidates: ['fk', 'key', 'spare'] }],
      [candidate('fk'), candidate('key'), candidate('spare')],
      async (chosenKeys, c) => new Map([['semi', cost([...chosenKeys, c])]]),
      // The plan with all three reports all three as used; without `spare` it costs the same.
      { together: async (chosenKeys, keys) => ({ cost: cost([...chosenKeys, ...keys]), used: [...keys] }) },
    );
    expect(chosen.map((c) => c.key)).toEqual(['fk', 'key']);
    expect(chosen[0]?.with).toEqual(['key']);
  });

  it('credits each member of a set only with the statements that read its table', async () => {
    // q1 joins three tables, q2 two of them; each index removes the same part of a statement that reads its table.
    const tables: Record<string, readonly string[]> = { a: ['q1', 'q2'], p: ['q1', 'q2'], t: ['q1'] };
    const base = { q1: 900, q2: 600 };
    const step = { q1: 290, q2: 200 };
    const cost = (id: 'q1' | 'q2', set: readonly string[]) =>
      base[id] - step[id] * set.filter((k) => tables[k]?.includes(id)).length;
    const chosen = await chooseIndexes(
      [
        { id: 'q1', cost: 900, secondsPerSecond: 1, candidates: ['a', 'p', 't'] },
        { id: 'q2', cost: 600, secondsPerSecond: 1, candidates: ['a', 'p'] },
      ],
      [candidate('a'), candidate('p'), candidate('t')],
      async (chosenKeys, c) =>
        new Map((tables[c] ?? []).map((id) => [id, cost(id as 'q1' | 'q2', [...chosenKeys, c])])),
      {
        together: async (chosenKeys, keys, id) => ({
          cost: cost(id as 'q1' | 'q2', [...chosenKeys, ...keys]),
          used: keys.filter((k) => tables[k]?.includes(id)),
        }),
      },
    );
    const by = Object.fromEntries(chosen.map((c) => [c.key, c]));
    expect(by.t?.serves.map((x) => x.id)).toEqual(['q1']);
    expect(by.a?.serves.map((x) => x.id).sort()).toEqual(['q1', 'q2']);
    // q1: 900 → 30 shared by three; q2: 600 → 200 shared by the two that read it.
    expect(by.t?.secondsPerSecond).toBeCloseTo(870 / 900 / 3);
    expect(by.a?.secondsPerSecond).toBeCloseTo(870 / 900 / 3 + 400 / 600 / 2);
    expect(by.p?.secondsPerSecond).toBeCloseTo(870 / 900 / 3 + 400 / 600 / 2);
  });

  it('weighs a later index against what the earlier ones left, halved or not', async () => {
    // A takes s from 1000 to 600 (not half: it serves nothing there); B then takes it to 450, not half of 600.
    const base = { s: 1000, other: 100 };
    const chosen = await chooseIndexes(
      [
        { id: 's', cost: 1000, secondsPerSecond: 1 },
        { id: 'other', cost: 100, secondsPerSecond: 1 },
      ],
      [candidate('A'), candidate('B')],
      planner(base, { A: { s: 600, other: 10 }, B: { s: 800 }, 'A+B': { s: 450, other: 10 } }),
    );
    expect(chosen.map((c) => c.key)).toEqual(['A']);
  });

  it('breaks a tie by fewer columns, then size, then index bytes written', async () => {
    const base = { s1: 100 };
    const statements = [{ id: 's1', cost: 100, secondsPerSecond: 1 }];
    const same = { s1: 10 };
    const first = async (candidates: IndexCandidate[]) =>
      (
        await chooseIndexes(
          statements,
          candidates,
          planner(base, Object.fromEntries(candidates.map((c) => [c.key, same]))),
        )
      )[0]?.key;
    expect(await first([candidate('wide', 2), candidate('narrow', 1)])).toBe('narrow');
    expect(await first([candidate('big', 1, 2000), candidate('small', 1, 1000)])).toBe('small');
    expect(await first([candidate('busy', 1, 1000, 500), candidate('quiet', 1, 1000, 5)])).toBe('quiet');
  });
});
