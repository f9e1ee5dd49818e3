/** Renderings of a comparison: a table for a terminal or CI log, Markdown for a CI comment, JSON for machines. */
import { formatSeconds, shortSql } from '../findings.ts';
import type { ReportFormat } from '../report.ts';
import type { CompareWindow, Comparison, RouteComparison, StatementComparison, Verdict } from './compare.ts';
import { ALPHA, EFFECT } from './compare.ts';

const when = (w: CompareWindow) =>
  `${w.label}${w.run === undefined ? '' : ` (${w.run.profile} ×${w.run.scale} against ${w.run.target})`}, ${w.start.toISOString()} → ${w.end.toISOString()}`;

const p95 = (s: number | null) => (s === null ? '—' : formatSeconds(s));
const pct = (r: number) => `${(r * 100).toFixed(1)} %`;
const pValue = (p: number) => (p < 1e-6 ? '<1e-6' : p.toPrecision(2));

function verdictText(v: Verdict): string {
  return `${v.metric} p=${pValue(v.p)} ${v.effectName}=${v.effect.toFixed(2)}${v.regressed ? ' REGRESSED' : v.significant ? ' (below the effect floor)' : ''}`;
}

function routeVerdict(r: RouteComparison): string {
  if (r.skipped !== undefined) return `not judged: ${r.skipped}`;
  return r.regressed ? 'REGRESSED' : 'ok';
}

function statementVerdict(s: StatementComparison): string {
  if (s.skipped !== undefined) return `not judged: ${s.skipped}`;
  return s.regressed ? 'REGRESSED' : 'ok';
}

export const METHOD = [
  `Method: one-sided tests, the candidate against the baseline, Holm-corrected over the whole comparison (α = ${ALPHA}).`,
  `Latency: Mann–Whitney U on the histogram buckets, effect Vargha–Delaney A ≥ ${EFFECT.a}; the tail: requests above the`,
  `baseline's p95 bucket, Cohen's h ≥ ${EFFECT.h}; both also slower (mean, p95) by advice_min_share_percent of latency_p95_ms;`,
  `errors: two proportions, h ≥ ${EFFECT.h}; throughput: two Poisson rates, h ≥ ${EFFECT.h};`,
  `statements: Welch on pg_stat_statements means, Cohen's d ≥ ${EFFECT.d} and slower by advice_min_share_percent of`,
  `query_p95_ms (slo.yaml), and calls per request as rates, h ≥ ${EFFECT.h}.`,
].join('\n');

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function routeRows(c: Comparison): string[][] {
  return c.routes.map((r) => [
    r.service,
    r.subject,
    `${r.baseline.requests} → ${r.candidate.requests}`,
    `${p95(r.baseline.p95Seconds)} → ${p95(r.candidate.p95Seconds)}`,
    `${pct(r.baseline.errorRatio)} → ${pct(r.candidate.errorRatio)}`,
    routeVerdict(r),
  ]);
}

function statementRows(c: Comparison): string[][] {
  return c.statements.map((s) => [
    shortSql(s.query, 60),
    `${s.baseline.calls} → ${s.candidate.calls}`,
    `${s.baseline.meanMs.toFixed(2)} → ${s.candidate.meanMs.toFixed(2)} ms`,
    `${s.baseline.callsPerRequest.toFixed(2)} → ${s.candidate.callsPerRequest.toFixed(2)}`,
    statementVerdict(s),
  ]);
}

export function renderComparisonTable(c: Comparison): string {
  const out = [
    `Hotpath compare — candidate ${when(c.candidate)}`,
    `                  baseline  ${when(c.baseline)}`,
    '',
    c.regressions.length === 0
      ? 'No regression: the candidate is not worse than the baseline on any route or statement.'
      : `${c.regressions.length} regression${c.regressions.length === 1 ? '' : 's'}:\n${c.regressions.map((l) => `  ✗ ${l}`).join('\n')}`,
    '',
    table([['service', 'route', 'requests', 'p95', 'errors', 'verdict'], ...routeRows(c)]),
  ];
  for (const r of c.routes.filter((x) => x.regressed))
    out.push(`  ${r.subject}: ${r.verdicts.map(verdictText).join('; ')}`);
  if (c.statements.length > 0) {
    out.push('', table([['statement', 'calls', 'mean', 'calls/request', 'verdict'], ...statementRows(c)]));
    for (const s of c.statements.filter((x) => x.regressed))
      out.push(`  ${shortSql(s.query, 60)}: ${s.verdicts.map(verdictText).join('; ')}`);
  }
  if (c.notes.length > 0) out.push('', ...c.notes.map((n) => `note: ${n}`));
  out.push('', METHOD);
  return `${out.join('\n')}\n`;
}

const md = (s: string) => s.replace(/\|/g, '\\|');

export function renderComparisonMarkdown(c: Comparison): string {
  const mdTable = (head: readonly string[], rows: readonly (readonly string[])[]) =>
    [
      `| ${head.join(' | ')} |`,
      `| ${head.map(() => '---').join(' | ')} |`,
      ...rows.map((r) => `| ${r.map(md).join(' | ')} |`),
    ].join('\n');
  const out = [
    '## Hotpath compare',
    '',
    `- candidate: ${when(c.candidate)}`,
    `- baseline: ${when(c.baseline)}`,
    '',
    c.regressions.length === 0
      ? '**No regression.**'
      : `**${c.regressions.length} regression${c.regressions.length === 1 ? '' : 's'}**\n\n${c.regressions.map((l) => `- ${l}`).join('\n')}`,
    '',
    mdTable(['service', 'route', 'requests', 'p95', 'errors', 'verdict'], routeRows(c)),
  ];
  if (c.statements.length > 0)
    out.push('', mdTable(['statement', 'calls', 'mean', 'calls/request', 'verdict'], statementRows(c)));
  if (c.notes.length > 0) out.push('', ...c.notes.map((n) => `- note: ${n}`));
  out.push('', METHOD.replace(/\n/g, ' '));
  return `${out.join('\n')}\n`;
}

export function renderComparisonJson(c: Comparison): string {
  const window = (w: CompareWindow) => ({
    label: w.label,
    start: w.start.toISOString(),
    end: w.end.toISOString(),
    ...(w.run === undefined
      ? {}
      : { run: { id: w.run.id, profile: w.run.profile, scale: w.run.scale, target: w.run.target } }),
  });
  return `${JSON.stringify(
    {
      baseline: window(c.baseline),
      candidate: window(c.candidate),
      alpha: c.alpha,
      regressions: c.regressions,
      routes: c.routes,
      statements: c.statements,
      notes: c.notes,
      findings: c.findings,
    },
    null,
    2,
  )}\n`;
}

export function renderComparison(c: Comparison, format: ReportFormat): string {
  if (format === 'json') return renderComparisonJson(c);
  if (format === 'markdown') return renderComparisonMarkdown(c);
  return renderComparisonTable(c);
}
