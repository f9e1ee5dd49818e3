/**
 * Real page views in headless Chromium: Debian's `chromium` (installed by scripts/setup-debian.sh), driven by
 * playwright-core through its `executablePath`; no test downloads a browser of its own.
 */
import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { missingMessage, TOOLS } from '../scripts/lib/tools.mjs';

/** Where Debian puts the browser; `HOTPATH_CHROMIUM` points elsewhere. */
export const CHROMIUM_PATH = TOOLS.chromium.locate() ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(missingMessage(TOOLS.chromium));
  }
  // As root in a container, Chromium's sandbox cannot start; /dev/shm is small there.
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

/**
 * Lighthouse's mobile "Slow 4G" under DevTools throttling (lighthouse `core/config/constants.js`
 * `throttling.mobileSlow4G`: 150 ms RTT × 3.75 = 562.5 ms request latency, 1.6 Mbps × 0.9 down, 750 kbps × 0.9
 * up), in CDP's units (bytes per second). The connection of a real user at about the 75th percentile of 4G.
 */
export const SLOW_4G = {
  offline: false,
  latency: 150 * 3.75,
  downloadThroughput: Math.floor((1.6 * 1024 * 0.9 * 1024) / 8),
  uploadThroughput: Math.floor((750 * 0.9 * 1024) / 8),
} as const;

export interface ViewOptions {
  /** Network conditions for the page (CDP `Network.emulateNetworkConditions`); default none. */
  readonly network?: typeof SLOW_4G;
  /** Clicks this selector once loaded, so the page has an interaction (INP). */
  readonly click?: string;
}

/**
 * One page view as a person makes it: open `url`, wait for the load event, interact, then leave (which hides
 * the page: the browser entry sends its batch with sendBeacon). The browser is given a moment to send the beacons
 * of a page it has left (they outlive the page, not its context); Playwright does not report them, so a test
 * confirms their arrival where they land (the app's metrics).
 */
export async function viewPage(browser: Browser, url: string, options: ViewOptions = {}): Promise<void> {
  const context: BrowserContext = await browser.newContext();
  try {
    const page = await context.newPage();
    if (options.network !== undefined) {
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', options.network);
    }
    await page.goto(url, { waitUntil: 'load', timeout: 90_000 });
    if (options.click !== undefined) await page.click(options.click, { timeout: 10_000 });
    // The navigation entry is read just after the load event; give it a moment to be queued.
    await page.waitForTimeout(300);
    await page.goto('about:blank');
    // A beacon over the page's network conditions: a few round trips of its latency.
    await page.waitForTimeout(1_000 + 3 * (options.network?.latency ?? 0));
  } finally {
    await context.close();
  }
}
