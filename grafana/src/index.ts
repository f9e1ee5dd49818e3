export { DATASOURCE_UIDS, datasourcesFile, STACK_URLS } from './datasources.ts';
