/**
 * Whether PostgreSQL plans a parameterized statement, without running it: the check that a proposed rewrite is
 * one the database accepts, before a person pastes it. The advisor's read-only session does the planning
 * (generic plan, read-only transaction rolled back, timeouts, never ANALYZE): see `advisor/database.ts`.
 */
import { parse } from 'libpg-query';
import { AdvisorSession, messageOf } from '../advisor/database.ts';

export type PlanCheck = { readonly ok: true } | { readonly ok: false; readonly error: string };

/** `{ ok: true }` when PostgreSQL plans `sql`; else PostgreSQL's message (or why it could not be asked). */
export async function plannable(databaseUrl: string, sql: string): Promise<PlanCheck> {
  try {
    // Sent as one simple-protocol string: a second statement after a `;` would run too.
    const tree = await parse(sql);
    if (tree.stmts?.length !== 1) return { ok: false, error: 'expected exactly one statement' };
  } catch (error) {
    return { ok: false, error: messageOf(error) };
  }
  let session: AdvisorSession;
  try {
    session = await AdvisorSession.open({ databaseUrl, applicationName: 'hotpath-plannable' });
  } catch (error) {
    return { ok: false, error: `cannot connect to PostgreSQL: ${messageOf(error)}` };
  }
  try {
    const result = await session.plan(sql);
    return result.ok ? { ok: true } : { ok: false, error: result.error };
  } finally {
    await session.close();
  }
}
