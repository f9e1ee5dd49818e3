/** The catalogue: books, authors and reviews through knex, and the book page built from them. */
import type { Knex } from 'knex';
import { NotFoundError } from './errors.ts';
import type { PageCache } from './page-cache.ts';

export interface Book {
  readonly id: number;
  readonly author_id: number;
  readonly title: string;
  readonly isbn: string;
  readonly price_cents: number;
  readonly pages: number;
  readonly published_at: Date;
  readonly description: string;
}
export type BookSummary = Omit<Book, 'description'>;
export interface Author {
  readonly id: number;
  readonly name: string;
  readonly bio: string;
}
export interface Review {
  readonly id: number;
  readonly book_id: number;
  readonly rating: number;
  readonly body: string;
  readonly created_at: Date;
}

export interface CatalogOptions {
  /**
   * Eager loads fetch a relation for all parents in one `IN (…)` query. Off, each parent's rows are loaded
   * on their own, which is what the loader did before batching was added.
   */
  readonly batchEagerLoads: boolean;
}

/**
 * Loads the rows of a has-many relation for a list of parents and groups them by parent, as an ORM's eager
 * loader (`withRelated`, `withGraphFetched`) does.
 */
async function eagerLoad<Row extends Record<string, unknown>>(
  db: Knex,
  relation: { readonly table: string; readonly foreignKey: keyof Row & string },
  parentIds: readonly number[],
  batched: boolean,
): Promise<Map<number, Row[]>> {
  const query = (ids: readonly number[]) =>
    db<Row>(relation.table)
      .select(`${relation.table}.*`)
      .whereIn(`${relation.table}.${relation.foreignKey}`, ids) as Promise<Row[]>;
  const rows: Row[] = [];
  if (batched) {
    if (parentIds.length > 0) rows.push(...(await query(parentIds)));
  } else {
    for (const id of parentIds) rows.push(...(await query([id])));
  }
  const byParent = new Map<number, Row[]>(parentIds.map((id) => [id, []]));
  for (const row of rows) byParent.get(row[relation.foreignKey] as number)?.push(row);
  return byParent;
}

export class BookRepository {
  readonly #db: Knex;
  readonly #options: CatalogOptions;

  constructor(db: Knex, options: CatalogOptions) {
    this.#db = db;
    this.#options = options;
  }

  find(id: number): Promise<Book | undefined> {
    return this.#db<Book>('books').where({ id }).first();
  }

  author(id: number): Promise<Author | undefined> {
    return this.#db<Author>('authors').where({ id }).first();
  }

  async byAuthorWithReviews(authorId: number): Promise<(BookSummary & { reviews: Review[] })[]> {
    const books: BookSummary[] = await this.#db<Book>('books')
      .select('id', 'author_id', 'title', 'isbn', 'price_cents', 'pages', 'published_at')
      .where({ author_id: authorId })
      .orderBy('published_at', 'desc');
    const reviews = await eagerLoad<Review & Record<string, unknown>>(
      this.#db,
      { table: 'reviews', foreignKey: 'book_id' },
      books.map((b) => b.id),
      this.#options.batchEagerLoads,
    );
    return books.map((b) => ({ ...b, reviews: reviews.get(b.id) ?? [] }));
  }

  moreByAuthor(authorId: number, exceptBookId: number, limit: number): Promise<Book[]> {
    return this.#db<Book>('books')
      .where({ author_id: authorId })
      .whereNot({ id: exceptBookId })
      .orderBy('published_at', 'desc')
      .limit(limit);
  }

  async reviewSummary(bookId: number): Promise<{ count: number; average: number | null }> {
    const row = (await this.#db('reviews')
      .where({ book_id: bookId })
      .select(this.#db.raw('count(*)::int AS count, round(avg(rating), 2)::float8 AS average'))
      .first()) as { count: number; average: number | null } | undefined;
    return { count: row?.count ?? 0, average: row?.average ?? null };
  }

  async inStock(bookId: number): Promise<number> {
    const row = await this.#db('inventory').where({ book_id: bookId }).first('in_stock');
    return (row as { in_stock: number } | undefined)?.in_stock ?? 0;
  }
}

function paragraphs(text: string): string {
  const escaped = text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return escaped
    .split('. ')
    .map((s) => `<p>${s}.</p>`)
    .join('');
}

/** Book pages: the static part (book, author, more by the author) is rendered once and cached. */
export class BookPages {
  readonly #books: BookRepository;
  readonly #cache: PageCache;

  constructor(books: BookRepository, cache: PageCache) {
    this.#books = books;
    this.#cache = cache;
  }

  /** The page as JSON text: the cached static part plus live review figures and stock. */
  async render(bookId: number): Promise<string> {
    const [page, reviews, inStock] = await Promise.all([
      this.#staticPart(bookId),
      this.#books.reviewSummary(bookId),
      this.#books.inStock(bookId),
    ]);
    return `{"page":${page},"reviews":${JSON.stringify(reviews)},"inStock":${inStock}}`;
  }

  async #staticPart(bookId: number): Promise<string> {
    const key = `book:${bookId}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    const book = await this.#books.find(bookId);
    if (book === undefined) throw new NotFoundError(`book ${bookId}`);
    const [author, more] = await Promise.all([
      this.#books.author(book.author_id),
      this.#books.moreByAuthor(book.author_id, book.id, 8),
    ]);
    const page = JSON.stringify({
      book: { ...book, descriptionHtml: paragraphs(book.description) },
      author,
      moreByAuthor: more.map((b) => ({ id: b.id, title: b.title, blurb: b.description.slice(0, 600) })),
    });
    this.#cache.set(key, page);
    return page;
  }
}
