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

export class ShippingQuotes {
  readonly #db: Knex;
  readonly #carrier: CarrierClient;

  constructor(db: Knex, carrier: CarrierClient) {
    this.#db = db;
    this.#carrier = carrier;
  }

  async quote(bookId: number, country: string): Promise<{ bookId: number; country: string; rates: Rate[] }> {
    const book = (await this.#db('books').where({ id: bookId }).first('id', 'pages')) as
      | { id: number; pages: number }
      | undefined;
    if (book === undefined) throw new NotFoundError(`book ${bookId}`);
    // Paperback stock weighs about 2 g a page, plus the packaging.
    const rates = await this.#carrier.rates({ weightGrams: 80 + book.pages * 2, country });
    return { bookId, country, rates };
  }
}
