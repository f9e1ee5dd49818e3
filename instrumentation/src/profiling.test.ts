import { describe, expect, it } from 'vitest';
import { asyncContextFrame, profilingConfig } from './profiling.ts';

describe('profiling configuration', () => {
  it('is off unless HOTPATH_PROFILING says on, and names the app after the service', () => {
    expect(profilingConfig('shop', {}).enabled).toBe(false);
    expect(profilingConfig('shop', { HOTPATH_PROFILING: ' ON ' })).toMatchObject({
      enabled: true,
      appName: 'shop',
    });
    expect(profilingConfig('shop', { HOTPATH_PROFILING: 'on', OTEL_SERVICE_NAME: 'checkout' }).appName).toBe(
      'checkout',
    );
    expect(profilingConfig(undefined, { HOTPATH_PROFILING: 'on' }).appName).toBe('unknown_service:node');
  });

  it('labels samples with their span where AsyncContextFrame runs, unless switched off', () => {
    const frame = asyncContextFrame();
    expect(profilingConfig('shop', { HOTPATH_PROFILING: 'on' }).spanLabels).toBe(frame);
    for (const off of ['off', 'false', '0', 'NO']) {
      expect(
        profilingConfig('shop', { HOTPATH_PROFILING: 'on', HOTPATH_PROFILING_SPAN_LABELS: off }).spanLabels,
      ).toBe(false);
    }
    expect(
      profilingConfig('shop', { HOTPATH_PROFILING: 'on', HOTPATH_PROFILING_SPAN_LABELS: 'on' }).spanLabels,
    ).toBe(frame);
  });

  it('knows where AsyncContextFrame is on', () => {
    expect(asyncContextFrame('24.1.0', [], '')).toBe(true);
    expect(asyncContextFrame('24.1.0', ['--no-async-context-frame'], '')).toBe(false);
    expect(asyncContextFrame('22.12.0', [], '')).toBe(false);
    expect(asyncContextFrame('22.12.0', [], '--experimental-async-context-frame')).toBe(true);
  });
});
