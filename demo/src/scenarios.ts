/**
 * The switchable bottlenecks. Each has one known finding a good analyzer must report (demo/README.md), which
 * makes the analyzer's precision and recall measurable. All off is the healthy shop.
 */

export const SCENARIOS = {
  'n-plus-one': 'GET /api/categories/:category/products loads sales per product in a loop, one query each',
  'missing-index': 'the index on orders(customer_id) is dropped: customer order lookups scan the whole table',
  'slow-endpoint': 'GET /api/products/:id/recommendations scores every product in JavaScript (CPU, yields)',
  'event-loop-block': 'POST /api/orders derives a fraud-check key with synchronous PBKDF2, blocking the loop',
  'memory-leak': 'GET /api/products/:id caches a rendered copy per request in a map that is never evicted',
  'error-burst': 'POST /api/orders fails 40 % of checkouts with a 502 from the payment provider',
  'pool-exhaustion': 'GET /api/products/:id/stock holds its pooled connection across a slow warehouse call',
  'parallelizable-queries': 'GET /api/stats runs five independent report queries one after another',
  'heavy-asset': 'GET / loads a 1.5 MB uncompressed, render-blocking script in <head>',
  'slow-lcp': 'GET / shows a hero image (the LCP element) that the server sends after 3 s',
} as const;

export type ScenarioName = keyof typeof SCENARIOS;
export const SCENARIO_NAMES = Object.keys(SCENARIOS) as ScenarioName[];

export function isScenarioName(name: string): name is ScenarioName {
  return Object.hasOwn(SCENARIOS, name);
}

/** Parses `DEMO_SCENARIOS=a,b`; unknown names are errors listed all at once. */
export function parseScenarioList(raw: string | undefined): { names: ScenarioName[]; unknown: string[] } {
  const names: ScenarioName[] = [];
  const unknown: string[] = [];
  for (const item of (raw ?? '').split(',')) {
    const name = item.trim();
    if (name === '' || name === 'none' || name === 'healthy') continue;
    if (isScenarioName(name)) {
      if (!names.includes(name)) names.push(name);
    } else unknown.push(name);
  }
  return { names, unknown };
}

/** Side effects of switching a scenario, e.g. dropping an index. Runs before the switch takes effect. */
export type ScenarioHook = (on: boolean) => Promise<void>;

export class Scenarios {
  readonly #on = new Set<ScenarioName>();
  readonly #hooks: Partial<Record<ScenarioName, ScenarioHook>>;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(hooks: Partial<Record<ScenarioName, ScenarioHook>> = {}) {
    this.#hooks = hooks;
  }

  isOn(name: ScenarioName): boolean {
    return this.#on.has(name);
  }

  list(): { name: ScenarioName; on: boolean; description: string }[] {
    return SCENARIO_NAMES.map((name) => ({ name, on: this.#on.has(name), description: SCENARIOS[name] }));
  }

  /** Switches one scenario; switches are serialised so two requests never run a hook concurrently. */
  set(name: ScenarioName, on: boolean): Promise<void> {
    const run = async () => {
      if (this.#on.has(name) === on) return;
      await this.#hooks[name]?.(on);
      if (on) this.#on.add(name);
      else this.#on.delete(name);
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Makes exactly `names` on, everything else off. */
  async setExactly(names: readonly ScenarioName[]): Promise<void> {
    for (const name of SCENARIO_NAMES) await this.set(name, names.includes(name));
  }
}
