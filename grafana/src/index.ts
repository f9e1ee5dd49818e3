export {
  ALERTMANAGER_TEMPLATE,
  type AlertLinks,
  alertmanagerConfig,
  COMPOSE_LINKS,
  FILE_SECRETS,
  findingLink,
  prometheusAlertRulesFile,
  type ReceiverSettings,
  receiverSettingsFromEnv,
} from './alertmanager.ts';
export {
  type AlertRouting,
  type AlertRuleSpec,
  alertingFile,
  alertName,
  alertRouting,
  alertRules,
  type Objective,
  RECEIVERS,
} from './alerts.ts';
export { DASHBOARD_UIDS, DATA_NEEDS, dashboards } from './dashboards/index.ts';
export { DATASOURCE_UIDS, datasourcesFile, STACK_URLS } from './datasources.ts';
