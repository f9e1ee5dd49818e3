/**
 * The prebuilt script (`hotpath-browser.js`): `<script src="/assets/hotpath.js" data-endpoint="/rum"
 * data-app="shop" async></script>` starts measuring with the script tag's `data-` attributes, for a page that
 * has no bundler of its own.
 */
import { startHotpathBrowser } from './index.ts';

const script = document.currentScript as HTMLScriptElement | null;
const data = script?.dataset ?? {};
startHotpathBrowser({
  ...(data.endpoint ? { endpoint: data.endpoint } : {}),
  ...(data.app ? { app: { name: data.app, ...(data.appVersion ? { version: data.appVersion } : {}) } } : {}),
});
