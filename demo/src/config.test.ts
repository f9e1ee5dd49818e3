import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('demo config', () => {
  it('has defaults that seed a shop big enough for a missing index to matter', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.seed.orders).toBe(2_000_000);
    expect(config.scenarios).toEqual([]);
  });

  it('reads DEMO_SCENARIOS, ignoring blanks and duplicates', () => {
    expect(loadConfig({ DEMO_SCENARIOS: ' n-plus-one,,missing-index,n-plus-one ' }).scenarios).toEqual([
      'n-plus-one',
      'missing-index',
    ]);
  });

  it('reports every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DEMO_POOL_MAX: '0', DEMO_SCENARIOS: 'n-plus-one,warp-drive' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('PORT');
    expect(problems).toContain('DEMO_POOL_MAX');
    expect(problems).toContain('warp-drive');
  });
});
