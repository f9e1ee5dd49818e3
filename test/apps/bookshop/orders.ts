/** Orders and sales reporting, on the raw `pg.Pool` this module has always used. */
import type pg from 'pg';
import { ConflictError, NotFoundError } from './errors.ts';
import type { PriceSigner } from './pricing.ts';

export interface Order {
  readonly id: string;
  readonly book_id: number;
  readonly quantity: number;
  readonly total_cents: number;
  readonly email: string;
  readonly status: string;
  readonly created_at: Date;
}

export interface NewOrder {
  readonly bookId: number;
  readonly quantity: number;
  readonly email: string;
}

export class OrderRepository {
  readonly #pool: pg.Pool;
  readonly #signer: PriceSigner;

  constructor(pool: pg.Pool, signer: PriceSigner) {
    this.#pool = pool;
    this.#signer = signer;
  }

  async find(id: number): Promise<Order> {
    const { rows } = await this.#pool.query<Order>(
      'SELECT id, book_id, quantity, total_cents, email, status, created_at FROM orders WHERE id = $1',
      [id],
    );
    if (rows[0] === undefined) throw new NotFoundError(`order ${id}`);
    return rows[0];
  }

  /** Reserves stock and records the order in one short transaction. */
  async place(order: NewOrder): Promise<{ id: string; totalCents: number }> {
    const { rows } = await this.#pool.query<{ price_cents: number }>(
      'SELECT price_cents FROM books WHERE id = $1',
      [order.bookId],
    );
    if (rows[0] === undefined) throw new NotFoundError(`book ${order.bookId}`);
    const totalCents = rows[0].price_cents * order.quantity;
    const signature = this.#signer.sign({ ...order, totalCents });
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const reserved = await client.query(
        'UPDATE inventory SET in_stock = in_stock - $2 WHERE book_id = $1 AND in_stock >= $2',
        [order.bookId, order.quantity],
      );
      if (reserved.rowCount !== 1) throw new ConflictError(`book ${order.bookId} is out of stock`);
      const inserted = await client.query<{ id: string }>(
        `INSERT INTO orders (book_id, quantity, total_cents, email, status, price_signature)
         VALUES ($1, $2, $3, $4, 'paid', $5) RETURNING id`,
        [order.bookId, order.quantity, totalCents, order.email, signature],
      );
      await client.query('COMMIT');
      return { id: inserted.rows[0]?.id ?? '', totalCents };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }
}

export interface SalesReportOptions {
  /**
   * Report over the whole ledger from one consistent snapshot (REPEATABLE READ), instead of the recent days
   * the dashboard shows.
   */
  readonly fullLedger: boolean;
}

/** The ledger report is low priority: it pauses between its statements to leave the primary to checkout. */
const LEDGER_PAUSE_SECONDS = 0.3;
const RECENT_DAYS = 30;

export class SalesReports {
  readonly #pool: pg.Pool;
  readonly #options: SalesReportOptions;

  constructor(pool: pg.Pool, options: SalesReportOptions) {
    this.#pool = pool;
    this.#options = options;
  }

  async sales(): Promise<{ periods: unknown[]; topTitles: unknown[] }> {
    if (!this.#options.fullLedger) {
      const [periods, top] = await Promise.all([
        this.#pool.query(
          `SELECT created_at::date AS day, count(*)::int AS orders, sum(total_cents)::bigint AS revenue_cents
           FROM orders WHERE created_at >= now() - $1::int * interval '1 day' GROUP BY 1 ORDER BY 1`,
          [RECENT_DAYS],
        ),
        this.#pool.query(
          `SELECT b.id, b.title, sum(o.quantity)::int AS units, sum(o.total_cents)::bigint AS revenue_cents
           FROM orders o JOIN books b ON b.id = o.book_id
           WHERE o.created_at >= now() - $1::int * interval '1 day'
           GROUP BY b.id, b.title ORDER BY revenue_cents DESC LIMIT 10`,
          [RECENT_DAYS],
        ),
      ]);
      return { periods: periods.rows, topTitles: top.rows };
    }
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const periods = await client.query(
        `SELECT date_trunc('month', created_at) AS month, status, count(*)::int AS orders,
                sum(total_cents)::bigint AS revenue_cents
         FROM orders GROUP BY 1, 2 ORDER BY 1, 2`,
      );
      await client.query('SELECT pg_sleep($1)', [LEDGER_PAUSE_SECONDS]);
      const top = await client.query(
        `SELECT b.id, b.title, sum(o.quantity)::int AS units, sum(o.total_cents)::bigint AS revenue_cents
         FROM orders o JOIN books b ON b.id = o.book_id
         GROUP BY b.id, b.title ORDER BY revenue_cents DESC LIMIT 10`,
      );
      await client.query('COMMIT');
      return { periods: periods.rows, topTitles: top.rows };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }
}
