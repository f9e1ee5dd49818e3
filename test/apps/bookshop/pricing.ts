/**
 * Signed prices: every order carries an HMAC of what the customer was quoted, checked again when the payment
 * provider settles it. The HMAC key is derived from the merchant secret with scrypt.
 */
import { createHmac, scryptSync } from 'node:crypto';

/** scrypt cost: N = 2^15, r = 8, p = 2 needs 32 MiB and, on one core, about a sixth of a second. */
const SCRYPT = { N: 2 ** 15, r: 8, p: 2, maxmem: 64 * 1024 * 1024 } as const;

export interface Quote {
  readonly bookId: number;
  readonly quantity: number;
  readonly totalCents: number;
  readonly email: string;
}

export interface PriceSignerOptions {
  /** Derive the key once and keep it; off, each signature derives it again from the secret. */
  readonly cacheKey: boolean;
}

export class PriceSigner {
  readonly #secret: string;
  readonly #options: PriceSignerOptions;
  #key: Buffer | undefined;

  constructor(secret: string, options: PriceSignerOptions) {
    this.#secret = secret;
    this.#options = options;
    if (options.cacheKey) this.#key = this.#derive();
  }

  sign(quote: Quote): string {
    const key = (this.#options.cacheKey ? this.#key : undefined) ?? this.#derive();
    const canonical = `${quote.bookId}|${quote.quantity}|${quote.totalCents}|${quote.email.toLowerCase()}`;
    return createHmac('sha256', key).update(canonical).digest('base64url');
  }

  #derive(): Buffer {
    return scryptSync(this.#secret, 'bookshop-price-signature', 32, SCRYPT);
  }
}
