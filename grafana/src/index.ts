export { type AlertRuleSpec, alertingFile, alertRules } from './alerts.ts';
export { DATASOURCE_UIDS, datasourcesFile, STACK_URLS } from './datasources.ts';
