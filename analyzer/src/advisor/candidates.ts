/**
 * Index candidates from a statement's libpg-query AST, not from its text: per query block (each SELECT level,
 * each subquery, the WHERE of an UPDATE or DELETE), which column of which table is compared by equality, by
 * range, joined on or sorted by. Candidates follow the B-tree rule of thumb the planner rewards: equality
 * columns first, then one range or the sort columns (a range column ends what an index can narrow). Pure: the
 * caller resolves table names against the catalog and checks every candidate with a hypothetical index.
 */
import { parse } from 'libpg-query';

/** A table as the statement names it (`schema` when qualified). */
export interface TableName {
  readonly schema?: string;
  readonly name: string;
}

export type Use = 'eq' | 'range' | 'join' | 'sort';

/** One column use in one query block; `qualifier` is the alias or table it was written with, if any. */
export interface ColumnUse {
  readonly qualifier?: string;
  readonly column: string;
  readonly use: Use;
  /** For `sort`: descending. */
  readonly desc?: boolean;
}

/** One query block: the tables in its FROM (by alias or name) and how its predicates use their columns. */
export interface Block {
  readonly tables: ReadonlyMap<string, TableName>;
  readonly uses: readonly ColumnUse[];
  /** ORDER BY … LIMIT: an index in sort order can stop after LIMIT rows. */
  readonly limited: boolean;
}

export interface StatementShape {
  /** SELECT (a read-only WITH included), UPDATE or DELETE; anything else is not a candidate source. */
  readonly command: 'select' | 'update' | 'delete';
  readonly blocks: readonly Block[];
}

type Node = Record<string, unknown>;

function str(n: unknown): string | undefined {
  const s = (n as { String?: { sval?: string } } | undefined)?.String?.sval;
  return typeof s === 'string' ? s : undefined;
}

function list(n: unknown): Node[] {
  return Array.isArray(n) ? (n as Node[]) : [];
}

/** The column a node compares, through casts: `o.customer_id`, `customer_id::text`. */
function columnOf(n: unknown): { qualifier?: string; column: string } | undefined {
  let node = n as Node | undefined;
  while (node?.TypeCast !== undefined) node = (node.TypeCast as Node).arg as Node;
  const ref = node?.ColumnRef as { fields?: unknown[] } | undefined;
  if (ref?.fields === undefined) return undefined;
  const names = ref.fields.map(str);
  if (names.some((x) => x === undefined)) return undefined; // `t.*`
  const parts = names as string[];
  const column = parts.at(-1) as string;
  return parts.length >= 2 ? { qualifier: parts.at(-2) as string, column } : { column };
}

/** Whether a value side has no column of the block: a parameter, a constant, a function of them. */
function isValue(n: unknown): boolean {
  if (n === null || typeof n !== 'object') return true;
  if ('ColumnRef' in (n as Node)) return false;
  if ('SubLink' in (n as Node)) return false;
  return Object.values(n as Node).every((v) =>
    Array.isArray(v) ? v.every(isValue) : typeof v === 'object' ? isValue(v) : true,
  );
}

const RANGE_OPS = new Set(['<', '>', '<=', '>=']);

class Walker {
  readonly blocks: Block[] = [];
  private readonly ctes: ReadonlySet<string>;

  constructor(ctes: ReadonlySet<string>) {
    this.ctes = ctes;
  }

  select(s: Node): void {
    if (s.op !== undefined && s.op !== 'SETOP_NONE') {
      if (s.larg !== undefined) this.select(s.larg as Node);
      if (s.rarg !== undefined) this.select(s.rarg as Node);
      return;
    }
    const tables = new Map<string, TableName>();
    const uses: ColumnUse[] = [];
    for (const item of list(s.fromClause)) this.from(item, tables, uses);
    this.predicate(s.whereClause, uses, 'where');
    const sort = list(s.sortClause).map((x) => x.SortBy as Node | undefined);
    const sorted = sort.map((x) => ({ col: columnOf(x?.node), desc: x?.sortby_dir === 'SORTBY_DESC' }));
    if (sorted.length > 0 && sorted.every((x) => x.col !== undefined)) {
      for (const x of sorted) uses.push({ ...(x.col as { column: string }), use: 'sort', desc: x.desc });
    }
    this.blocks.push({ tables, uses, limited: s.limitCount !== undefined && sorted.length > 0 });
  }

  /** A WHERE of an UPDATE or DELETE: one block on the target table (plus USING / FROM tables). */
  write(s: Node, extra: unknown): void {
    const tables = new Map<string, TableName>();
    const uses: ColumnUse[] = [];
    this.from({ RangeVar: s.relation }, tables, uses);
    for (const item of list(extra)) this.from(item, tables, uses);
    this.predicate(s.whereClause, uses, 'where');
    this.blocks.push({ tables, uses, limited: false });
  }

  private from(item: Node, tables: Map<string, TableName>, uses: ColumnUse[]): void {
    const rv = item.RangeVar as Node | undefined;
    if (rv !== undefined) {
      const name = String(rv.relname);
      const schema = typeof rv.schemaname === 'string' ? rv.schemaname : undefined;
      if (schema === undefined && this.ctes.has(name)) return;
      const alias = (rv.alias as { aliasname?: string } | undefined)?.aliasname;
      tables.set(alias ?? name, schema === undefined ? { name } : { schema, name });
      return;
    }
    const join = item.JoinExpr as Node | undefined;
    if (join !== undefined) {
      this.from(join.larg as Node, tables, uses);
      this.from(join.rarg as Node, tables, uses);
      this.predicate(join.quals, uses, 'join');
      return;
    }
    const sub = item.RangeSubselect as Node | undefined;
    if (sub !== undefined) this.statement(sub.subquery as Node);
  }

  /** The ANDed conditions of a WHERE or ON; an OR or NOT is not narrowed by one index, so it adds nothing. */
  private predicate(n: unknown, uses: ColumnUse[], where: 'where' | 'join'): void {
    if (n === undefined || n === null) return;
    const node = n as Node;
    const bool = node.BoolExpr as Node | undefined;
    if (bool !== undefined) {
      if (bool.boolop === 'AND_EXPR') for (const a of list(bool.args)) this.predicate(a, uses, where);
      else this.subqueries(bool);
      return;
    }
    const sub = node.SubLink as Node | undefined;
    if (sub !== undefined) {
      // `fk IN (SELECT …)`: the outer column is looked up by the subquery's values.
      const col = sub.subLinkType === 'ANY_SUBLINK' ? columnOf(sub.testexpr) : undefined;
      if (col !== undefined) uses.push({ ...col, use: 'eq' });
      this.statement(sub.subselect as Node);
      return;
    }
    const e = node.A_Expr as Node | undefined;
    if (e === undefined) {
      this.subqueries(node);
      return;
    }
    const op = str(list(e.name)[0]);
    const left = columnOf(e.lexpr);
    const right = columnOf(e.rexpr);
    const kind = e.kind;
    if (kind === 'AEXPR_OP' && op === '=' && left !== undefined && right !== undefined) {
      uses.push({ ...left, use: 'join' }, { ...right, use: 'join' });
    } else if ((kind === 'AEXPR_OP' || kind === 'AEXPR_OP_ANY' || kind === 'AEXPR_IN') && op === '=') {
      if (left !== undefined && isValue(e.rexpr))
        uses.push({ ...left, use: where === 'join' ? 'join' : 'eq' });
      else if (right !== undefined && isValue(e.lexpr)) uses.push({ ...right, use: 'eq' });
    } else if (kind === 'AEXPR_OP' && op !== undefined && RANGE_OPS.has(op)) {
      if (left !== undefined && isValue(e.rexpr)) uses.push({ ...left, use: 'range' });
      else if (right !== undefined && isValue(e.lexpr)) uses.push({ ...right, use: 'range' });
    } else if (kind === 'AEXPR_BETWEEN' && left !== undefined) {
      uses.push({ ...left, use: 'range' });
    }
    this.subqueries(e);
  }

  /** Subqueries anywhere inside an expression are blocks of their own. */
  private subqueries(n: unknown): void {
    if (n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) {
      for (const x of n) this.subqueries(x);
      return;
    }
    const sub = (n as Node).SubLink as Node | undefined;
    if (sub !== undefined) {
      this.statement(sub.subselect as Node);
      return;
    }
    for (const v of Object.values(n as Node)) this.subqueries(v);
  }

  statement(n: Node | undefined): void {
    const s = n?.SelectStmt as Node | undefined;
    if (s !== undefined) this.select(s);
  }
}

/** What index candidates a statement's AST gives; null for statements that are no candidate source. */
export async function statementShape(sql: string): Promise<StatementShape | null> {
  let tree: { stmts?: { stmt?: Node }[] };
  try {
    tree = (await parse(sql)) as typeof tree;
  } catch {
    return null;
  }
  if (tree.stmts?.length !== 1) return null;
  const stmt = tree.stmts[0]?.stmt ?? {};
  const [type, body] = (Object.entries(stmt)[0] ?? []) as [string | undefined, Node | undefined];
  if (body === undefined) return null;
  const withClause = body.withClause as { ctes?: Node[] } | undefined;
  const ctes = list(withClause?.ctes).map((c) => c.CommonTableExpr as Node);
  // A WITH that writes (`WITH x AS (DELETE … RETURNING …)`) is a write however it ends.
  if (ctes.some((c) => !('SelectStmt' in ((c.ctequery as Node | undefined) ?? {})))) {
    if (type === 'SelectStmt') return null;
  }
  const walker = new Walker(new Set(ctes.map((c) => String(c.ctename))));
  for (const c of ctes) walker.statement(c.ctequery as Node);
  if (type === 'SelectStmt') {
    if (body.intoClause !== undefined || list(body.lockingClause).length > 0) return null;
    walker.select(body);
    return { command: 'select', blocks: walker.blocks };
  }
  if (type === 'UpdateStmt') {
    walker.write(body, body.fromClause);
    return { command: 'update', blocks: walker.blocks };
  }
  if (type === 'DeleteStmt') {
    walker.write(body, body.usingClause);
    return { command: 'delete', blocks: walker.blocks };
  }
  return null;
}

/** An index to try: a table as the statement named it, and its columns in order. */
export interface Candidate {
  readonly table: TableName;
  readonly columns: readonly string[];
  /** For a sort-order index: the column directions (all ascending when absent). */
  readonly desc?: readonly boolean[];
}

/** At most this many columns per candidate: past three, a B-tree rarely narrows further than its first ones. */
const MAX_COLUMNS = 3;

/**
 * The candidates of one block, per table: each column alone; the equality columns together; the equality
 * columns followed by the first range column, or by the sort columns when the block sorts by that table only.
 * `resolve` maps a column use to its table's key in `block.tables` (the caller knows the catalog).
 */
export function blockCandidates(
  block: Block,
  resolve: (use: ColumnUse) => string | undefined,
  order: (table: TableName, columns: readonly string[]) => readonly string[] = (_, c) => c,
): Candidate[] {
  const byTable = new Map<string, ColumnUse[]>();
  for (const u of block.uses) {
    const key = resolve(u);
    if (key === undefined) continue;
    const uses = byTable.get(key) ?? [];
    uses.push(u);
    byTable.set(key, uses);
  }
  const sortTables = new Set(block.uses.filter((u) => u.use === 'sort').map(resolve));
  const out: Candidate[] = [];
  for (const [key, uses] of byTable) {
    const table = block.tables.get(key);
    if (table === undefined) continue;
    const names = (use: Use) => [...new Set(uses.filter((u) => u.use === use).map((u) => u.column))];
    const eq = order(table, names('eq'));
    const range = names('range').filter((c) => !eq.includes(c));
    const sort = uses.filter((u) => u.use === 'sort');
    const add = (columns: readonly string[], desc?: readonly boolean[]) => {
      if (columns.length === 0 || columns.length > MAX_COLUMNS || new Set(columns).size !== columns.length)
        return;
      const same = (c: Candidate) =>
        c.table === table && c.columns.join('\0') === columns.join('\0') && String(c.desc) === String(desc);
      if (out.some(same)) return;
      out.push({ table, columns, ...(desc?.some((d) => d) ? { desc } : {}) });
    };
    for (const c of [...eq, ...range, ...names('join')]) add([c]);
    if (eq.length > 1) add(eq);
    if (range[0] !== undefined) add([...eq, range[0]]);
    // Sorting by this table only: an index in that order hands rows over sorted, and with LIMIT stops early.
    if (sort.length > 0 && sortTables.size === 1) {
      const sortCols = sort.map((u) => u.column).filter((c) => !eq.includes(c));
      // One direction is served by scanning the index backwards; only a mixed ORDER BY needs its own order.
      const dirs = sort.filter((u) => !eq.includes(u.column)).map((u) => u.desc === true);
      const mixed = new Set(dirs).size > 1;
      if (sortCols.length > 0) {
        add([...eq, ...sortCols], mixed ? [...eq.map(() => false), ...dirs] : undefined);
        if (eq.length > 0) add(sortCols, mixed ? dirs : undefined);
      }
    }
  }
  return out;
}
