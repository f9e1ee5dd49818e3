/**
 * The shop's server-rendered pages: the author page lists an author's books with their rating, rendered from
 * the same eager-loaded query as the JSON API; the delivery page quotes a book to every country the shop
 * delivers to; the back office's sales report is the report's HTML form. Every page carries the Hotpath browser entry (served from
 * `@hotpath/instrumentation`'s prebuilt file) and the `traceparent` of the request that rendered it, so the
 * page's load and the server's work are one trace.
 */
import { traceparentMeta } from '@hotpath/instrumentation';
import type { Author, BookSummary, Review } from './catalog.ts';
import type { Rate } from './shipping.ts';

/** Where the pages' browser measurements go (`browserCollector` in app.ts). */
export const RUM_PATH = '/rum';
/** The page routes the collector accepts; any other path is counted as `other`. */
export const PAGE_ROUTES = ['/authors/:id', '/books/:id/delivery', '/reports/sales'] as const;
export const BROWSER_SCRIPT_URL = '/assets/hotpath.js';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function rating(reviews: readonly Review[]): string {
  if (reviews.length === 0) return 'no reviews yet';
  const average = reviews.reduce((sum, r) => sum + r.rating, 0) / reviews.length;
  return `${average.toFixed(1)} ★ (${reviews.length} reviews)`;
}

/** A page of the shop: its head carries the browser entry and the traceparent of the request rendering it. */
function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${escapeHtml(title)} · Bookshop</title>${traceparentMeta()}
    <script src="${BROWSER_SCRIPT_URL}" data-endpoint="${RUM_PATH}" data-app="bookshop" defer></script>
    <style>
      body { font: 16px/1.5 Georgia, serif; margin: 0 auto; max-width: 48rem; padding: 1rem; }
      h1 { font-size: 2.5rem; margin-bottom: 0.25rem; }
      td, th { padding: 0.1rem 0.6rem; text-align: left; }
    </style>
  </head>
  <body>
${body}
  </body>
</html>
`;
}

export function authorPage(author: Author, books: readonly (BookSummary & { reviews: Review[] })[]): string {
  const items = books
    .map(
      (b) =>
        `<li><a href="/books/${b.id}">${escapeHtml(b.title)}</a> · ${b.pages} pages · ` +
        `€${(b.price_cents / 100).toFixed(2)} · ${rating(b.reviews)}</li>`,
    )
    .join('\n        ');
  return page(
    author.name,
    `    <h1>${escapeHtml(author.name)}</h1>
    <p class="bio">${escapeHtml(author.bio)}</p>
    <h2>${books.length} books</h2>
    <ul>
        ${items}
    </ul>`,
  );
}

/** Rows as a table, one column per field of the first row. */
function table(rows: readonly unknown[]): string {
  const records = rows as readonly Record<string, unknown>[];
  const columns = Object.keys(records[0] ?? {});
  const cell = (v: unknown) => escapeHtml(v instanceof Date ? v.toISOString().slice(0, 10) : String(v));
  const head = columns.map((c) => `<th>${escapeHtml(c.replaceAll('_', ' '))}</th>`).join('');
  const body = records.map((r) => `<tr>${columns.map((c) => `<td>${cell(r[c])}</td>`).join('')}</tr>`);
  return `<table>\n      <tr>${head}</tr>\n      ${body.join('\n      ')}\n    </table>`;
}

export function deliveryPage(delivery: {
  book: { id: number; title: string };
  countries: readonly { country: string; rates: readonly Rate[] }[];
}): string {
  const rows = delivery.countries.flatMap(({ country, rates }) =>
    rates.map((r) => ({
      country,
      service: r.service,
      price: `€${(r.priceCents / 100).toFixed(2)}`,
      days: r.days,
    })),
  );
  return page(
    `Delivery of ${delivery.book.title}`,
    `    <h1>${escapeHtml(delivery.book.title)}</h1>
    <h2>Delivery</h2>
    ${table(rows)}`,
  );
}

export function salesPage(report: { periods: readonly unknown[]; topTitles: readonly unknown[] }): string {
  return page(
    'Sales',
    `    <h1>Sales</h1>
    <h2>By period</h2>
    ${table(report.periods)}
    <h2>Top titles</h2>
    ${table(report.topTitles)}`,
  );
}
