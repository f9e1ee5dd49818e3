/**
 * A finding's life in `hotpath serve` on the schedule, end to end: the demo with `missing-index` on, the
 * advisor's missing-index finding opened, with the slow customer-orders statement as its evidence; then the fix
 * (the DDL the finding prints, applied) while traffic goes on. The missing index is gone at once (the advisor plans the
 * schema as it is); the statement stays slow in pg_stat_statements' history (its totals since the reset), so
 * only judging each window's delta lets the statement's own finding, if it surfaces, resolve: both must, within
 * HOTPATH_AUTO_RESOLVE_AFTER of clean scheduled cycles (two cycles here) once a window holds only calls after the fix. The statement also runs under a second role,
 * so pg_stat_statements has two rows with one fingerprint: the cycles must succeed with one finding for it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { withClient } from '../scripts/lib/postgres.ts';
import { type ApiFinding, startTestAnalyzer, type TestAnalyzer } from './analyzer.ts';
import { eventually, shopDatabase, startTestDemo, uniqueService } from './harness.ts';

const INTERVAL_S = 20;
const WINDOW_S = 60;
const AUTO_RESOLVE_CYCLES = 2;
/** The demo's customer-orders statement (demo/src/app.ts), as the second role runs it too. */
const CUSTOMER_ORDERS = `SELECT o.id, o.product_id, p.name AS product, o.quantity, o.total_cents, o.status, o.created_at
       FROM orders o JOIN products p ON p.id = o.product_id
       WHERE o.customer_id = $1 ORDER BY o.created_at DESC LIMIT 20`;

interface Run {
  id: number;
  status: string;
  trigger: string;
  startedAt: string;
  changes: { resolved?: number; opened?: number };
}

describe('a statement finding in hotpath serve, on the schedule', () => {
  let analyzer: TestAnalyzer | undefined;
  afterAll(async () => {
    await analyzer?.stop();
  });

  it('opens, and resolves after the fix within HOTPATH_AUTO_RESOLVE_AFTER of clean cycles', async () => {
    const name = uniqueService('lifecycle');
    const databaseUrl = await shopDatabase('lifecycle');
    // A second application role that runs the same statement: two pg_stat_statements rows, one fingerprint.
    const reporter = `reporter_${name.split('-').at(-1)}`;
    await withClient(databaseUrl, async (c) => {
      await c.query(`CREATE ROLE ${reporter} LOGIN`);
      await c.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${reporter}`);
    });
    const reporterUrl = new URL(databaseUrl);
    reporterUrl.username = reporter;

    const demo = await startTestDemo({ scenarios: ['missing-index'], databaseUrl, service: name });
    let running = true;
    const traffic = (async () => {
      for (let i = 0; running; i++) {
        await (await fetch(`${demo.url}/api/customers/${1 + (i % 500)}/orders`)).arrayBuffer();
        if (i % 20 === 0) {
          await withClient(reporterUrl.toString(), (c) => c.query(CUSTOMER_ORDERS, [1 + (i % 500)]));
        }
      }
    })();
    try {
      analyzer = await startTestAnalyzer({
        APP_DATABASE_URL: databaseUrl,
        HOTPATH_DATABASE_SERVICE: name,
        HOTPATH_INTERVAL: `${INTERVAL_S}s`,
        HOTPATH_WINDOW: `${WINDOW_S}s`,
        HOTPATH_AUTO_RESOLVE_AFTER: `${AUTO_RESOLVE_CYCLES * INTERVAL_S}s`,
      });
      const a = analyzer;
      const slow = (fs: ApiFinding[]) =>
        fs.filter(
          (f) =>
            f.kind === 'slow-statement' && String(f.evidence.values.statement).includes('o.customer_id = $1'),
        );
      const missing = (fs: ApiFinding[]) =>
        fs.filter((f) => f.kind === 'missing-index' && f.subject.startsWith('public.orders (customer_id'));
      const [opened] = await eventually(async () => {
        const open = await a.findings(name, 'status=open');
        const found = missing(open);
        expect(found).toHaveLength(1);
        // The slow statement is its evidence, not a finding beside it.
        expect(slow(open)).toEqual([]);
        return found;
      }, 120_000);
      console.log(`[lifecycle] opened: ${opened?.title}`);

      // The fix, as a person applies it: the DDL the finding prints (the scenario stays on: its index stays gone).
      const ddl = String(opened?.evidence.values.ddl ?? '');
      expect(ddl).toMatch(/^CREATE INDEX CONCURRENTLY ON public\.orders \(customer_id/);
      await withClient(databaseUrl, (c) => c.query(ddl));
      const fixedAt = Date.now();
      const resolved = await eventually(
        async () => {
          const f = await a.api<ApiFinding>(`/api/v1/findings/${encodeURIComponent(opened?.id ?? '')}`);
          expect(f.status).toBe('resolved');
          // The statement's history is slow until the window holds only calls after the fix: its finding, if
          // it opened meanwhile, must be resolved too.
          expect(slow(await a.findings(name, 'status=open'))).toEqual([]);
          return f;
        },
        (WINDOW_S + (AUTO_RESOLVE_CYCLES + 3) * INTERVAL_S) * 1000,
        1_000,
      );
      // Two rows of one statement in pg_stat_statements (one per role), as the cycles saw them.
      const rows = await withClient(databaseUrl, (c) =>
        c.query<{ roles: number }>(
          `SELECT count(DISTINCT userid)::int AS roles FROM pg_stat_statements
           WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND query LIKE '%o.customer_id = $1%'`,
        ),
      );
      expect(rows.rows[0]?.roles).toBe(2);
      const { items: runs } = await a.api<{ items: Run[] }>('/api/v1/analyses?limit=100');
      const scheduled = runs.filter((r) => r.trigger === 'schedule');
      // Every cycle succeeded, with two rows of one fingerprint in pg_stat_statements.
      expect(scheduled.filter((r) => r.status !== 'succeeded')).toEqual([]);
      // Cycle k after the fix judges a window that holds only calls after it from k = WINDOW/INTERVAL + 1 on;
      // AUTO_RESOLVE_CYCLES clean cycles in a row then resolve it: by cycle WINDOW/INTERVAL + AUTO_RESOLVE_CYCLES.
      const afterFix = scheduled
        .filter((r) => Date.parse(r.startedAt) >= fixedAt)
        .sort((x, y) => x.id - y.id);
      const resolvedAt = afterFix.findIndex((r) => (r.changes.resolved ?? 0) > 0) + 1;
      const limit = WINDOW_S / INTERVAL_S + AUTO_RESOLVE_CYCLES;
      console.log(
        `[lifecycle] resolved ${((Date.now() - fixedAt) / 1000).toFixed(0)} s after the fix, by the ` +
          `${resolvedAt}. scheduled cycle after it (at most ${limit}: window ${WINDOW_S} s, interval ` +
          `${INTERVAL_S} s, HOTPATH_AUTO_RESOLVE_AFTER ${AUTO_RESOLVE_CYCLES * INTERVAL_S} s)`,
      );
      expect(resolved.status).toBe('resolved');
      expect(resolvedAt).toBeGreaterThan(0);
      expect(resolvedAt).toBeLessThanOrEqual(limit);
    } finally {
      running = false;
      await traffic.catch(() => {});
      await demo.stop();
    }
  }, 420_000);
});
