/**
 * Rendered pages kept in memory, least recently used first out once the byte budget is reached. It fills
 * while traffic warms it up and then stays at the budget.
 */
export class PageCache {
  readonly #maxBytes: number;
  readonly #pages = new Map<string, string>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get(key: string): string | undefined {
    const page = this.#pages.get(key);
    if (page !== undefined) {
      // A Map iterates in insertion order: re-inserting makes this the most recently used entry.
      this.#pages.delete(key);
      this.#pages.set(key, page);
    }
    return page;
  }

  set(key: string, page: string): void {
    // Pages are JSON of ASCII text, so a character is a byte on the V8 heap.
    if (page.length > this.#maxBytes) return;
    this.delete(key);
    this.#pages.set(key, page);
    this.#bytes += page.length;
    for (const [oldest, evicted] of this.#pages) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#pages.delete(oldest);
      this.#bytes -= evicted.length;
    }
  }

  delete(key: string): void {
    const page = this.#pages.get(key);
    if (page === undefined) return;
    this.#pages.delete(key);
    this.#bytes -= page.length;
  }

  stats(): { entries: number; bytes: number } {
    return { entries: this.#pages.size, bytes: this.#bytes };
  }
}
