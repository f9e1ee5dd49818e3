/**
 * The one-round-trip form of an N+1's per-item statement, rewritten on its syntax tree: libpg-query parses the
 * statement, the key comparison and the clauses that make it per-item are edited in the tree, and the tree is
 * printed back to SQL. libpg-query 18 ships no deparser (its README points to pgsql-deparser, which the analyzer
 * does not depend on), so the printer below covers the part of the SELECT grammar that per-item lookups use and
 * refuses the rest. Every printed statement is parsed again and must give back the edited tree: a gap in the
 * printer yields null, never a statement that says something else.
 *
 * The rewrite is pure. `plannable`, re-exported from `./explain-check.ts` (the I/O half), asks PostgreSQL
 * whether a result plans.
 */
import {
  type A_Const,
  type A_Expr,
  type ColumnRef,
  type FuncCall,
  type JoinExpr,
  type Node,
  parse,
  type RangeVar,
  type ResTarget,
  type ScanToken,
  type SelectStmt,
  type SortBy,
  scan,
  scanSync,
  type TypeName,
} from 'libpg-query';

// The I/O half lives in its own module; callers that rewrite then check import both from here.
export { type PlanCheck, plannable } from './explain-check.ts';

/** One statement for all items of an N+1, with what changed and what the caller must do with its rows. */
export interface BatchedStatement {
  /**
   * The table the key column belongs to, as written (schema-qualified if it was). For an unqualified key in a
   * join, the first table of FROM: the column may belong to another one.
   */
  readonly table: string;
  /** The key column as the statement spells it (`o.customer_id`). */
  readonly keyColumn: string;
  /** The placeholder that takes the array of keys (`$1`). */
  readonly parameter: string;
  /** The batched statement, printed from the edited syntax tree. */
  readonly statement: string;
  /**
   * How per-item semantics were kept: `any` matches rows to items by the key column (also when `LIMIT 1`
   * became `DISTINCT ON (key)`), `group-by` groups aggregates per key, `lateral` runs a per-item top-n once per
   * key inside `CROSS JOIN LATERAL`.
   */
  readonly shape: 'any' | 'group-by' | 'lateral';
  /** One short sentence per edit: what the person must know to use the statement. */
  readonly notes: readonly string[];
}

/**
 * The batched form of a per-item `SELECT … WHERE key = $1` (or `= 42`, `= 'abc'`, an ORM's `key IN ($1, …)`):
 * `key = ANY($n)`, with the key selected, aggregates grouped by it, a per-item `LIMIT 1` turned into
 * `DISTINCT ON (key)` and any other per-item limit kept per key with `CROSS JOIN LATERAL`. Null for anything
 * else — writes, CTEs, set operations, windows, row locks, a key placeholder used twice, a construct the
 * printer does not know — rather than a statement that would answer a different question.
 */
export async function batchedStatement(sql: string): Promise<BatchedStatement | null> {
  let stmt: Node | undefined;
  let tokens: ScanToken[];
  try {
    const tree = await parse(sql);
    if (tree.stmts?.length !== 1) return null;
    stmt = tree.stmts[0]?.stmt;
    tokens = (await scan(sql)).tokens;
  } catch {
    return null; // not one PostgreSQL statement: nothing to rewrite
  }
  if (stmt === undefined || !('SelectStmt' in stmt)) return null;
  try {
    const rewritten = rewrite(stmt.SelectStmt, (location) => spelling(tokens, location));
    if (rewritten === null) return null;
    const statement = printSelect(rewritten.select);
    if (!(await printsAs(statement, rewritten.select))) return null;
    const { select: _, ...rest } = rewritten;
    return { ...rest, statement };
  } catch (error) {
    if (error instanceof Unsupported) return null;
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The rewrite

interface Rewritten extends Omit<BatchedStatement, 'statement'> {
  readonly select: SelectStmt;
}

/** A `<column> = <value>` or `<column> IN (<values>)` conjunct of the top-level WHERE. */
interface KeyComparison {
  readonly index: number;
  readonly column: ColumnRef;
  readonly names: readonly string[];
  readonly form: 'equals' | 'in';
  /** The placeholders compared with the column (empty for inlined literals). */
  readonly params: readonly number[];
  /** The inlined literals compared with the column (empty for placeholders). */
  readonly literals: readonly A_Const[];
  /** `= $1::int`: the array placeholder keeps the type, as `int[]`. */
  readonly cast: TypeName | undefined;
}

interface Relation {
  /** The name the statement refers to it by: its alias, else its table name. */
  readonly name: string;
  readonly rangeVar: RangeVar | undefined;
  readonly location: number | undefined;
}

const ANY_SOURCE = 'batch_keys';
const PER_KEY = 'per_key';

function rewrite(
  original: SelectStmt,
  spell: (location: number | undefined) => string | undefined,
): Rewritten | null {
  const select = structuredClone(original);
  if ((select.op ?? 'SETOP_NONE') !== 'SETOP_NONE') return null;
  if (select.withClause !== undefined || select.intoClause !== undefined) return null;
  if (nonEmpty(select.lockingClause) || nonEmpty(select.valuesLists) || nonEmpty(select.windowClause))
    return null;
  if (!nonEmpty(select.fromClause) || select.whereClause === undefined) return null;
  if (hasWindow(select)) return null; // a window per item would span every item once batched

  const where = select.whereClause;
  const conjuncts =
    'BoolExpr' in where && where.BoolExpr.boolop === 'AND_EXPR' ? (where.BoolExpr.args ?? []) : [where];
  const candidates = keyCandidates(conjuncts.flatMap((c, index) => keyComparison(c, index) ?? []));
  const key = candidates[0];
  if (key === undefined) return null;

  const notes: string[] = [];
  const keyName = key.names.at(-1) ?? '';
  const keySpelling = spell(key.column.location) ?? printColumnRef(key.column);
  if (candidates.length > 1) {
    const others = candidates
      .filter((c) => c !== key)
      .map((c) => spell(c.column.location) ?? c.names.join('.'));
    notes.push(
      `${keySpelling} is taken as the per-item key (${others.join(', ')} ${others.length > 1 ? 'are' : 'is'} assumed the same for every item)`,
    );
  }

  // Placeholders: the key's must occur once (another use would now get the array too); an IN list's other
  // placeholders disappear, and the ones after it move down so the numbering has no gap (PostgreSQL cannot
  // infer the type of a placeholder the statement does not use).
  const used = paramNumbers(select);
  if (key.params.some((n) => used.filter((u) => u === n).length !== 1)) return null;
  let parameter: number;
  if (key.params.length === 0) {
    parameter = Math.max(0, ...used) + 1;
  } else {
    const kept = Math.min(...key.params);
    const removed = key.params.filter((n) => n !== kept);
    const moved = renumber(select, removed);
    parameter = kept - removed.filter((n) => n < kept).length;
    if (moved.length > 0) notes.push(`the placeholders after the IN list move down: ${moved.join(', ')}`);
  }

  const any = anyComparison(key, parameter);
  const replaceKey = (select: SelectStmt, replacement: Node) => {
    const w = select.whereClause;
    if (
      w !== undefined &&
      'BoolExpr' in w &&
      w.BoolExpr.boolop === 'AND_EXPR' &&
      w.BoolExpr.args !== undefined
    ) {
      w.BoolExpr.args[key.index] = replacement;
    } else {
      select.whereClause = replacement;
    }
  };
  replaceKey(select, any);
  if (key.literals.length > 0 && sharesLiteral(select, key.literals)) return null;

  if (key.form === 'in') {
    notes.push(
      `${keySpelling} IN (…) is now ${keySpelling} = ANY($${parameter}): pass one array with the keys of all parent rows`,
    );
  } else if (key.params.length === 0) {
    const literal = key.literals.map((l) => printConst(l)).join(', ');
    notes.push(
      `the inlined key ${literal} is now the array placeholder $${parameter}: pass one array with every item's key`,
    );
  } else {
    notes.push(
      `${keySpelling} = $${key.params[0]} is now ${keySpelling} = ANY($${parameter}): pass one array with every item's key`,
    );
  }

  const rels = relations(select.fromClause ?? []);
  const relation = resolve(key.names, rels);
  if (relation === null) return null; // a qualifier that names no FROM item: not a statement PostgreSQL runs
  const table = tableSpelling(relation ?? rels.find((r) => r.rangeVar !== undefined), spell);

  const distinct = select.distinctClause ?? [];
  const plainDistinct = distinct.length === 1 && isEmpty(distinct[0]);
  const aggregated = hasAggregate(select);
  const grouped = nonEmpty(select.groupClause);
  const count = intConst(select.limitCount);
  const limited =
    (select.limitCount !== undefined && !isNullConst(select.limitCount)) || select.limitOffset !== undefined;
  const countOnly = select.limitOffset === undefined && select.limitOption === 'LIMIT_OPTION_COUNT';

  // A per-item LIMIT must not become a global one. LIMIT 1 per item (findOne, .first()) becomes DISTINCT ON
  // (key) ORDER BY key, <the original order>: per key the row the per-item statement picked, in one scan and
  // without knowing the key's type. Any other LIMIT/OFFSET/FETCH … WITH TIES is a top-n per item and runs inside
  // CROSS JOIN LATERAL, once per key. An aggregate without GROUP BY returns one row per item, so its LIMIT
  // n ≥ 1 is a no-op and is dropped.
  let mode: 'inline' | 'drop-limit' | 'distinct-on' | 'lateral' = 'inline';
  if (limited) {
    if (aggregated && !grouped && countOnly && count !== undefined && count >= 1) mode = 'drop-limit';
    else if (countOnly && count === 1 && distinct.length === 0) mode = 'distinct-on';
    else mode = 'lateral';
  }
  const shape: BatchedStatement['shape'] =
    mode === 'lateral' ? 'lateral' : aggregated || grouped ? 'group-by' : 'any';
  const base = { table, keyColumn: keySpelling, parameter: `$${parameter}`, shape };

  if (mode === 'lateral') {
    return lateral(original, select, key, any, relation, keyName, replaceKey, notes, base);
  }

  if (mode === 'drop-limit') {
    notes.push(`LIMIT ${count} is dropped: the aggregate returns one row per key with GROUP BY ${keyName}`);
    delete select.limitCount;
    select.limitOption = 'LIMIT_OPTION_DEFAULT';
  }

  const matchBy = selectKey(select, key, rels, notes);
  if (aggregated || grouped) {
    if (!(select.groupClause ?? []).some((g) => sameColumn(g, key.names))) {
      select.groupClause = [columnNode(key.column), ...(select.groupClause ?? [])];
      notes.push(
        grouped
          ? `GROUP BY now starts with ${keyName}, so groups are per item`
          : `GROUP BY ${keyName} gives one row per key, but keys with no rows come back missing (the per-item statement returned one row for them, count 0): fill those in in the caller`,
      );
    }
  }
  if (mode === 'distinct-on') {
    select.distinctClause = [columnNode(key.column)];
    select.sortClause = prefixed(select.sortClause, key.names, key.column);
    delete select.limitCount;
    select.limitOption = 'LIMIT_OPTION_DEFAULT';
    notes.push(
      `LIMIT 1 is now DISTINCT ON (${keyName}) with ORDER BY starting with ${keyName}: still at most one row per item, the first in the per-item statement's order`,
    );
    notes.push(`rows come back in key order: match them to items by ${matchBy}`);
    return { ...base, select, notes };
  }
  if (distinct.length > 0 && !plainDistinct && !sameColumn(distinct[0], key.names)) {
    select.distinctClause = [columnNode(key.column), ...distinct];
    notes.push(`DISTINCT ON now starts with ${keyName}, so rows are distinct per item`);
  }
  if (nonEmpty(select.sortClause)) {
    const sorted = select.sortClause;
    select.sortClause = prefixed(sorted, key.names, key.column);
    notes.push(
      select.sortClause === sorted
        ? `rows come back ordered by ${keyName} first: match them to items by ${matchBy}`
        : `ORDER BY now starts with ${keyName}, so each item's rows come back together in the original order: match them to items by ${matchBy}`,
    );
  } else {
    notes.push(`rows come back in any order: match them to items by ${matchBy}`);
  }
  return { ...base, select, notes };
}

/**
 * `SELECT [batch_keys.key,] per_key.* FROM (SELECT DISTINCT key FROM <its table> WHERE key = ANY($1)) AS
 * batch_keys CROSS JOIN LATERAL (<the per-item statement with key = batch_keys.key>) AS per_key`. The keys come
 * from the key's table rather than `unnest($1)`: PostgreSQL cannot infer the type of `$1` for unnest ("function
 * unnest(unknown) is not unique") and the column's type is not in the statement, while `= ANY($1)` infers
 * `<column type>[]` as the per-item `= $1` did. The cost is one index probe per key on top of the lateral's.
 */
function lateral(
  original: SelectStmt,
  inner: SelectStmt,
  key: KeyComparison,
  any: Node,
  relation: Relation | undefined,
  keyName: string,
  replaceKey: (select: SelectStmt, replacement: Node) => void,
  notes: string[],
  base: Omit<Rewritten, 'select' | 'notes'>,
): Rewritten | null {
  // The keys' table must be a table the key column certainly belongs to.
  if (relation?.rangeVar === undefined) return null;
  // Names the inner statement may already use: a `batch_keys` of its own would capture the outer reference.
  const taken = new Set<string>();
  walk(original, (node) => {
    if ('RangeVar' in node) taken.add(node.RangeVar.relname ?? '').add(node.RangeVar.alias?.aliasname ?? '');
    if ('RangeSubselect' in node) taken.add(node.RangeSubselect.alias?.aliasname ?? '');
    if ('RangeFunction' in node) taken.add(node.RangeFunction.alias?.aliasname ?? '');
    return true;
  });
  const source = unused(ANY_SOURCE, taken);
  const perKey = unused(PER_KEY, taken);

  replaceKey(inner, {
    A_Expr: {
      kind: 'AEXPR_OP',
      name: [{ String: { sval: '=' } }],
      lexpr: columnNode(key.column),
      rexpr: { ColumnRef: { fields: [{ String: { sval: source } }, { String: { sval: keyName } }] } },
    },
  });
  const keys: SelectStmt = {
    // Plain DISTINCT is a list holding one empty node in the parse tree.
    distinctClause: [{} as Node],
    targetList: [{ ResTarget: { val: columnNode(key.column) } }],
    fromClause: [{ RangeVar: structuredClone(relation.rangeVar) }],
    whereClause: any,
    limitOption: 'LIMIT_OPTION_DEFAULT',
    op: 'SETOP_NONE',
  };
  const star: Node = {
    ResTarget: { val: { ColumnRef: { fields: [{ String: { sval: perKey } }, { A_Star: {} }] } } },
  };
  const output = keyOutput(inner.targetList ?? [], key.names, relations(inner.fromClause ?? []));
  const keyTarget: Node = {
    ResTarget: {
      val: { ColumnRef: { fields: [{ String: { sval: source } }, { String: { sval: keyName } }] } },
    },
  };
  const join: JoinExpr = {
    jointype: 'JOIN_INNER',
    larg: { RangeSubselect: { subquery: { SelectStmt: keys }, alias: { aliasname: source } } },
    rarg: {
      RangeSubselect: { lateral: true, subquery: { SelectStmt: inner }, alias: { aliasname: perKey } },
    },
  };
  const select: SelectStmt = {
    targetList: output === undefined ? [keyTarget, star] : [star],
    fromClause: [{ JoinExpr: join }],
    limitOption: 'LIMIT_OPTION_DEFAULT',
    op: 'SETOP_NONE',
  };
  const limit = printLimit(inner).trim();
  notes.push(
    `${limit} stays per item: the per-item statement runs once per key inside CROSS JOIN LATERAL, for the distinct keys of ${base.table} that are in the array`,
  );
  if (output === undefined) notes.push(`${source}.${keyName} is selected so rows can be matched to items`);
  notes.push(
    `keys with no rows come back missing and rows are not ordered across items: match them to items by ${output ?? keyName}`,
  );
  return { ...base, select, notes };
}

function keyComparison(node: Node, index: number): KeyComparison | undefined {
  if (!('A_Expr' in node)) return undefined;
  const e = node.A_Expr;
  if (operatorName(e) !== '=') return undefined;
  if (e.kind === 'AEXPR_OP') {
    const [columnSide, valueSide] =
      e.lexpr !== undefined && 'ColumnRef' in e.lexpr ? [e.lexpr, e.rexpr] : [e.rexpr, e.lexpr];
    const column = columnSide !== undefined && 'ColumnRef' in columnSide ? columnSide.ColumnRef : undefined;
    const names = column === undefined ? undefined : columnNames(column);
    if (column === undefined || names === undefined || valueSide === undefined) return undefined;
    let value = valueSide;
    let cast: TypeName | undefined;
    if ('TypeCast' in value && value.TypeCast.arg !== undefined) {
      cast = value.TypeCast.typeName;
      if (cast === undefined || nonEmpty(cast.arrayBounds) || cast.setof === true) return undefined;
      value = value.TypeCast.arg;
    }
    if ('ParamRef' in value)
      return {
        index,
        column,
        names,
        form: 'equals',
        params: [paramNumber(value.ParamRef)],
        literals: [],
        cast,
      };
    if ('A_Const' in value && keyLiteral(value.A_Const)) {
      return { index, column, names, form: 'equals', params: [], literals: [value.A_Const], cast };
    }
    return undefined;
  }
  if (
    e.kind === 'AEXPR_IN' &&
    e.lexpr !== undefined &&
    'ColumnRef' in e.lexpr &&
    e.rexpr !== undefined &&
    'List' in e.rexpr
  ) {
    const column = e.lexpr.ColumnRef;
    const names = columnNames(column);
    const items = e.rexpr.List.items ?? [];
    if (names === undefined || items.length === 0) return undefined;
    const params = items.flatMap((i) => ('ParamRef' in i ? [paramNumber(i.ParamRef)] : []));
    const literals = items.flatMap((i) => ('A_Const' in i && keyLiteral(i.A_Const) ? [i.A_Const] : []));
    if (params.length === items.length)
      return { index, column, names, form: 'in', params, literals: [], cast: undefined };
    if (literals.length === items.length)
      return { index, column, names, form: 'in', params: [], literals, cast: undefined };
  }
  return undefined;
}

const ID_LIKE = /^(id|uuid|key)$|(_id|_uuid|_key|Id|ID)$/;

/**
 * The comparisons that may be the per-item key, most likely first. With placeholders present, an inlined
 * constant is part of the code (`status = 'paid'`), not the item; among several, id-like columns come first.
 */
function keyCandidates(all: readonly KeyComparison[]): KeyComparison[] {
  const bound = all.filter((c) => c.params.length > 0);
  const pool = bound.length > 0 ? bound : [...all];
  const idLike = (c: KeyComparison) => ID_LIKE.test(c.names.at(-1) ?? '');
  return [...pool.filter(idLike), ...pool.filter((c) => !idLike(c))];
}

/** A constant that can be one item's key: not NULL, not a boolean (`active = true` filters, it does not key). */
function keyLiteral(c: A_Const): boolean {
  return c.isnull !== true && c.boolval === undefined;
}

/** `column = ANY($n)`, `column = ANY($n::type[])` when the per-item statement cast its value. */
function anyComparison(key: KeyComparison, parameter: number): Node {
  const param: Node = { ParamRef: { number: parameter } };
  const rexpr: Node =
    key.cast === undefined
      ? param
      : { TypeCast: { arg: param, typeName: { ...key.cast, arrayBounds: [{ Integer: { ival: -1 } }] } } };
  return {
    A_Expr: { kind: 'AEXPR_OP_ANY', name: [{ String: { sval: '=' } }], lexpr: columnNode(key.column), rexpr },
  };
}

/**
 * Adds the key column to the select list unless it is there (itself, or through `*` / `t.*`), shifting `ORDER
 * BY 1`-style positions; returns the name rows carry it under.
 */
function selectKey(
  select: SelectStmt,
  key: KeyComparison,
  rels: readonly Relation[],
  notes: string[],
): string {
  const targets = select.targetList ?? [];
  const output = keyOutput(targets, key.names, rels);
  if (output !== undefined) return output;
  const name = key.names.at(-1) ?? '';
  select.targetList = [{ ResTarget: { val: columnNode(key.column) } }, ...targets];
  for (const list of [select.sortClause, select.groupClause, select.distinctClause]) {
    for (const item of list ?? []) {
      const node = 'SortBy' in item ? item.SortBy.node : item;
      if (node !== undefined && 'A_Const' in node && node.A_Const.ival !== undefined) {
        node.A_Const.ival = { ival: (node.A_Const.ival.ival ?? 0) + 1 };
      }
    }
  }
  notes.push(`${name} is added to the select list so rows can be matched to items`);
  return name;
}

/** The output name of the key column in `targets`, or undefined when it is not selected. */
function keyOutput(
  targets: readonly Node[],
  names: readonly string[],
  rels: readonly Relation[],
): string | undefined {
  const last = names.at(-1) ?? '';
  for (const t of targets) {
    if (!('ResTarget' in t) || t.ResTarget.val === undefined || !('ColumnRef' in t.ResTarget.val)) continue;
    const fields = t.ResTarget.val.ColumnRef.fields ?? [];
    const star = fields.length > 0 && 'A_Star' in (fields.at(-1) as Node);
    const strings = fields.flatMap((f) => ('String' in f ? [f.String.sval ?? ''] : []));
    if (star && strings.length === 0) return last;
    if (star) {
      const qualifier = strings.join('.');
      const keyQualifier = names.slice(0, -1).join('.');
      if (qualifier === keyQualifier) return last;
      if (names.length === 1 && rels.length === 1 && rels[0]?.name === qualifier) return last;
      continue;
    }
    if (strings.at(-1) !== last) continue;
    const sameQualifier =
      strings.length === 1 ||
      names.length === 1 ||
      strings.slice(0, -1).join('.') === names.slice(0, -1).join('.');
    if (sameQualifier) return t.ResTarget.name ?? last;
  }
  return undefined;
}

/** `sort` with the key first, or `sort` itself when it already starts with the key. */
function prefixed(sort: Node[] | undefined, names: readonly string[], column: ColumnRef): Node[] {
  const first = sort?.[0];
  if (
    sort !== undefined &&
    first !== undefined &&
    'SortBy' in first &&
    sameColumn(first.SortBy.node, names)
  ) {
    return sort;
  }
  const by: SortBy = {
    node: columnNode(column),
    sortby_dir: 'SORTBY_DEFAULT',
    sortby_nulls: 'SORTBY_NULLS_DEFAULT',
  };
  return [{ SortBy: by }, ...(sort ?? [])];
}

/** The FROM items a column qualifier can name, through joins but not into subqueries. */
function relations(from: readonly Node[]): Relation[] {
  const out: Relation[] = [];
  const visit = (node: Node | undefined) => {
    if (node === undefined) return;
    if ('RangeVar' in node) {
      const r = node.RangeVar;
      out.push({ name: r.alias?.aliasname ?? r.relname ?? '', rangeVar: r, location: r.location });
    } else if ('JoinExpr' in node) {
      if (node.JoinExpr.alias !== undefined) unsupported('an aliased join');
      visit(node.JoinExpr.larg);
      visit(node.JoinExpr.rarg);
    } else if ('RangeSubselect' in node) {
      out.push({
        name: node.RangeSubselect.alias?.aliasname ?? '',
        rangeVar: undefined,
        location: undefined,
      });
    } else if ('RangeFunction' in node) {
      out.push({ name: node.RangeFunction.alias?.aliasname ?? '', rangeVar: undefined, location: undefined });
    } else {
      unsupported('a FROM item');
    }
  };
  for (const item of from) visit(item);
  return out;
}

/**
 * The FROM item a key column belongs to; undefined when an unqualified column in a join leaves it open, null
 * when its qualifier names nothing in FROM.
 */
function resolve(names: readonly string[], rels: readonly Relation[]): Relation | undefined | null {
  if (names.length === 1) return rels.length === 1 ? rels[0] : undefined;
  if (names.length === 2) return rels.find((r) => r.name === names[0]) ?? null;
  if (names.length === 3) {
    return (
      rels.find(
        (r) =>
          r.rangeVar !== undefined &&
          r.rangeVar.alias === undefined &&
          r.rangeVar.schemaname === names[0] &&
          r.rangeVar.relname === names[1],
      ) ?? null
    );
  }
  return null;
}

function tableSpelling(
  relation: Relation | undefined,
  spell: (location: number | undefined) => string | undefined,
): string {
  if (relation === undefined) return '';
  const r = relation.rangeVar;
  if (r === undefined) return relation.name;
  return (
    spell(relation.location) ??
    [r.schemaname, r.relname]
      .filter((s) => s !== undefined)
      .map(ident)
      .join('.')
  );
}

/** The source text of the dotted name that starts at `location` (a byte offset, as the parser reports them). */
function spelling(tokens: readonly ScanToken[], location: number | undefined): string | undefined {
  if (location === undefined) return undefined;
  let i = tokens.findIndex((t) => t.start === location);
  if (i < 0) return undefined;
  let text = tokens[i]?.text ?? '';
  while (tokens[i + 1]?.text === '.' && tokens[i + 2] !== undefined && tokens[i + 2]?.text !== '*') {
    text += `.${tokens[i + 2]?.text}`;
    i += 2;
  }
  return text;
}

function hasAggregate(select: SelectStmt): boolean {
  let found = false;
  walk([select.targetList, select.havingClause, select.sortClause], (node) => {
    if ('SubLink' in node) return false; // a subquery's aggregate is its own
    if ('FuncCall' in node && isAggregate(node.FuncCall)) found = true;
    return !found;
  });
  return found;
}

function hasWindow(select: SelectStmt): boolean {
  let found = false;
  walk([select.targetList, select.havingClause, select.sortClause], (node) => {
    if ('SubLink' in node) return false;
    if ('FuncCall' in node && node.FuncCall.over !== undefined) found = true;
    return !found;
  });
  return found;
}

// The built-in aggregates; a user-defined one is taken for a plain function, and PostgreSQL then rejects the
// batched statement ("must appear in the GROUP BY clause"), which `plannable` reports.
const AGGREGATES = new Set(
  `
  any_value array_agg avg bit_and bit_or bit_xor bool_and bool_or corr count covar_pop covar_samp
  every json_agg json_agg_strict json_object_agg jsonb_agg jsonb_agg_strict jsonb_object_agg max min
  mode percentile_cont percentile_disc range_agg range_intersect_agg regr_avgx regr_avgy regr_count
  regr_intercept regr_r2 regr_slope regr_sxx regr_sxy regr_syy stddev stddev_pop stddev_samp
  string_agg sum var_pop var_samp variance xmlagg
`
    .trim()
    .split(/\s+/),
);

function isAggregate(f: FuncCall): boolean {
  if (
    f.agg_star ||
    f.agg_distinct ||
    f.agg_within_group ||
    nonEmpty(f.agg_order) ||
    f.agg_filter !== undefined
  ) {
    return true;
  }
  const names = (f.funcname ?? []).map((n) => ('String' in n ? (n.String.sval ?? '') : ''));
  const name = names.at(-1) ?? '';
  return (names.length === 1 || names[0] === 'pg_catalog') && AGGREGATES.has(name);
}

function paramNumbers(value: unknown): number[] {
  const out: number[] = [];
  walk(value, (node) => {
    if ('ParamRef' in node) out.push(paramNumber(node.ParamRef));
    return true;
  });
  return out;
}

/** Closes the gaps `removed` leaves; returns `$old → $new` for each placeholder that moved. */
function renumber(select: SelectStmt, removed: readonly number[]): string[] {
  const moved = new Map<number, number>();
  walk(select, (node) => {
    if ('ParamRef' in node) {
      const n = paramNumber(node.ParamRef);
      if (removed.includes(n)) return true;
      const shifted = n - removed.filter((r) => r < n).length;
      if (shifted !== n) moved.set(n, shifted);
      node.ParamRef.number = shifted;
    }
    return true;
  });
  return [...moved].sort(([a], [b]) => a - b).map(([from, to]) => `$${from} is now $${to}`);
}

/**
 * Whether another equality in the statement compares a column with one of the inlined keys: `c.id = 42 AND
 * o.customer_id = 42`, or a subquery's `WHERE customer_id = 42`, would stay fixed to one item once batched.
 * Only equalities count: `quantity > 1` next to key 1 is a filter, not the item.
 */
function sharesLiteral(select: SelectStmt, literals: readonly A_Const[]): boolean {
  const wanted = new Set(literals.map((l) => JSON.stringify(canonical(l))));
  const isKey = (node: Node | undefined): boolean => {
    if (node === undefined) return false;
    if ('TypeCast' in node) return isKey(node.TypeCast.arg);
    if ('List' in node) return (node.List.items ?? []).some(isKey);
    return 'A_Const' in node && wanted.has(JSON.stringify(canonical(node.A_Const)));
  };
  let found = false;
  walk(select, (node) => {
    if ('A_Expr' in node && operatorName(node.A_Expr) === '=') {
      const { kind, lexpr, rexpr } = node.A_Expr;
      if (kind === 'AEXPR_OP' || kind === 'AEXPR_IN') found ||= isKey(lexpr) || isKey(rexpr);
    }
    return !found;
  });
  return found;
}

function unused(name: string, taken: ReadonlySet<string>): string {
  let candidate = name;
  for (let i = 2; taken.has(candidate); i++) candidate = `${name}_${i}`;
  return candidate;
}

function columnNames(c: ColumnRef): string[] | undefined {
  const fields = c.fields ?? [];
  const names = fields.flatMap((f) => ('String' in f ? [f.String.sval ?? ''] : []));
  return names.length === fields.length && names.length > 0 ? names : undefined;
}

function sameColumn(node: Node | undefined, names: readonly string[]): boolean {
  if (node === undefined || !('ColumnRef' in node)) return false;
  const other = columnNames(node.ColumnRef);
  return other !== undefined && other.join('.') === names.join('.');
}

function columnNode(c: ColumnRef): Node {
  return { ColumnRef: structuredClone(c) };
}

function operatorName(e: A_Expr): string | undefined {
  const [only, ...rest] = e.name ?? [];
  return only !== undefined && rest.length === 0 && 'String' in only ? only.String.sval : undefined;
}

function paramNumber(p: { number?: number }): number {
  return p.number ?? 0;
}

function intConst(node: Node | undefined): number | undefined {
  if (node === undefined || !('A_Const' in node) || node.A_Const.ival === undefined) return undefined;
  return node.A_Const.ival.ival ?? 0;
}

function isNullConst(node: Node): boolean {
  return 'A_Const' in node && node.A_Const.isnull === true;
}

function isEmpty(node: Node | undefined): boolean {
  return node !== undefined && Object.keys(node).length === 0;
}

function nonEmpty<T>(list: readonly T[] | undefined): list is readonly T[] {
  return list !== undefined && list.length > 0;
}

/** Calls `visit` on every node under `value`, depth first; `visit` returns false to skip a node's children. */
function walk(value: unknown, visit: (node: Node) => boolean): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, visit);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value)) {
    // Node wrappers are the capitalised keys (`{ ColumnRef: {…} }`); fields are lower case.
    if (/^[A-Z]/.test(key) && visit({ [key]: child } as Node) === false) continue;
    walk(child, visit);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Printing the tree back to SQL

/** A construct the printer does not know: the rewrite gives up (null) rather than guess. */
class Unsupported extends Error {}

function unsupported(what: string): never {
  throw new Unsupported(`cannot print ${what}`);
}

/** Whether `sql` parses to exactly `select`, positions and protobuf's left-out defaults aside. */
async function printsAs(sql: string, select: SelectStmt): Promise<boolean> {
  const tree = await parse(sql);
  const stmt = tree.stmts?.length === 1 ? tree.stmts[0]?.stmt : undefined;
  if (stmt === undefined || !('SelectStmt' in stmt)) return false;
  return JSON.stringify(canonical(stmt.SelectStmt)) === JSON.stringify(canonical(select));
}

const POSITIONS = new Set([
  'location',
  'stmt_location',
  'stmt_len',
  'rexpr_list_start',
  'rexpr_list_end',
  'list_start',
  'list_end',
]);

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v: unknown = (value as Record<string, unknown>)[key];
    // The parser's JSON leaves out false, 0, '' and []; an edited node may spell them out.
    const absent =
      v === undefined || v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0);
    if (!POSITIONS.has(key) && !absent) out[key] = canonical(v);
  }
  return out;
}

function printSelect(s: SelectStmt): string {
  if ((s.op ?? 'SETOP_NONE') !== 'SETOP_NONE' || s.withClause !== undefined || s.intoClause !== undefined) {
    unsupported('a set operation, CTE or SELECT INTO');
  }
  if (nonEmpty(s.lockingClause) || nonEmpty(s.valuesLists) || nonEmpty(s.windowClause) || s.groupDistinct) {
    unsupported('a locking clause, VALUES, WINDOW or GROUP BY DISTINCT');
  }
  const parts = ['SELECT'];
  const distinct = s.distinctClause ?? [];
  if (distinct.length === 1 && isEmpty(distinct[0])) parts.push('DISTINCT');
  else if (distinct.length > 0) parts.push(`DISTINCT ON (${distinct.map(printExpr).join(', ')})`);
  if (nonEmpty(s.targetList)) parts.push(s.targetList.map(printTarget).join(', '));
  if (nonEmpty(s.fromClause)) parts.push(`FROM ${s.fromClause.map(printFromItem).join(', ')}`);
  if (s.whereClause !== undefined) parts.push(`WHERE ${printExpr(s.whereClause)}`);
  if (nonEmpty(s.groupClause)) parts.push(`GROUP BY ${s.groupClause.map(printExpr).join(', ')}`);
  if (s.havingClause !== undefined) parts.push(`HAVING ${printExpr(s.havingClause)}`);
  if (nonEmpty(s.sortClause)) parts.push(`ORDER BY ${s.sortClause.map(printSortBy).join(', ')}`);
  return parts.join(' ') + printLimit(s);
}

function printLimit(s: SelectStmt): string {
  let out = '';
  if (s.limitOption === 'LIMIT_OPTION_WITH_TIES') {
    if (s.limitOffset !== undefined) out += ` OFFSET ${printExpr(s.limitOffset)}`;
    if (s.limitCount === undefined) unsupported('WITH TIES without a count');
    return `${out} FETCH FIRST ${printOperand(s.limitCount)} ROWS WITH TIES`;
  }
  if (s.limitCount !== undefined) {
    out += ` LIMIT ${isNullConst(s.limitCount) ? 'ALL' : printExpr(s.limitCount)}`;
  }
  if (s.limitOffset !== undefined) out += ` OFFSET ${printExpr(s.limitOffset)}`;
  return out;
}

function printTarget(node: Node): string {
  if (!('ResTarget' in node)) return unsupported('a select-list item');
  const t: ResTarget = node.ResTarget;
  if (t.val === undefined || nonEmpty(t.indirection)) unsupported('a select-list item');
  return t.name === undefined ? printExpr(t.val) : `${printExpr(t.val)} AS ${ident(t.name)}`;
}

function printSortBy(node: Node): string {
  if (!('SortBy' in node)) return unsupported('an ORDER BY item');
  const s = node.SortBy;
  if (s.node === undefined) return unsupported('an ORDER BY item');
  if (s.sortby_dir === 'SORTBY_USING' || nonEmpty(s.useOp)) unsupported('ORDER BY … USING');
  const dir = s.sortby_dir === 'SORTBY_ASC' ? ' ASC' : s.sortby_dir === 'SORTBY_DESC' ? ' DESC' : '';
  const nulls =
    s.sortby_nulls === 'SORTBY_NULLS_FIRST'
      ? ' NULLS FIRST'
      : s.sortby_nulls === 'SORTBY_NULLS_LAST'
        ? ' NULLS LAST'
        : '';
  return `${printExpr(s.node)}${dir}${nulls}`;
}

function printAlias(alias: { aliasname?: string; colnames?: Node[] } | undefined): string {
  if (alias === undefined) return '';
  const columns = nonEmpty(alias.colnames)
    ? `(${alias.colnames.map((c) => ident(stringOf(c))).join(', ')})`
    : '';
  return ` AS ${ident(alias.aliasname ?? '')}${columns}`;
}

function printFromItem(node: Node): string {
  if ('RangeVar' in node) {
    const r = node.RangeVar;
    if (r.catalogname !== undefined) unsupported('a catalog-qualified table');
    const name = [r.schemaname, r.relname]
      .filter((n) => n !== undefined)
      .map(ident)
      .join('.');
    return `${r.inh === true ? '' : 'ONLY '}${name}${printAlias(r.alias)}`;
  }
  if ('JoinExpr' in node) {
    const j = node.JoinExpr;
    if (
      j.alias !== undefined ||
      j.join_using_alias !== undefined ||
      j.larg === undefined ||
      j.rarg === undefined
    ) {
      unsupported('an aliased join');
    }
    const right = 'JoinExpr' in j.rarg ? `(${printFromItem(j.rarg)})` : printFromItem(j.rarg);
    const plain = j.quals === undefined && !nonEmpty(j.usingClause) && j.isNatural !== true;
    const kinds: Partial<Record<NonNullable<JoinExpr['jointype']>, string>> = {
      JOIN_INNER: plain ? 'CROSS JOIN' : 'JOIN',
      JOIN_LEFT: 'LEFT JOIN',
      JOIN_RIGHT: 'RIGHT JOIN',
      JOIN_FULL: 'FULL JOIN',
    };
    const kind = kinds[j.jointype ?? 'JOIN_INNER'] ?? unsupported(`a ${j.jointype}`);
    const natural = j.isNatural === true ? 'NATURAL ' : '';
    let condition = '';
    if (j.quals !== undefined) condition = ` ON ${printExpr(j.quals)}`;
    else if (nonEmpty(j.usingClause))
      condition = ` USING (${j.usingClause.map((c) => ident(stringOf(c))).join(', ')})`;
    return `${printFromItem(j.larg)} ${natural}${kind} ${right}${condition}`;
  }
  if ('RangeSubselect' in node) {
    const r = node.RangeSubselect;
    if (r.subquery === undefined || !('SelectStmt' in r.subquery)) return unsupported('a FROM subquery');
    return `${r.lateral === true ? 'LATERAL ' : ''}(${printSelect(r.subquery.SelectStmt)})${printAlias(r.alias)}`;
  }
  if ('RangeFunction' in node) {
    const r = node.RangeFunction;
    const [only, ...more] = r.functions ?? [];
    const items = only !== undefined && 'List' in only ? (only.List.items ?? []) : [];
    const [call, columns] = items;
    if (
      more.length > 0 ||
      r.is_rowsfrom ||
      nonEmpty(r.coldeflist) ||
      call === undefined ||
      !isEmpty(columns)
    ) {
      unsupported('ROWS FROM or a column definition list');
    }
    const ordinality = r.ordinality === true ? ' WITH ORDINALITY' : '';
    return `${r.lateral === true ? 'LATERAL ' : ''}${printExpr(call)}${ordinality}${printAlias(r.alias)}`;
  }
  return unsupported(`a ${kindOf(node)} in FROM`);
}

const COMPARISONS = new Set(['=', '<', '>', '<=', '>=', '<>', '!=']);

/**
 * An operand of an operator: as is when it binds tighter than any operator, else in parentheses — except that
 * a comparison's operands may be arithmetic or other binary operators, which all bind tighter than it.
 */
function printOperand(node: Node, of?: string): string {
  const text = printExpr(node);
  if (of !== undefined && COMPARISONS.has(of) && 'A_Expr' in node && node.A_Expr.kind === 'AEXPR_OP') {
    const inner = operatorName(node.A_Expr);
    if (node.A_Expr.lexpr !== undefined && inner !== undefined && !COMPARISONS.has(inner)) return text;
  }
  const atomic =
    'ColumnRef' in node ||
    'ParamRef' in node ||
    'FuncCall' in node ||
    'TypeCast' in node ||
    'CoalesceExpr' in node ||
    'MinMaxExpr' in node ||
    'CaseExpr' in node ||
    'A_ArrayExpr' in node ||
    'SQLValueFunction' in node ||
    ('A_Expr' in node && node.A_Expr.kind === 'AEXPR_NULLIF') ||
    ('SubLink' in node &&
      node.SubLink.subLinkType !== 'ANY_SUBLINK' &&
      node.SubLink.subLinkType !== 'ALL_SUBLINK') ||
    ('A_Const' in node && !text.startsWith('-'));
  return atomic ? text : `(${text})`;
}

function printExpr(node: Node): string {
  if ('ColumnRef' in node) return printColumnRef(node.ColumnRef);
  if ('ParamRef' in node) return `$${paramNumber(node.ParamRef)}`;
  if ('A_Const' in node) return printConst(node.A_Const);
  if ('TypeCast' in node) {
    const { arg, typeName } = node.TypeCast;
    if (arg === undefined || typeName === undefined) return unsupported('a cast');
    const operand = 'TypeCast' in arg ? printExpr(arg) : printOperand(arg);
    return `${operand}::${printTypeName(typeName)}`;
  }
  if ('FuncCall' in node) return printFuncCall(node.FuncCall);
  if ('A_Expr' in node) return printAExpr(node.A_Expr);
  if ('BoolExpr' in node) {
    const { boolop, args = [] } = node.BoolExpr;
    const operand = (a: Node) =>
      'BoolExpr' in a && a.BoolExpr.boolop !== 'NOT_EXPR' ? `(${printExpr(a)})` : printExpr(a);
    if (boolop === 'NOT_EXPR' && args.length === 1 && args[0] !== undefined) {
      return `NOT ${'BoolExpr' in args[0] ? `(${printExpr(args[0])})` : printOperand(args[0])}`;
    }
    if (boolop === 'AND_EXPR' && args.length > 1) return args.map(operand).join(' AND ');
    if (boolop === 'OR_EXPR' && args.length > 1) return args.map(operand).join(' OR ');
    return unsupported('a boolean expression');
  }
  if ('NullTest' in node) {
    const { arg, nulltesttype } = node.NullTest;
    if (arg === undefined) return unsupported('IS NULL');
    return `${printOperand(arg)} IS ${nulltesttype === 'IS_NOT_NULL' ? 'NOT NULL' : 'NULL'}`;
  }
  if ('BooleanTest' in node) {
    const { arg, booltesttype } = node.BooleanTest;
    if (arg === undefined || booltesttype === undefined) return unsupported('IS TRUE');
    return `${printOperand(arg)} IS ${booltesttype.slice(3).replace('_', ' ')}`;
  }
  if ('SubLink' in node) {
    const { subLinkType, subselect, testexpr, operName } = node.SubLink;
    if (subselect === undefined || !('SelectStmt' in subselect)) return unsupported('a subquery');
    const query = printSelect(subselect.SelectStmt);
    if (subLinkType === 'EXISTS_SUBLINK') return `EXISTS (${query})`;
    if (subLinkType === 'EXPR_SUBLINK') return `(${query})`;
    if (subLinkType === 'ARRAY_SUBLINK') return `ARRAY(${query})`;
    if ((subLinkType === 'ANY_SUBLINK' || subLinkType === 'ALL_SUBLINK') && testexpr !== undefined) {
      if (operName === undefined && subLinkType === 'ANY_SUBLINK')
        return `${printOperand(testexpr)} IN (${query})`;
      const [op, ...qualified] = operName ?? [];
      if (op === undefined || qualified.length > 0) return unsupported('a qualified operator');
      return `${printOperand(testexpr)} ${stringOf(op)} ${subLinkType === 'ANY_SUBLINK' ? 'ANY' : 'ALL'} (${query})`;
    }
    return unsupported(`a ${subLinkType}`);
  }
  if ('CoalesceExpr' in node) return `COALESCE(${(node.CoalesceExpr.args ?? []).map(printExpr).join(', ')})`;
  if ('MinMaxExpr' in node) {
    const fn = node.MinMaxExpr.op === 'IS_LEAST' ? 'LEAST' : 'GREATEST';
    return `${fn}(${(node.MinMaxExpr.args ?? []).map(printExpr).join(', ')})`;
  }
  if ('CaseExpr' in node) {
    const c = node.CaseExpr;
    const parts = ['CASE'];
    if (c.arg !== undefined) parts.push(printExpr(c.arg));
    for (const w of c.args ?? []) {
      if (!('CaseWhen' in w) || w.CaseWhen.expr === undefined || w.CaseWhen.result === undefined) {
        return unsupported('a CASE branch');
      }
      parts.push(`WHEN ${printExpr(w.CaseWhen.expr)} THEN ${printExpr(w.CaseWhen.result)}`);
    }
    if (c.defresult !== undefined) parts.push(`ELSE ${printExpr(c.defresult)}`);
    return `${parts.join(' ')} END`;
  }
  if ('A_ArrayExpr' in node) return `ARRAY[${(node.A_ArrayExpr.elements ?? []).map(printExpr).join(', ')}]`;
  if ('SQLValueFunction' in node) {
    const op = node.SQLValueFunction.op ?? '';
    // The _N forms (CURRENT_TIMESTAMP(3)) carry a precision; the plain ones are their keyword.
    if (!op.startsWith('SVFOP_') || op.endsWith('_N')) return unsupported(op);
    return op.slice('SVFOP_'.length);
  }
  return unsupported(kindOf(node));
}

function printColumnRef(c: ColumnRef): string {
  return (c.fields ?? []).map((f) => ('A_Star' in f ? '*' : ident(stringOf(f)))).join('.');
}

function printConst(c: A_Const): string {
  if (c.isnull === true) return 'NULL';
  if (c.ival !== undefined) return String(c.ival.ival ?? 0);
  if (c.fval !== undefined) return c.fval.fval ?? '0';
  if (c.boolval !== undefined) return c.boolval.boolval === true ? 'true' : 'false';
  if (c.sval !== undefined) return `'${(c.sval.sval ?? '').replaceAll("'", "''")}'`;
  if (c.bsval !== undefined) {
    const bits = c.bsval.bsval ?? '';
    return `${bits.slice(0, 1)}'${bits.slice(1)}'`;
  }
  return unsupported('a constant');
}

function printFuncCall(f: FuncCall): string {
  if (f.over !== undefined || f.agg_within_group || f.func_variadic)
    unsupported('a window, WITHIN GROUP or VARIADIC call');
  if ((f.funcformat ?? 'COERCE_EXPLICIT_CALL') !== 'COERCE_EXPLICIT_CALL') unsupported('SQL-syntax function');
  const name = (f.funcname ?? []).map((n) => functionIdent(stringOf(n))).join('.');
  let args = f.agg_star ? '*' : (f.args ?? []).map(printExpr).join(', ');
  if (f.agg_distinct) args = `DISTINCT ${args}`;
  if (nonEmpty(f.agg_order)) args += ` ORDER BY ${f.agg_order.map(printSortBy).join(', ')}`;
  const filter = f.agg_filter === undefined ? '' : ` FILTER (WHERE ${printExpr(f.agg_filter)})`;
  return `${name}(${args})${filter}`;
}

function printAExpr(e: A_Expr): string {
  const op = operatorName(e);
  const { lexpr, rexpr } = e;
  if (op === undefined || rexpr === undefined) return unsupported('a qualified operator');
  const list = (node: Node) => ('List' in node ? (node.List.items ?? []) : unsupported('a list'));
  switch (e.kind) {
    case 'AEXPR_OP':
      return lexpr === undefined
        ? `${op} ${printOperand(rexpr)}`
        : `${printOperand(lexpr, op)} ${op} ${printOperand(rexpr, op)}`;
    case 'AEXPR_OP_ANY':
    case 'AEXPR_OP_ALL':
      if (lexpr === undefined) return unsupported('ANY');
      return `${printOperand(lexpr)} ${op} ${e.kind === 'AEXPR_OP_ANY' ? 'ANY' : 'ALL'}(${printExpr(rexpr)})`;
    case 'AEXPR_DISTINCT':
    case 'AEXPR_NOT_DISTINCT':
      if (lexpr === undefined) return unsupported('IS DISTINCT FROM');
      return `${printOperand(lexpr)} IS ${e.kind === 'AEXPR_NOT_DISTINCT' ? 'NOT ' : ''}DISTINCT FROM ${printOperand(rexpr)}`;
    case 'AEXPR_NULLIF':
      if (lexpr === undefined) return unsupported('NULLIF');
      return `NULLIF(${printExpr(lexpr)}, ${printExpr(rexpr)})`;
    case 'AEXPR_IN': {
      if (lexpr === undefined || (op !== '=' && op !== '<>')) return unsupported('IN');
      return `${printOperand(lexpr)} ${op === '=' ? 'IN' : 'NOT IN'} (${list(rexpr).map(printExpr).join(', ')})`;
    }
    case 'AEXPR_LIKE':
    case 'AEXPR_ILIKE': {
      const words: Record<string, string> = {
        '~~': 'LIKE',
        '!~~': 'NOT LIKE',
        '~~*': 'ILIKE',
        '!~~*': 'NOT ILIKE',
      };
      const word = words[op];
      if (lexpr === undefined || word === undefined) return unsupported('LIKE');
      return `${printOperand(lexpr)} ${word} ${printOperand(rexpr)}`;
    }
    case 'AEXPR_BETWEEN':
    case 'AEXPR_NOT_BETWEEN': {
      const [low, high] = list(rexpr);
      if (lexpr === undefined || low === undefined || high === undefined) return unsupported('BETWEEN');
      const word = e.kind === 'AEXPR_BETWEEN' ? 'BETWEEN' : 'NOT BETWEEN';
      return `${printOperand(lexpr)} ${word} ${printOperand(low)} AND ${printOperand(high)}`;
    }
    default:
      return unsupported(e.kind ?? 'an operator');
  }
}

// pg_catalog types the grammar spells with keywords: printed that way they parse back to the same name.
const SQL_TYPES: Readonly<Record<string, string>> = {
  bool: 'boolean',
  bpchar: 'char',
  float4: 'real',
  float8: 'double precision',
  int2: 'smallint',
  int4: 'int',
  int8: 'bigint',
  interval: 'interval',
  json: 'json',
  numeric: 'numeric',
  time: 'time',
  timestamp: 'timestamp',
  timestamptz: 'timestamp with time zone',
  timetz: 'time with time zone',
  varbit: 'bit varying',
  varchar: 'varchar',
  bit: 'bit',
};

function printTypeName(t: TypeName): string {
  if (t.setof || t.pct_type) unsupported('SETOF or %TYPE');
  const names = (t.names ?? []).map(stringOf);
  const system = names.length === 2 && names[0] === 'pg_catalog' ? SQL_TYPES[names[1] ?? ''] : undefined;
  let typmods = '';
  if (nonEmpty(t.typmods)) {
    // interval's modifiers are a field mask and the time types' go before "with time zone": not printed.
    if (system === undefined || /interval|time/.test(system)) unsupported('type modifiers');
    typmods = `(${t.typmods.map(printExpr).join(', ')})`;
  }
  const bounds = (t.arrayBounds ?? []).map((b) => {
    const n = 'Integer' in b ? (b.Integer.ival ?? 0) : -1;
    return n < 0 ? '[]' : `[${n}]`;
  });
  return `${system ?? names.map(ident).join('.')}${typmods}${bounds.join('')}`;
}

const keywordKinds = new Map<string, number>();

/** The keyword kind of a word (0 none, 1 unreserved, 2 column name, 3 type/function name, 4 reserved). */
function keywordKind(word: string): number {
  let kind = keywordKinds.get(word);
  if (kind === undefined) {
    const tokens = scanSync(word).tokens;
    kind = tokens.length === 1 ? (tokens[0]?.keywordKind ?? 0) : 0;
    keywordKinds.set(word, kind);
  }
  return kind;
}

/** PostgreSQL's quote_identifier: bare when lower case and not a keyword beyond the unreserved ones. */
function ident(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && keywordKind(name) <= 1
    ? name
    : `"${name.replaceAll('"', '""')}"`;
}

/** A function name may also be a type/function-name keyword (`left(…)`). */
function functionIdent(name: string): string {
  const kind = /^[a-z_][a-z0-9_$]*$/.test(name) ? keywordKind(name) : 4;
  return kind <= 1 || kind === 3 ? name : ident(name);
}

function stringOf(node: Node): string {
  return 'String' in node ? (node.String.sval ?? '') : unsupported('a name');
}

function kindOf(node: Node): string {
  return Object.keys(node)[0] ?? 'empty node';
}
