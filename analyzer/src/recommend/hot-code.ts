/**
 * What to change in the code a wall profile names: the pure advice for a `HotFunction` fact. The change depends
 * on what the frame spent its time in:
 * - a synchronous Node API: its asynchronous form. Node's guide "Don't Block the Event Loop" names the APIs that
 *   block (zlib, crypto, fs and child_process `*Sync` calls), and their callback forms run on libuv's thread
 *   pool or in another process. https://nodejs.org/en/learn/asynchronous-work/dont-block-the-event-loop
 * - a dependency: that package, called from the app's frame;
 * - a regular expression (V8's `RegExp: <source>` frame): the pattern, which the same guide's ReDoS section
 *   says to bound or rewrite;
 * - the app's own computation: off the main thread (worker_threads), or done less often.
 */
import type { HotFunction } from '../facts.ts';
import { formatPercent, formatSeconds } from '../findings.ts';

/** Synchronous Node APIs whose asynchronous form is not just the name without `Sync`. */
const ASYNC_FORMS: Readonly<Record<string, string>> = {
  // Every zlib *Sync method is one closure on Node 24, so the profile cannot tell which one it was.
  'zlib.*Sync':
    "zlib's asynchronous form of the same call (zlib.gzip, zlib.deflate, zlib.brotliCompress…, or util.promisify of it), which compresses on libuv's thread pool",
  'zlib.syncBufferWrapper':
    "zlib's asynchronous form of the same call (zlib.gzip, zlib.deflate, zlib.brotliCompress…), which compresses on libuv's thread pool",
  'crypto.randomBytes': 'crypto.randomBytes with a callback (without one it runs on the main thread)',
};

/** The asynchronous form of a synchronous Node API, or undefined when the name does not say it is one. */
export function asyncFormOf(api: string): string | undefined {
  const known = ASYNC_FORMS[api];
  if (known !== undefined) return known;
  const m = /^([\w/]+)\.(\w+)Sync$/.exec(api);
  if (m === null) return undefined;
  const [, module, name] = m;
  if (module === 'fs')
    return `fs/promises ${name} (await fs.promises.${name}(…)), which does the I/O on libuv's thread pool`;
  if (module === 'child_process')
    return `child_process.${name} (callback or promisified), which does not wait for the child on the main thread`;
  return `${module}.${name} with a callback or promise, which runs off the main thread`;
}

function ms(value: number): string {
  return formatSeconds(value / 1000);
}

export interface HotCodeAdvice {
  readonly action: string;
  /** The stack down to the frame, for the artifact. */
  readonly artifact: string;
}

/** The change for the code named by `hot`, written from its frame, callee and numbers. */
export function hotCodeAdvice(hot: HotFunction): HotCodeAdvice {
  const where = `${hot.function} (${hot.location})`;
  const held =
    `${formatPercent(hot.share)} of the main thread${hot.route === undefined ? '' : ` while ${hot.route} ran`}, ` +
    `${ms(hot.ms_per_s)} per second over ${formatSeconds(hot.profiled_s)} profiled`;
  const artifact = `# wall profile (${hot.source}), outermost first\n${hot.stack}`;
  if (hot.callee_kind === 'node-api' && hot.callee !== undefined) {
    const form = asyncFormOf(hot.callee);
    if (form !== undefined) {
      return {
        action: `${where} calls ${hot.callee}, which holds the thread until it returns (${held}): use ${form}`,
        artifact,
      };
    }
    return {
      action: `${where} spends ${held} in ${hot.callee}: call it less often per request, or move the call to a worker thread (node:worker_threads)`,
      artifact,
    };
  }
  // V8 names a regular expression's matcher `RegExp: <source>` in CPU and wall profiles.
  if (hot.callee_kind === 'native' && hot.callee?.startsWith('RegExp: ') === true) {
    const source = hot.callee.slice('RegExp: '.length);
    return {
      action: `${where} spends ${held} matching /${source}/: a pattern that backtracks (a quantified group inside another quantifier, overlapping alternatives) grows with the input; rewrite it without nested quantifiers, bound the input's length before matching, or match in a worker thread`,
      artifact,
    };
  }
  if (hot.callee_kind === 'dependency' && hot.callee !== undefined) {
    return {
      action: `${where} spends ${held} inside ${hot.callee}: check whether ${hot.callee} has an asynchronous or streaming API for this call, call it less often per request (cache its result), or run it in a worker thread`,
      artifact,
    };
  }
  if (hot.frame_kind === 'dependency') {
    const pkg = hot.package ?? 'a dependency';
    return {
      action: `${pkg} holds ${held} in ${where}, and no frame of the app's own is above it: find what calls it so often (the stack below), or run that work in a worker thread`,
      artifact,
    };
  }
  return {
    action: `${where} computes on the main thread for ${held}: move it to a worker thread (node:worker_threads), compute it once and cache it, or split it into chunks that yield to the loop`,
    artifact,
  };
}
