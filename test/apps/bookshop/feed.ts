/**
 * The partner catalogue feed: every book with its price and author, 500 to a page, for the price-comparison
 * sites that crawl the shop. Pages are sent Brotli-compressed to crawlers that accept it (they all do).
 */
import { promisify } from 'node:util';
import { brotliCompress, brotliCompressSync, constants } from 'node:zlib';
import type { Knex } from 'knex';

export const FEED_PAGE_SIZE = 500;

const compressAsync = promisify(brotliCompress);

export interface FeedOptions {
  /**
   * Compress on libuv's thread pool at quality 5, the level the crawlers' bandwidth budget was set against.
   * Off, each page is compressed with `brotliCompressSync` and zlib's defaults, which is quality 11.
   */
  readonly offLoopCompression: boolean;
}

export interface FeedPage {
  readonly body: Buffer;
  readonly encoding: 'br' | 'identity';
}

export class CatalogFeed {
  readonly #db: Knex;
  readonly #options: FeedOptions;

  constructor(db: Knex, options: FeedOptions) {
    this.#db = db;
    this.#options = options;
  }

  async page(page: number, acceptsBrotli: boolean): Promise<FeedPage> {
    const rows = await this.#db('books')
      .join('authors', 'authors.id', 'books.author_id')
      .select(
        'books.id',
        'books.title',
        'books.isbn',
        'books.price_cents',
        'books.pages',
        'books.published_at',
        'authors.name as author',
      )
      .orderBy('books.id')
      .limit(FEED_PAGE_SIZE)
      .offset((page - 1) * FEED_PAGE_SIZE);
    const json = JSON.stringify({
      page,
      books: rows.map((b) => ({ ...b, url: `https://bookshop.example/books/${b.id}` })),
    });
    if (!acceptsBrotli) return { body: Buffer.from(json), encoding: 'identity' };
    return { body: await this.#compress(json), encoding: 'br' };
  }

  async #compress(json: string): Promise<Buffer> {
    if (!this.#options.offLoopCompression) return brotliCompressSync(json);
    return compressAsync(json, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } });
  }
}
