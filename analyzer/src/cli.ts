#!/usr/bin/env node
/**
 * `hotpath` — the analyzer's command line. This release carries `prometheus-config`; `serve`, `analyze` and
 * `migrate` join it with the analyzer service.
 */
import { Command, CommanderError } from 'commander';
import { prometheusConfigCommand } from './commands/prometheus-config.ts';
import { UsageError } from './errors.ts';

const program = new Command('hotpath')
  .description('Hotpath: finds the bottleneck, explains it, and proposes the fix.')
  .showHelpAfterError()
  .exitOverride();
program.addCommand(prometheusConfigCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version output are "errors" to commander; their exit code is 0.
    process.exitCode = error.exitCode;
  } else if (error instanceof UsageError) {
    console.error(`hotpath: ${error.message}`);
    process.exitCode = 2;
  } else {
    console.error(`hotpath: unexpected failure: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
