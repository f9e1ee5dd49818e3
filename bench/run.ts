/** `npm run bench`: every benchmark, printing ratios measured side by side in this one run. */
import { benchAdvisor } from './advisor.ts';
import { benchBrowserSize } from './browser-size.ts';
import { benchHttpOverhead } from './http-overhead.ts';

const only = process.argv[2];
if (only === undefined || only === 'overhead') {
  console.log('bench: instrumentation overhead');
  await benchHttpOverhead();
}
if (only === undefined || only === 'advisor') {
  console.log('bench: index advisor, before and after its DDL');
  await benchAdvisor();
}
if (only === undefined || only === 'browser') {
  console.log('bench: browser entry size');
  benchBrowserSize();
}
