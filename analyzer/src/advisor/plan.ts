/**
 * What a generic plan shows, read from `EXPLAIN (FORMAT JSON)`: the nodes an index can remove (sequential scans,
 * explicit sorts), nested loops over many rows, and a row estimate far from what the statement returns on
 * average (pg_stat_statements' rows per call). Descriptions for evidence; the advisor's decision rests on the
 * cost a hypothetical index leaves, not on these.
 */
import type { PlanNode } from './database.ts';

export interface PlanFeature {
  readonly node: string;
  readonly relation?: string;
  readonly rows: number;
  readonly cost: number;
  readonly text: string;
}

/** A factor this far off either way is a misestimate worth a look (explain.depesz.com marks rows ×10 and up). */
export const MISESTIMATE_FACTOR = 10;

function walk(node: PlanNode, visit: (n: PlanNode) => void): void {
  visit(node);
  for (const child of node.Plans ?? []) walk(child, visit);
}

export function planFeatures(plan: PlanNode, rowsPerCall?: number): PlanFeature[] {
  const out: PlanFeature[] = [];
  walk(plan, (n) => {
    const type = n['Node Type'];
    const rows = n['Plan Rows'];
    const cost = n['Total Cost'];
    if (type === 'Seq Scan' && n['Relation Name'] !== undefined) {
      out.push({
        node: type,
        relation: n['Relation Name'],
        rows,
        cost,
        text: `Seq Scan on ${n['Relation Name']} (cost ${cost.toFixed(0)}, ${Math.round(rows)} rows out)`,
      });
    } else if (type === 'Sort' || type === 'Incremental Sort') {
      out.push({
        node: type,
        rows,
        cost,
        text: `${type} by ${(n['Sort Key'] ?? []).join(', ')} (cost ${cost.toFixed(0)}, ${Math.round(rows)} rows)`,
      });
    } else if (type === 'Nested Loop') {
      const outer = n.Plans?.find((p) => p['Parent Relationship'] === 'Outer');
      if (outer !== undefined)
        out.push({
          node: type,
          rows,
          cost,
          text: `Nested Loop over ${Math.round(outer['Plan Rows'])} outer rows (cost ${cost.toFixed(0)})`,
        });
    }
  });
  if (rowsPerCall !== undefined && rowsPerCall > 0) {
    const estimated = Math.max(plan['Plan Rows'], 1);
    const factor = Math.max(estimated / rowsPerCall, rowsPerCall / estimated);
    if (factor >= MISESTIMATE_FACTOR)
      out.push({
        node: 'Estimate',
        rows: estimated,
        cost: plan['Total Cost'],
        text: `The plan expects ${Math.round(estimated)} rows; calls return ${rowsPerCall.toFixed(1)} on average (${factor.toFixed(0)}× off)`,
      });
  }
  return out;
}

/** Whether the plan reads `relation` with a sequential scan. */
export function scansSequentially(plan: PlanNode, relation: string): boolean {
  let found = false;
  walk(plan, (n) => {
    if (n['Node Type'] === 'Seq Scan' && n['Relation Name'] === relation) found = true;
  });
  return found;
}

/** The index names a plan uses. */
export function indexesUsed(plan: PlanNode): string[] {
  const out = new Set<string>();
  walk(plan, (n) => {
    if (n['Index Name'] !== undefined) out.add(n['Index Name']);
  });
  return [...out];
}
