import { describe, expect, it } from 'vitest';
import { KNOWN_SERIES, parsePromql } from '../../test/promql.ts';
import { alertingFile, alertRules } from './alerts.ts';
import { DASHBOARD_UIDS } from './dashboards/index.ts';

const rules = alertRules();
const file = alertingFile() as {
  groups: {
    rules: {
      uid: string;
      panelId?: number;
      labels: Record<string, string>;
      annotations: Record<string, string>;
    }[];
  }[];
  contactPoints: { name: string; receivers: { type: string; settings: Record<string, string> }[] }[];
  policies: {
    receiver: string;
    routes: { receiver: string; object_matchers: string[][]; mute_time_intervals?: string[] }[];
  }[];
  muteTimes: { name: string }[];
  templates: { name: string; template: string }[];
};

describe('alert rules generated from slo.yaml', () => {
  it('cover every objective the issue names, each with severity, summary, runbook and a dashboard panel', () => {
    const kinds = new Set(rules.map((r) => r.uid.replace(/-(default|s[0-9a-f]{8})$/, '')));
    for (const kind of [
      'hp-api-p95',
      'hp-burn-critical',
      'hp-burn-warning',
      'hp-db-p95',
      'hp-page-load-p75',
      'hp-lcp-p75',
      'hp-event-loop-p99',
      'hp-heap-growth',
      'hp-cpu',
      'hp-new-critical-finding',
      'hp-collector-export-failing',
      'hp-prometheus-ingestion-failing',
    ]) {
      expect(kinds.has(kind), kind).toBe(true);
    }
    for (const rule of file.groups.flatMap((g) => g.rules)) {
      expect(['critical', 'warning']).toContain(rule.labels.severity);
      expect(rule.annotations.summary?.length, rule.uid).toBeGreaterThan(10);
      expect(rule.annotations.description?.length, rule.uid).toBeGreaterThan(100);
      expect(rule.annotations.runbook_url).toMatch(/^\/d\/hotpath-/);
      expect(rule.uid.length, rule.uid).toBeLessThanOrEqual(40);
    }
    expect(new Set(rules.map((r) => r.uid)).size).toBe(rules.length);
  });

  it('link to existing dashboards, and to a panel where one shows the alerted series', () => {
    for (const rule of rules) expect(Object.values(DASHBOARD_UIDS), rule.uid).toContain(rule.dashboardUid);
    const withPanels = file.groups.flatMap((g) => g.rules).filter((r) => r.panelId !== undefined);
    expect(withPanels.length).toBeGreaterThanOrEqual(rules.length - 2);
  });

  it('query only catalogued series, in valid PromQL', () => {
    for (const rule of rules.filter((r) => r.datasource === 'prometheus')) {
      const parsed = parsePromql(rule.query);
      expect(parsed.errors, rule.uid).toEqual([]);
      for (const name of parsed.metricNames)
        expect(KNOWN_SERIES.has(name), `${rule.uid}: ${name}`).toBe(true);
    }
  });

  it('route by severity: criticals to the on-call receivers at any hour, warnings by e-mail in working hours', () => {
    const [policy] = file.policies;
    const critical = policy?.routes.find((r) => r.object_matchers[0]?.[2] === 'critical');
    const warning = policy?.routes.find((r) => r.object_matchers[0]?.[2] === 'warning');
    const oncall = file.contactPoints.find((c) => c.name === critical?.receiver);
    expect(oncall?.receivers.map((r) => r.type).sort()).toEqual(['email', 'slack', 'webhook']);
    expect(critical?.mute_time_intervals).toBeUndefined();
    expect(warning?.mute_time_intervals).toEqual([file.muteTimes[0]?.name]);
    for (const receiver of file.contactPoints.flatMap((c) => c.receivers)) {
      // No secret in the file: every address and URL comes from the environment.
      const target = receiver.settings.url ?? receiver.settings.addresses;
      expect(target, receiver.type).toMatch(/^\$[A-Z_]+$/);
    }
    expect(file.templates[0]?.template).toContain('define "hotpath.message"');
  });
});
