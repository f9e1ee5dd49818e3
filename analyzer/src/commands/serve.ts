/**
 * `hotpath serve`: scheduled analysis cycles and the HTTP API, configured from the environment (README
 * "Analyzer service"). SIGTERM/SIGINT finish the running cycle, then exit.
 */
import { Command } from 'commander';
import { pino } from 'pino';
import { cannotConnect, UpstreamError, where } from '../errors.ts';
import { loadServiceConfig } from '../service/config.ts';
import { startService } from '../service/service.ts';

export function serveCommand(): Command {
  return new Command('serve')
    .description(
      'Run the analyzer service: a cycle every HOTPATH_INTERVAL, findings stored with their lifecycle, the HTTP API on PORT. Configured by environment variables (see README).',
    )
    .action(async () => {
      const config = loadServiceConfig();
      const log = pino({
        level: config.logLevel,
        base: { service: 'hotpath-analyzer', replica: config.replica },
      });
      let service: Awaited<ReturnType<typeof startService>>;
      try {
        service = await startService(config, log);
      } catch (error) {
        if (error instanceof Error && !(error instanceof UpstreamError) && cannotConnect(error)) {
          throw new UpstreamError(
            'database',
            where(config.storeUrl),
            `the analyzer store is unreachable: ${error.message}`,
          );
        }
        throw error;
      }
      await new Promise<void>((resolve) => {
        const shutdown = (signal: string) => {
          log.info({ signal }, 'stopping: finishing the running cycle');
          service.stop().then(resolve, (error: unknown) => {
            log.error({ err: String(error) }, 'stop failed');
            resolve();
          });
        };
        process.once('SIGTERM', shutdown);
        process.once('SIGINT', shutdown);
      });
    });
}
