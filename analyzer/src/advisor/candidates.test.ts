import { describe, expect, it } from 'vitest';
import { blockCandidates, type ColumnUse, statementShape, type TableName } from './candidates.ts';

/** Candidates of every block, as `table(col, col)`, resolving unqualified columns with `columns` per table. */
async function candidates(sql: string, columns: Record<string, string[]> = {}): Promise<string[] | null> {
  const shape = await statementShape(sql);
  if (shape === null) return null;
  return shape.blocks.flatMap((block) => {
    const resolve = (u: ColumnUse) => {
      if (u.qualifier !== undefined) return block.tables.has(u.qualifier) ? u.qualifier : undefined;
      const having = [...block.tables].filter(([, t]) => (columns[t.name] ?? [u.column]).includes(u.column));
      return having.length === 1 ? having[0]?.[0] : undefined;
    };
    const name = (t: TableName) => (t.schema === undefined ? t.name : `${t.schema}.${t.name}`);
    return blockCandidates(block, resolve).map(
      (c) => `${name(c.table)}(${c.columns.map((col, i) => (c.desc?.[i] ? `${col} DESC` : col)).join(', ')})`,
    );
  });
}

describe('index candidates from the AST', () => {
  it.each([
    ['an equality filter', 'SELECT * FROM orders WHERE customer_id = $1', ['orders(customer_id)']],
    [
      'equality first, then the range, through an alias and a schema',
      'SELECT * FROM public.orders AS o WHERE o.created_at > $2 AND o.status = $1',
      ['public.orders(status)', 'public.orders(created_at)', 'public.orders(status, created_at)'],
    ],
    [
      'ORDER BY … LIMIT over a table, with and without its filter',
      'SELECT id FROM posts WHERE author_id = $1 ORDER BY created_at DESC LIMIT 20',
      ['posts(author_id)', 'posts(author_id, created_at)', 'posts(created_at)'],
    ],
    ['a sort alone', 'SELECT * FROM events ORDER BY created_at DESC LIMIT $1', ['events(created_at)']],
    [
      'a mixed-direction sort keeps its directions',
      'SELECT * FROM events ORDER BY day DESC, seq LIMIT 5',
      ['events(day DESC, seq)'],
    ],
    [
      'the foreign key inside an IN subquery, and the outer column it feeds',
      'SELECT * FROM reviews WHERE book_id IN (SELECT id FROM books WHERE author_id = $1)',
      ['books(author_id)', 'reviews(book_id)'],
    ],
    [
      'an ORM eager load: where fk in ($1, $2)',
      'select * from "reviews" where "book_id" in ($1, $2)',
      ['reviews(book_id)'],
    ],
    ['= ANY($1)', 'SELECT * FROM reviews WHERE book_id = ANY($1)', ['reviews(book_id)']],
    [
      'the join column of each side',
      'SELECT * FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.email = $1',
      ['customers(email)', 'customers(id)', 'orders(customer_id)'],
    ],
    ['BETWEEN as a range', 'SELECT * FROM orders WHERE placed_at BETWEEN $1 AND $2', ['orders(placed_at)']],
    [
      'the WHERE of an UPDATE and of a DELETE',
      'UPDATE inventory SET stock = stock - $1 WHERE product_id = $2',
      ['inventory(product_id)'],
    ],
    [
      'a CTE body, not the CTE name',
      'WITH r AS (SELECT * FROM reviews WHERE book_id = $1) SELECT * FROM r',
      ['reviews(book_id)'],
    ],
  ])('%s', async (_name, sql, expected) => {
    expect((await candidates(sql))?.sort()).toEqual([...expected].sort());
  });

  it('attributes an unqualified column to the one table of the block that has it', async () => {
    const sql = 'SELECT * FROM orders o JOIN products p ON p.id = o.product_id WHERE category = $1';
    expect(
      (await candidates(sql, { orders: ['id', 'product_id'], products: ['id', 'category'] }))?.sort(),
    ).toEqual(['orders(product_id)', 'products(category)', 'products(id)'].sort());
  });

  it.each([
    ['an OR, which one index does not narrow', 'SELECT * FROM orders WHERE a = $1 OR b = $2', []],
    ['an unknown alias', 'SELECT * FROM orders o WHERE x.customer_id = $1', []],
  ])('proposes nothing for %s', async (_name, sql, expected) => {
    expect(await candidates(sql)).toEqual(expected);
  });

  it.each([
    ['an INSERT', 'INSERT INTO orders (customer_id) VALUES ($1)'],
    ['a WITH that writes', 'WITH d AS (DELETE FROM s WHERE id = $1 RETURNING *) SELECT * FROM d'],
    ['SELECT … FOR UPDATE', 'SELECT * FROM orders WHERE id = $1 FOR UPDATE'],
    ['two statements', 'SELECT 1; SELECT 2'],
    ['what does not parse', 'SELEKT * FROM t'],
  ])('is no candidate source: %s', async (_name, sql) => {
    expect(await statementShape(sql)).toBeNull();
  });
});
