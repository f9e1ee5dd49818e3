/** The README's first screen is a promise: the commands, URLs and credentials it names must be the real ones. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../scripts/lib/demo.ts';
import { loadCompose } from './stack/compose.ts';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const firstScreen = readme.split('\n').slice(0, 40).join('\n');
const compose = loadCompose();
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

function publishedPort(service: string, container: number): number | undefined {
  for (const p of compose.services[service]?.ports ?? []) {
    const [host, target] = String(p).split(':');
    if (Number(target) === container) return Number(host);
  }
  return undefined;
}

describe('README quick start', () => {
  it('opens with the commands that run the product and the tests', () => {
    for (const command of ['docker compose up --wait', 'npm run setup', 'npm run demo', 'npm test'])
      expect(firstScreen).toContain(command);
    expect(pkg.scripts.setup).toBeDefined();
    expect(pkg.scripts.demo).toBeDefined();
    expect(pkg.scripts.test).toBeDefined();
  });

  it('is what CI runs: the same set-up command, then the same test command', () => {
    const ci = readFileSync(join(REPO_ROOT, '.ci', 'run'), 'utf8')
      .split('\n')
      .filter((line) => /^\s*npm /.test(line))
      .map((line) => line.trim());
    expect(ci[0]).toBe('npm run setup');
    expect(ci).toContain('npm test');
  });

  it('names the URLs compose really publishes', () => {
    const urls: [string, number, number][] = [
      ['grafana', 3000, publishedPort('grafana', 3000) ?? -1],
      ['demo', 3000, publishedPort('demo', 3000) ?? -1],
      ['prometheus', 9090, publishedPort('prometheus', 9090) ?? -1],
      ['tempo', 3200, publishedPort('tempo', 3200) ?? -1],
      ['mailpit', 8025, publishedPort('mailpit', 8025) ?? -1],
    ];
    for (const [service, , host] of urls) expect(readme, service).toContain(`http://localhost:${host}`);
  });

  it('gives the default Grafana credentials that compose sets, and says the stack was not started here', () => {
    const env = compose.services.grafana?.environment as Record<string, string>;
    expect(readme).toContain(`\`${env.GF_SECURITY_ADMIN_USER}\` / \`${env.GF_SECURITY_ADMIN_PASSWORD}\``);
    expect(readme).toMatch(/never been started here/);
  });
});
