#!/usr/bin/env node
/**
 * `hotpath` — the analyzer's command line: `serve` (the service), `analyze` (one shot, CI gate), `compare` (a
 * load-test run against a baseline, CI gate), `advise` (the
 * database advisor alone), `migrate`
 * (the store's schema), `token` (API tokens), `prometheus-config` and `silence` (acknowledge an alert).
 */
import { Command, CommanderError } from 'commander';
import { adviseCommand } from './commands/advise.ts';
import { analyzeCommand } from './commands/analyze.ts';
import { compareCommand } from './commands/compare.ts';
import { migrateCommand } from './commands/migrate.ts';
import { prometheusConfigCommand } from './commands/prometheus-config.ts';
import { serveCommand } from './commands/serve.ts';
import { silenceCommand } from './commands/silence.ts';
import { tokenCommand } from './commands/token.ts';
import { ConfigError, UpstreamError, UsageError } from './errors.ts';
import { SloError } from './slo.ts';

const program = new Command('hotpath')
  .description('Hotpath: finds the bottleneck, explains it, and proposes the fix.')
  .showHelpAfterError()
  .exitOverride();
program.addCommand(serveCommand());
program.addCommand(analyzeCommand());
program.addCommand(compareCommand());
program.addCommand(adviseCommand());
program.addCommand(migrateCommand());
program.addCommand(tokenCommand());
program.addCommand(prometheusConfigCommand());
program.addCommand(silenceCommand());
// Added commands do not inherit these settings: usage errors must reach the handler below (exit 2), not exit 1.
for (const command of program.commands) command.exitOverride().showHelpAfterError();

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version output are "errors" to commander (exit 0); every other one is bad usage (exit 2).
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof UsageError || error instanceof ConfigError || error instanceof SloError) {
    console.error(`hotpath: ${error.message}`);
    process.exitCode = 2;
  } else if (error instanceof UpstreamError) {
    console.error(`hotpath: ${error.message}`);
    process.exitCode = 3;
  } else {
    console.error(`hotpath: unexpected failure: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
