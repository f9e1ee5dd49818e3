import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prometheusConfig } from '@hotpath/instrumentation';
import { describe, expect, it } from 'vitest';

describe('toolchain', () => {
  it('runs the tests on Node 24 (the node@24 devDependency), not the machine Node', () => {
    expect(Number(process.versions.node.split('.')[0])).toBe(24);
  });

  it('generates a pull-mode Prometheus config that promtool accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotpath-promtool-'));
    try {
      const file = join(dir, 'prometheus.yml');
      writeFileSync(
        file,
        JSON.stringify(
          prometheusConfig({
            targets: [{ address: 'shop:9464', service: 'shop', namespace: 'demo' }],
            fileSdPaths: [join(dir, '*.json')],
          }),
        ),
      );
      const out = execFileSync('promtool', ['check', 'config', file], { encoding: 'utf8' });
      expect(out).toContain('SUCCESS');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
