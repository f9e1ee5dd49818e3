/** Human and machine renderings of an analysis: a ranked table, Markdown (for CI comments), JSON. */
import type { Analysis } from './analyze.ts';
import type { Finding } from './types.ts';

export type ReportFormat = 'table' | 'markdown' | 'json';

const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 } as const;

function impact(f: Finding): string {
  return f.impact >= 0.01 ? `${f.impact.toFixed(2)} s/s` : f.impact > 0 ? '<0.01 s/s' : '—';
}

export function renderJson(analysis: Analysis): string {
  return `${JSON.stringify(
    {
      at: analysis.snapshot.at.toISOString(),
      window: analysis.snapshot.window,
      findings: analysis.findings,
      counts: counts(analysis.findings),
      ...(analysis.advisor === undefined ? {} : { advisor: analysis.advisor }),
    },
    null,
    2,
  )}\n`;
}

export function counts(findings: readonly Finding[]): Record<'critical' | 'warning' | 'info', number> {
  const out = { critical: 0, warning: 0, info: 0 };
  for (const f of findings) out[f.severity] += 1;
  return out;
}

/** What the database advisor did and could not do, one line each: never a silent gap. */
export function advisorLines(analysis: Analysis): string[] {
  const a = analysis.advisor;
  if (a === undefined) return [];
  if (!a.ran) return [`Database advisor: did not run (${a.error ?? 'unknown error'}).`];
  const hypo = a.hypopg === null ? 'HypoPG not installed: index advice not verified' : `HypoPG ${a.hypopg}`;
  return [
    `Database advisor: planned ${a.planned} of the ${a.statements} statements holding most database time, ${a.candidates} index candidates, ${hypo}.`,
    ...a.unplanned.map((u) => `  could not plan ${u.statement}: ${u.error}`),
    ...a.notes.map((n) => `  ${n}`),
  ];
}

export function renderTable(analysis: Analysis): string {
  const { findings, snapshot } = analysis;
  const header = [
    `Hotpath analysis — window ${snapshot.window}, ${snapshot.routes.length} routes, ${snapshot.runtime.length} instances, ${snapshot.statements.length} statements`,
    ...advisorLines(analysis),
  ].join('\n');
  if (findings.length === 0) return `${header}\nNo bottleneck found: every objective is met.\n`;
  const rows = findings.map((f, i) => [
    String(i + 1),
    f.severity.toUpperCase(),
    impact(f),
    f.layer,
    f.service,
    f.title,
  ]);
  const head = ['#', 'severity', 'impact', 'layer', 'service', 'finding'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => cell.padEnd(widths[c] ?? 0))
      .join('  ')
      .trimEnd();
  const fixes = findings
    .map(
      (f, i) =>
        `${i + 1}. ${f.recommendations[0]?.action ?? '—'}${f.recommendations[0]?.artifact ? `\n   ${f.recommendations[0].artifact.replaceAll('\n', '\n   ')}` : ''}`,
    )
    .join('\n');
  return `${header}\n\n${line(head)}\n${rows.map(line).join('\n')}\n\nWhat to change:\n${fixes}\n`;
}

export function renderMarkdown(analysis: Analysis): string {
  const { findings, snapshot } = analysis;
  const c = counts(findings);
  const lines = [
    `## Hotpath analysis (${snapshot.window})`,
    '',
    findings.length === 0
      ? 'No bottleneck found: every objective is met.'
      : `${c.critical} critical, ${c.warning} warning, ${c.info} info — ranked by impact (seconds of user time lost per second).`,
    ...advisorLines(analysis).map((l) => (l.startsWith('  ') ? `- ${l.trim()}` : `\n${l}`)),
  ];
  for (const f of [...findings].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity])) {
    lines.push('', `### ${f.severity.toUpperCase()} · ${f.title}`, '', f.summary, '');
    lines.push(
      `- layer: ${f.layer}; service: \`${f.service}\`; subject: \`${f.subject}\`; impact: ${impact(f)}`,
    );
    for (const r of f.recommendations) {
      lines.push(`- **${r.action}** (${r.confidence} confidence) — ${r.expectedGain}. Verify: ${r.verify}`);
      if (r.artifact !== undefined)
        lines.push('', '  ```', `  ${r.artifact.replaceAll('\n', '\n  ')}`, '  ```');
    }
    const q = f.evidence.queries[0];
    if (q !== undefined) lines.push(`- evidence (${q.language}): \`${q.text}\``);
  }
  return `${lines.join('\n')}\n`;
}

export function render(analysis: Analysis, format: ReportFormat): string {
  if (format === 'json') return renderJson(analysis);
  if (format === 'markdown') return renderMarkdown(analysis);
  return renderTable(analysis);
}
