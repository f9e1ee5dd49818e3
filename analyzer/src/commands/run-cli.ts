/** Runs the `hotpath` CLI as a child process, as a user would, for tests: exit code and both streams. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const CLI = join(import.meta.dirname, '..', 'cli.ts');

export async function hotpath(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return hotpathWithEnv({}, ...args);
}

/** The same, with extra environment variables (`undefined` removes one the test runner has). */
export async function hotpathWithEnv(
  env: Readonly<Record<string, string | undefined>>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const merged: Record<string, string | undefined> = { ...process.env, ...env };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      maxBuffer: 10_000_000,
      env: merged as NodeJS.ProcessEnv,
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
