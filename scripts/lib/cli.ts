/**
 * The command line of the npm scripts (`demo`, `load`): `node:util` parseArgs; `-h` prints the usage and exits
 * 0; input parseArgs refuses goes to the script's `fail` (its name, the message, the usage, exit 2): never a
 * stack. Each script keeps its own `fail` as a declared function, so TypeScript knows it does not return.
 */
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';

export function parseCli<T extends ParseArgsOptionsConfig>(
  options: T,
  usage: string,
  fail: (message: string) => never,
): ReturnType<typeof parseArgs<{ options: T }>>['values'] {
  let values: ReturnType<typeof parseArgs<{ options: T }>>['values'];
  try {
    ({ values } = parseArgs({ options, allowPositionals: false }));
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
  if ((values as { help?: boolean }).help === true) {
    console.log(usage);
    process.exit(0);
  }
  return values;
}
