/**
 * What to change for a trace finding, concretely, and how to know it worked. Pure: recommendations read the
 * finding's evidence and nothing else, like `../recommend.ts` does for the metric findings.
 */
import type { Recommendation } from '../types.ts';
import type { TraceFinding, TraceFindingDraft } from './types.ts';

export function withTraceRecommendations(draft: TraceFindingDraft): TraceFinding {
  return { ...draft, recommendations: recommendTrace(draft) };
}

/** At least one recommendation for every kind; the first is the one to start with. */
export function recommendTrace(finding: TraceFindingDraft): Recommendation[] {
  switch (finding.kind) {
    case 'n-plus-one':
      return nPlusOne(finding);
    case 'parallelizable-queries':
      return parallelizable(finding);
    case 'time-breakdown':
      return timeBreakdown(finding);
  }
}

function num(f: TraceFindingDraft, key: string): number {
  const v = f.evidence.values[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function str(f: TraceFindingDraft, key: string): string {
  const v = f.evidence.values[key];
  return typeof v === 'string' ? v : '';
}

function ms(value: number): string {
  return value >= 10 ? `${Math.round(value)} ms` : `${Number(value.toPrecision(2))} ms`;
}

function traceQl(f: TraceFindingDraft): string {
  const q = f.evidence.queries.find((x) => x.language === 'traceql');
  return q === undefined ? '' : ` (TraceQL: ${q.text})`;
}

// ---------------------------------------------------------------------------------------------------------------
// N+1

const IDENT = String.raw`(?:"[^"]+"|[A-Za-z_][\w$]*)`;
const QUALIFIED = String.raw`(?:${IDENT}\.)?${IDENT}`;

export interface BatchedStatement {
  readonly table: string;
  /** The key column as the statement spells it (`o.customer_id`). */
  readonly column: string;
  /** The placeholder that takes the array of keys (`$1`). */
  readonly parameter: string;
  readonly statement: string;
}

/**
 * The one-round-trip form of a per-item `SELECT … WHERE key = $1`: `WHERE key = ANY($1)`, with the key
 * column selected so rows can be matched to items and a `LIMIT 1` dropped. Null when the statement is not a
 * `SELECT` with such an equality (then the recommendation describes the shape instead).
 */
export function batchedStatement(sql: string): BatchedStatement | null {
  const one = sql.replace(/\s+/g, ' ').trim().replace(/;$/, '');
  if (!/^select\b/i.test(one)) return null;
  const from = new RegExp(String.raw`\bfrom\s+(${QUALIFIED})`, 'i').exec(one);
  const where = /\bwhere\b/i.exec(one);
  if (from === null || where === null) return null;
  const condition = new RegExp(
    String.raw`(${QUALIFIED})\s*=\s*(\$\d+|'(?:[^']|'')*'|-?\d+(?:\.\d+)?)(?![\w.])`,
    'i',
  );
  const tail = one.slice(where.index);
  const match = condition.exec(tail);
  if (match === null) return null;
  const [whole, column = '', value = ''] = match;
  let parameter = value;
  if (!value.startsWith('$')) {
    // A literal the driver inlined: the array becomes the next free placeholder.
    const used = [...one.matchAll(/\$(\d+)/g)].map((m) => Number(m[1]));
    parameter = `$${Math.max(0, ...used) + 1}`;
  }
  let rewritten = `${one.slice(0, where.index)}${tail.slice(0, match.index)}${column} = ANY(${parameter})${tail.slice(match.index + whole.length)}`;
  rewritten = rewritten.replace(/\s+limit\s+1$/i, '');
  const list = /^select\s+(?:distinct\s+)?(.*?)\s+from\s/i.exec(rewritten);
  const bare = column.split('.').pop()?.replaceAll('"', '') ?? column;
  if (
    list?.[1] !== undefined &&
    !/(^|[\s,.])\*($|[\s,])/.test(list[1]) &&
    !new RegExp(String.raw`\b${bare}\b`).test(list[1])
  ) {
    rewritten = rewritten.replace(/^select\s+(distinct\s+)?/i, (m) => `${m}${column}, `);
  }
  return { table: from[1] ?? '', column, parameter, statement: rewritten };
}

function nPlusOne(f: TraceFindingDraft): Recommendation[] {
  const statement = str(f, 'statement');
  const count = num(f, 'count_per_request_median');
  const avoidable = num(f, 'avoidable_ms_mean');
  const route = str(f, 'route');
  const verify =
    `Re-run the load; in the traces of ${route} the spans of this statement drop from ${count} to 1 per request` +
    `${traceQl(f)}, and the route's p95 drops by about ${ms(avoidable)}`;
  const batched = batchedStatement(statement);
  const artifact =
    batched === null
      ? `-- Now, once per item:\n${statement}\n` +
        '-- Instead: fetch all items in one statement, either by key (WHERE <key> = ANY($1) with an array of keys)\n' +
        '-- or by joining this table into the query that produced the list of items.'
      : `-- Now, once per item (${count} times per request):\n--   ${statement.replace(/\s+/g, ' ')}\n` +
        `-- Once per request, with every key in one array parameter (${batched.parameter}):\n${batched.statement};\n` +
        `-- Node (pg): const { rows } = await pool.query(sql, [keys]); then match rows to items by ${batched.column}.`;
  const table = batched === null ? 'the table' : batched.table;
  const loaderKey = batched === null ? 'key' : (batched.column.split('.').pop() ?? 'key').replaceAll('"', '');
  const loader =
    "import DataLoader from 'dataloader';\n\n" +
    '// One loader per request: keys asked for in the same tick are loaded with one query.\n' +
    'const loader = new DataLoader(async (keys: readonly unknown[]) => {\n' +
    `  const { rows } = await pool.query(${JSON.stringify(batched?.statement ?? 'SELECT … WHERE key = ANY($1)')}, [keys]);\n` +
    `  const byKey = new Map(rows.map((r) => [r.${loaderKey}, r]));\n` +
    `  return keys.map((k) => byKey.get(k) ?? null);\n` +
    '});\n' +
    '// Where the loop queried one item: await loader.load(key)';
  return [
    {
      action: `Fetch the items of ${route} from ${table} with one query instead of one query per item`,
      artifact,
      expectedGain: `About ${ms(avoidable)} less per request: ${count} round trips become one`,
      confidence: batched === null ? 'medium' : 'high',
      verify,
    },
    {
      action:
        'Where the per-item lookups happen deep in the code (resolvers, per-item helpers), batch them with a DataLoader-style loader instead of restructuring the loop',
      artifact: loader,
      expectedGain: `The same ${ms(avoidable)} per request, without changing the callers`,
      confidence: 'medium',
      verify,
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Parallelizable

function parallelizable(f: TraceFindingDraft): Recommendation[] {
  const statements = str(f, 'statements')
    .split('\n')
    .filter((s) => s !== '');
  const saved = num(f, 'saved_ms_mean');
  const route = str(f, 'route');
  const names = statements.length > 0 ? statements : ['first call', 'second call'];
  const calls = names.map(
    (s) => `  ${s.startsWith('HTTP ') ? `fetch(/* ${s} */)` : `pool.query(${JSON.stringify(s)})`},`,
  );
  const vars = names.map((_, i) => `r${i + 1}`).join(', ');
  return [
    {
      action: `Run the independent calls of ${route} concurrently instead of one after the other`,
      artifact:
        '// Each await now waits for the previous call although none uses its result.\n' +
        '// A pg.Pool runs them on separate connections; a single pg.Client would still queue them.\n' +
        `const [${vars}] = await Promise.all([\n${calls.join('\n')}\n]);`,
      expectedGain: `About ${ms(saved)} less per request: the calls take as long as the longest one, not their sum`,
      confidence: 'medium',
      verify:
        `Re-run the load; in the traces of ${route} these spans overlap instead of following each other` +
        `${traceQl(f)}, and the route's p95 drops by about ${ms(saved)}. If one call does use another's result, ` +
        'keep that pair sequential and run the rest concurrently',
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Time breakdown

function timeBreakdown(f: TraceFindingDraft): Recommendation[] {
  const route = str(f, 'route');
  const db = num(f, 'db_share');
  const http = num(f, 'http_share');
  const own = num(f, 'own_share');
  const top = str(f, 'top_statement');
  const topShare = num(f, 'top_statement_share');
  const meanMs = num(f, 'mean_ms');
  const pct = (x: number) => `${Math.round(x * 100)} %`;
  const out: Recommendation[] = [];
  if (top !== '' && topShare > 0 && db >= http && db >= own) {
    out.push({
      action: `Start with the statement that holds ${pct(topShare)} of ${route}: run EXPLAIN on it and look for a sequential scan, a sort or a join that an index would avoid`,
      artifact: `-- PostgreSQL 16+; on older servers put real values in place of $1, $2…\nEXPLAIN (GENERIC_PLAN) ${top.trim().replace(/;\s*$/, '')};`,
      expectedGain: `Up to ${ms(meanMs * topShare)} of the route's ${ms(meanMs)} mean`,
      confidence: 'high',
      verify: `The statement's share of ${route} falls in the next analysis${traceQl(f)}`,
    });
  }
  if (http > db && http >= own) {
    out.push({
      action: `Most of ${route} waits on outbound HTTP calls: cache their answers, run independent calls concurrently, or set a timeout below the route's objective`,
      expectedGain: `Up to ${ms(meanMs * http)} of the route's ${ms(meanMs)} mean`,
      confidence: 'medium',
      verify: `The outbound HTTP share of ${route} falls in the next analysis${traceQl(f)}`,
    });
  }
  if (own > db && own > http) {
    out.push({
      action: `Most of ${route} is the service's own code: record a CPU profile under load and look for the widest frames under the route's handler`,
      artifact:
        '# Record a CPU profile under load; open the .cpuprofile in Chrome DevTools (Performance) or speedscope.\n' +
        'node --cpu-prof --cpu-prof-dir=./profiles <your entry point>',
      expectedGain: `Up to ${ms(meanMs * own)} of the route's ${ms(meanMs)} mean`,
      confidence: 'medium',
      verify: `The own-code share of ${route} falls in the next analysis${traceQl(f)}`,
    });
  }
  if (out.length === 0) {
    out.push({
      action: `Open the slowest traces of ${route} to see which span holds the time`,
      expectedGain: 'Names where the time goes, which decides the fix',
      confidence: 'low',
      verify: `The route's mean duration falls${traceQl(f)}`,
    });
  }
  return out;
}
