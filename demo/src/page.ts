/** The shop's one HTML page and its assets, built once in memory. */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { BROWSER_SCRIPT_PATH } from '@hotpath/instrumentation';

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

/**
 * The hero banner: a gradient under a few hundred shapes. Detailed enough to be the page's LCP element: Chrome
 * leaves out of LCP an image with less than 0.05 bits of encoded data per displayed pixel (a plain gradient is
 * a few hundred bytes for 480 000 pixels), so a flat placeholder would never be measured.
 */
function heroSvg(): string {
  let seed = 7;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const shapes: string[] = [];
  for (let i = 0; i < 400; i++) {
    const x = Math.round(next() * 1200);
    const y = Math.round(next() * 400);
    const r = Math.round(4 + next() * 36);
    const hue = Math.round(200 + next() * 100);
    shapes.push(
      `<circle cx="${x}" cy="${y}" r="${r}" fill="hsl(${hue} 80% 60%)" opacity="${(0.2 + next() * 0.5).toFixed(2)}"/>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="400" viewBox="0 0 1200 400">
<defs><linearGradient id="g" x1="0" x2="1"><stop offset="0" stop-color="#1f6feb"/><stop offset="1" stop-color="#8957e5"/></linearGradient></defs>
<rect width="1200" height="400" fill="url(#g)"/>
${shapes.join('\n')}
<text x="60" y="220" font-family="sans-serif" font-size="72" fill="#fff">Hotpath Shop — autumn sale</text>
</svg>`;
}
const HERO_SVG = heroSvg();

export interface PageOptions {
  readonly heavyAsset: boolean;
  /** `<meta name="traceparent">` of the request's server span (`traceparentMeta()`), or `''`. */
  readonly traceparent?: string;
}

/** Where the page's browser measurements go (`browserCollector` in app.ts). */
export const RUM_PATH = '/rum';

export function renderPage({ heavyAsset, traceparent = '' }: PageOptions): string {
  // In the heavy-asset scenario the vendor bundle sits in <head> without defer/async: the browser must
  // download and run 1.5 MB before it can paint anything.
  const blocking = heavyAsset ? '\n    <script src="/assets/vendor.js"></script>' : '';
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Hotpath demo shop</title>${traceparent}
    <script src="/assets/hotpath.js" data-endpoint="${RUM_PATH}" data-app="demo-shop" defer></script>${blocking}
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
  // @hotpath/instrumentation's prebuilt browser entry: Web Vitals, Navigation and Resource Timing, to RUM_PATH.
  'hotpath.js': asset(readFileSync(BROWSER_SCRIPT_PATH, 'utf8'), 'text/javascript; charset=utf-8'),
} as const;

export type AssetName = keyof typeof ASSETS;
export function isAssetName(name: string): name is AssetName {
  return Object.hasOwn(ASSETS, name);
}
