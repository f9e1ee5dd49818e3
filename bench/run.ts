/** `npm run bench`: every benchmark, printing ratios measured side by side in this one run. */
import { benchHttpOverhead } from './http-overhead.ts';

console.log('bench: instrumentation overhead');
await benchHttpOverhead();
