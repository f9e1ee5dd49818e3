/**
 * `npm run bench`: every benchmark, printing ratios measured side by side in this one run.
 *
 *   npm run bench -- [overhead|advisor|detect|scale|traces|soak|browser] [--quick] [--seconds 5] [--rounds 3]
 *                    [--warmup 60] [--detect-timeout 180] [--detect-interval 30] [--scenario error-burst,missing-index]
 *                    [--variants stock,untraced,unmetered,no-signals,unsampled,disabled,spin-25us,young-capped]
 *
 * `--quick`: the overhead bench with 2 s runs and the live OTLP sink only, without the profiled variant, and the
 * time-to-detect bench with 30 s warm-ups and 120 s to detect, the scale bench with 10 and 100 services only, and
 * the soak for 2 minutes instead of 5.
 */
import { parseArgs } from 'node:util';
import { benchAdvisor } from './advisor.ts';
import { benchBrowserSize } from './browser-size.ts';
import { benchDetect } from './detect.ts';
import { benchOverhead, VARIANT_NAMES, type Variant } from './overhead.ts';
import { benchScale } from './scale.ts';
import { benchSoak } from './soak.ts';
import { benchTraces } from './traces.ts';

const USAGE =
  'usage: npm run bench -- [overhead|advisor|detect|scale|traces|soak|browser] [--quick] [--seconds N] [--rounds N] [--warmup N] [--detect-timeout N] [--detect-interval N] [--scenario a,b] [--variants a,b]';
const BENCHES = ['overhead', 'advisor', 'detect', 'scale', 'traces', 'soak', 'browser'] as const;

function fail(message: string): never {
  console.error(`bench: ${message}\n${USAGE}`);
  process.exit(2);
}

let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
const OPTIONS = {
  quick: { type: 'boolean', default: false },
  seconds: { type: 'string' },
  rounds: { type: 'string' },
  warmup: { type: 'string' },
  'detect-timeout': { type: 'string' },
  'detect-interval': { type: 'string' },
  scenario: { type: 'string' },
  variants: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;
try {
  parsed = parseArgs({ options: OPTIONS, allowPositionals: true });
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
if (parsed.values.help) {
  console.log(USAGE);
  process.exit(0);
}
const only = parsed.positionals[0];
if (only !== undefined && !(BENCHES as readonly string[]).includes(only)) {
  fail(`unknown benchmark ${only} (one of ${BENCHES.join(', ')})`);
}
function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a whole number ≥ 1, not ${value}`);
  return n;
}
/** `n`, or the usage error before any work starts (the analyzer would refuse it only after the set-up). */
function atLeast(min: number, name: string, n: number): number {
  if (n < min) fail(`--${name} must be at least ${min} (HOTPATH_INTERVAL's minimum), not ${n}`);
  return n;
}
const quick = parsed.values.quick;
// BENCH_SECONDS and BENCH_ROUNDS, as before, where the flags are not given.
const seconds = positive('seconds', parsed.values.seconds ?? process.env.BENCH_SECONDS, quick ? 2 : 5);
const rounds = positive('rounds', parsed.values.rounds ?? process.env.BENCH_ROUNDS, 3);

if (only === undefined || only === 'overhead') {
  console.log('bench: instrumentation overhead (bare, stock OpenTelemetry, Hotpath) on three routes');
  const variants = parsed.values.variants?.split(',');
  const unknown = variants?.filter((v) => !(VARIANT_NAMES as readonly string[]).includes(v));
  if (unknown !== undefined && unknown.length > 0)
    fail(`unknown variant ${unknown.join(', ')} (one of ${VARIANT_NAMES.join(', ')})`);
  await benchOverhead({
    seconds,
    rounds,
    quick,
    ...(variants === undefined ? {} : { variants: variants as Variant[] }),
  });
}
if (only === undefined || only === 'advisor') {
  console.log('bench: index advisor, before and after its DDL');
  await benchAdvisor();
}
if (only === undefined || only === 'detect') {
  console.log('bench: time to detect each demo scenario in hotpath serve');
  await benchDetect({
    warmup: positive('warmup', parsed.values.warmup, quick ? 30 : 60),
    timeout: positive('detect-timeout', parsed.values['detect-timeout'], quick ? 120 : 180),
    intervalSeconds: atLeast(
      5,
      'detect-interval',
      positive('detect-interval', parsed.values['detect-interval'], 30),
    ),
    ...(parsed.values.scenario === undefined ? {} : { only: parsed.values.scenario.split(',') }),
  });
}
if (only === undefined || only === 'scale') {
  console.log(
    'bench: analyzer scale, one cycle over 10, 100 and 1 000 services × 10 routes in the real Prometheus',
  );
  await benchScale({ quick });
}
if (only === undefined || only === 'traces') {
  console.log('bench: trace throughput, parse + fingerprints + detectors against a plain JSON.parse');
  await benchTraces({ rounds });
}
if (only === undefined || only === 'soak') {
  console.log(
    'bench: soak, the instrumented app under steady load with a healthy, refusing, black-holed and slow collector',
  );
  await benchSoak({ quick });
}
if (only === undefined || only === 'browser') {
  console.log('bench: browser entry size');
  benchBrowserSize();
}
