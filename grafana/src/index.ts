export { type AlertRuleSpec, alertingFile, alertRules } from './alerts.ts';
export { DASHBOARD_UIDS, DATA_NEEDS, dashboards } from './dashboards/index.ts';
export { DATASOURCE_UIDS, datasourcesFile, STACK_URLS } from './datasources.ts';
