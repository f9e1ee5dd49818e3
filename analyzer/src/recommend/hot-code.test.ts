import { describe, expect, it } from 'vitest';
import type { HotFunction } from '../facts.ts';
import { asyncFormOf, hotCodeAdvice } from './hot-code.ts';

const base: HotFunction = {
  function: 'render',
  location: '/app/src/pages.js:12',
  frame_kind: 'app',
  share: 0.5,
  ms_per_s: 500,
  total_ms: 30_000,
  profiled_s: 60,
  source: 'embedded',
  stack: 'handle (/app/src/app.js:40)\nrender (/app/src/pages.js:12)',
  others: '',
  by_total: '',
};

describe('advice from the code a profile names', () => {
  it('knows the asynchronous form of the synchronous Node APIs', () => {
    expect(asyncFormOf('zlib.*Sync')).toContain('zlib.gzip');
    expect(asyncFormOf('fs.readFileSync')).toContain('fs.promises.readFile');
    expect(asyncFormOf('crypto.pbkdf2Sync')).toContain('crypto.pbkdf2 ');
    expect(asyncFormOf('child_process.execSync')).toContain('child_process.exec ');
    expect(asyncFormOf('crypto.randomBytes')).toContain('callback');
    // Not a synchronous twin of an async API: nothing to swap it for.
    expect(asyncFormOf('http.request')).toBeUndefined();
  });

  it('writes the change from the frame, the callee and the numbers', () => {
    const sync = hotCodeAdvice({ ...base, callee: 'fs.readFileSync', callee_kind: 'node-api' });
    expect(sync.action).toBe(
      "render (/app/src/pages.js:12) calls fs.readFileSync, which holds the thread until it returns (50 % of the main thread, 500 ms per second over 60 s profiled): use fs/promises readFile (await fs.promises.readFile(…)), which does the I/O on libuv's thread pool",
    );
    expect(sync.artifact).toContain('render (/app/src/pages.js:12)');

    const dep = hotCodeAdvice({ ...base, callee: 'ajv', callee_kind: 'dependency', route: 'POST /orders' });
    expect(dep.action).toContain(
      'render (/app/src/pages.js:12) spends 50 % of the main thread while POST /orders ran',
    );
    expect(dep.action).toContain('inside ajv');

    const own = hotCodeAdvice(base);
    expect(own.action).toContain('render (/app/src/pages.js:12) computes on the main thread');
    expect(own.action).toContain('worker thread');

    // A frame the wall profiler records for a regular expression (seen with @datadog/pprof on Node 24).
    const regex = hotCodeAdvice({ ...base, callee: 'RegExp: (a+)+$', callee_kind: 'native' });
    expect(regex.action).toContain('matching /(a+)+$/');
    expect(regex.action).toContain('without nested quantifiers');

    const lib = hotCodeAdvice({
      ...base,
      frame_kind: 'dependency',
      package: 'lodash',
      function: 'baseClone',
    });
    expect(lib.action).toMatch(/^lodash holds 50 %/);
  });
});
