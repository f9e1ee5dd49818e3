/** The shop's one HTML page and its assets, built once in memory. */
import { gzipSync } from 'node:zlib';

/** Size of the render-blocking vendor bundle in the `heavy-asset` scenario. */
export const HEAVY_ASSET_BYTES = 1_500_000;
/** How long the server holds the hero image (the page's LCP element) in the `slow-lcp` scenario. */
export const SLOW_LCP_DELAY_MS = 3_000;

const APP_JS = `// Hotpath demo shop
document.addEventListener('DOMContentLoaded', () => {
  fetch('/api/products?limit=12').then((r) => r.json()).then(({ products }) => {
    const list = document.getElementById('products');
    for (const p of products) {
      const li = document.createElement('li');
      li.textContent = p.name + ' — $' + (p.price_cents / 100).toFixed(2);
      list.appendChild(li);
    }
  });
});
`;

function heavyVendorBundle(bytes: number): string {
  // A realistic shape: a large table of data a vendor library ships and evaluates before first paint.
  const head = '/* vendor bundle (demo: heavy-asset) */\nwindow.__vendorTable = [\n';
  const tail = '];\n';
  const rows: string[] = [];
  let size = head.length + tail.length;
  for (let i = 0; size < bytes; i++) {
    const row = `  { id: ${i}, key: "k${(i * 2654435761) % 4294967296}", weight: ${(i % 97) / 97} },\n`;
    rows.push(row);
    size += row.length;
  }
  return head + rows.join('') + tail;
}

const HERO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="400" viewBox="0 0 1200 400">
<defs><linearGradient id="g" x1="0" x2="1"><stop offset="0" stop-color="#1f6feb"/><stop offset="1" stop-color="#8957e5"/></linearGradient></defs>
<rect width="1200" height="400" fill="url(#g)"/>
<text x="60" y="220" font-family="sans-serif" font-size="72" fill="#fff">Hotpath Shop — autumn sale</text>
</svg>`;

export interface PageOptions {
  readonly heavyAsset: boolean;
}

export function renderPage({ heavyAsset }: PageOptions): string {
  // In the heavy-asset scenario the vendor bundle sits in <head> without defer/async: the browser must
  // download and run 1.5 MB before it can paint anything.
  const blocking = heavyAsset ? '\n    <script src="/assets/vendor.js"></script>' : '';
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Hotpath demo shop</title>${blocking}
    <script src="/assets/app.js" defer></script>
    <style>
      body { font-family: system-ui, sans-serif; margin: 0; }
      header { padding: 1rem 2rem; background: #0d1117; color: #fff; }
      main { padding: 1rem 2rem; }
      #hero { width: 100%; max-width: 1200px; height: auto; aspect-ratio: 3 / 1; display: block; }
    </style>
  </head>
  <body>
    <header><strong>Hotpath demo shop</strong></header>
    <main>
      <img id="hero" src="/assets/hero.svg" width="1200" height="400" alt="Autumn sale">
      <h2>Products</h2>
      <ul id="products"></ul>
    </main>
  </body>
</html>
`;
}

export interface Asset {
  readonly body: Buffer;
  readonly gzipped: Buffer;
  readonly contentType: string;
}

function asset(body: string, contentType: string): Asset {
  const buffer = Buffer.from(body);
  return { body: buffer, gzipped: gzipSync(buffer), contentType };
}

export const ASSETS = {
  'app.js': asset(APP_JS, 'text/javascript; charset=utf-8'),
  'vendor.js': asset(heavyVendorBundle(HEAVY_ASSET_BYTES), 'text/javascript; charset=utf-8'),
  'hero.svg': asset(HERO_SVG, 'image/svg+xml'),
} as const;

export type AssetName = keyof typeof ASSETS;
export function isAssetName(name: string): name is AssetName {
  return Object.hasOwn(ASSETS, name);
}
