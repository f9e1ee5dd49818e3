import { describe, expect, it } from 'vitest';
import { batchedStatement } from './recommend.ts';

describe('batchedStatement', () => {
  it('turns a per-item lookup by key into one lookup of all keys', () => {
    expect(batchedStatement('SELECT name, price FROM products WHERE id = $1')).toEqual({
      table: 'products',
      column: 'id',
      parameter: '$1',
      statement: 'SELECT id, name, price FROM products WHERE id = ANY($1)',
    });
  });

  it('keeps other conditions and placeholders, and a select list that already has the key', () => {
    expect(
      batchedStatement('SELECT o.id, o.total FROM orders o WHERE o.customer_id = $2 AND o.status = $1')
        ?.statement,
    ).toBe(
      'SELECT o.customer_id, o.id, o.total FROM orders o WHERE o.customer_id = ANY($2) AND o.status = $1',
    );
    expect(batchedStatement('SELECT * FROM reviews WHERE product_id = $1 LIMIT 1')?.statement).toBe(
      'SELECT * FROM reviews WHERE product_id = ANY($1)',
    );
  });

  it('gives an inlined literal the next free placeholder', () => {
    expect(batchedStatement("SELECT id FROM users WHERE email = 'a@b.c' AND org = $1")).toMatchObject({
      column: 'email',
      parameter: '$2',
      statement: 'SELECT email, id FROM users WHERE email = ANY($2) AND org = $1',
    });
  });

  it('declines what it cannot rewrite', () => {
    expect(batchedStatement('UPDATE products SET stock = stock - 1 WHERE id = $1')).toBeNull();
    expect(batchedStatement('SELECT count(*) FROM products')).toBeNull();
    expect(batchedStatement('SELECT * FROM products WHERE price > $1')).toBeNull();
  });
});
