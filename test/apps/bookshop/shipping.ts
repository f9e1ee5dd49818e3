/** Shipping quotes: the parcel comes from the catalogue, the rates from the carrier's API. */
import type { Knex } from 'knex';
import { NotFoundError, UpstreamError } from './errors.ts';

export interface Rate {
  readonly service: string;
  readonly priceCents: number;
  readonly days: number;
}

export class CarrierClient {
  readonly #baseUrl: string;

  constructor(baseUrl: string) {
    this.#baseUrl = baseUrl;
  }

  async rates(parcel: { weightGrams: number; country: string }): Promise<Rate[]> {
    let response: Response;
    try {
      response = await fetch(new URL('/v1/rates', this.#baseUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(parcel),
        signal: AbortSignal.timeout(3_000),
      });
    } catch (error) {
      throw new UpstreamError('carrier', error instanceof Error ? error.message : String(error));
    }
    if (!response.ok) throw new UpstreamError('carrier', `rates answered ${response.status}`);
    return ((await response.json()) as { rates: Rate[] }).rates;
  }
}

/** Where the shop delivers (16 of the EU's countries): the delivery page quotes each of them. */
// biome-ignore format: sixteen codes read best on one line
export const DELIVERY_COUNTRIES = [
  'DE', 'AT', 'FR', 'NL', 'BE', 'LU', 'IT', 'ES', 'PT', 'PL', 'CZ', 'DK', 'SE', 'FI', 'IE', 'SI',
] as const;

export interface ShippingOptions {
  /**
   * The delivery page asks the carrier for every country at once. Off, it asks for one country after another,
   * as the page's first version did (a `for … await` loop).
   */
  readonly concurrentCarrierCalls: boolean;
}

/** Paperback stock weighs about 2 g a page, plus the packaging. */
const weightGrams = (pages: number) => 80 + pages * 2;

export class ShippingQuotes {
  readonly #db: Knex;
  readonly #carrier: CarrierClient;
  readonly #options: ShippingOptions;

  constructor(db: Knex, carrier: CarrierClient, options: ShippingOptions) {
    this.#db = db;
    this.#carrier = carrier;
    this.#options = options;
  }

  async #book(bookId: number): Promise<{ id: number; title: string; pages: number }> {
    const book = (await this.#db('books').where({ id: bookId }).first('id', 'title', 'pages')) as
      | { id: number; title: string; pages: number }
      | undefined;
    if (book === undefined) throw new NotFoundError(`book ${bookId}`);
    return book;
  }

  async quote(bookId: number, country: string): Promise<{ bookId: number; country: string; rates: Rate[] }> {
    const book = await this.#book(bookId);
    const rates = await this.#carrier.rates({ weightGrams: weightGrams(book.pages), country });
    return { bookId, country, rates };
  }

  /** The book's rates to every country the shop delivers to. */
  async delivery(
    bookId: number,
  ): Promise<{ book: { id: number; title: string }; countries: { country: string; rates: Rate[] }[] }> {
    const book = await this.#book(bookId);
    const parcel = (country: string) => ({ weightGrams: weightGrams(book.pages), country });
    const quoted = async (country: string) => ({
      country,
      rates: await this.#carrier.rates(parcel(country)),
    });
    const countries: { country: string; rates: Rate[] }[] = [];
    if (this.#options.concurrentCarrierCalls)
      countries.push(...(await Promise.all(DELIVERY_COUNTRIES.map(quoted))));
    else for (const country of DELIVERY_COUNTRIES) countries.push(await quoted(country));
    return { book: { id: book.id, title: book.title }, countries };
  }
}
