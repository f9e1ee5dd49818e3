// The stock setup, as a control: instrumentation-pg with connect spans off, http, and nothing of Hotpath's.
// Traces go where the standard OTEL_* variables say.
import { register } from 'node:module';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { createAddHookMessageChannel } from 'import-in-the-middle';

const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

new NodeSDK({
  instrumentations: [new HttpInstrumentation(), new PgInstrumentation({ ignoreConnectSpans: true })],
}).start();

await waitForAllMessagesAcknowledged();
