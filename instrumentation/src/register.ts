/**
 * `node --import @hotpath/instrumentation/register app.js` — instruments an ESM or CommonJS app with nothing
 * else on the command line. CommonJS modules are patched through require-in-the-middle; for ESM, the
 * import-in-the-middle loader hook is registered here, limited (through its message channel) to the modules an
 * instrumentation asked for, so the rest of the app's imports are left untouched.
 */
import { register } from 'node:module';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { startTelemetry } from './telemetry.ts';

const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

startTelemetry();

// The app's first import must not overtake the hooks the instrumentations just asked for.
await waitForAllMessagesAcknowledged();
