/** Child processes that are always cleaned up, and waiting for them to become ready. */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { createServer } from 'node:net';

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Everything the process printed so far (bounded to the last 200 KB). */
  output(): string;
  /** Whether it has exited, and how. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Sends `signal`, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const MAX_OUTPUT = 200_000;
const live = new Set<ManagedProcess>();

// A test run or `npm run demo` that dies must not leave servers behind.
process.once('exit', () => {
  for (const p of live) p.child.kill('SIGKILL');
});

export interface StartProcessOptions extends Pick<SpawnOptions, 'cwd' | 'env' | 'uid' | 'gid'> {
  /** Also copy the output to this stream as it arrives. */
  readonly log?: NodeJS.WritableStream;
}

export function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  options: StartProcessOptions = {},
): ManagedProcess {
  const { log, ...spawnOptions } = options;
  const child = spawn(command, args, { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const append = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > MAX_OUTPUT) output = output.slice(-MAX_OUTPUT);
    log?.write(chunk);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      live.delete(managed);
      resolve();
    });
    child.once('error', (error) => {
      output += `\n[${name}] could not start: ${error.message}\n`;
      exit = { code: null, signal: null };
      live.delete(managed);
      resolve();
    });
  });
  const managed: ManagedProcess = {
    name,
    child,
    output: () => output,
    exited: () => exit,
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (exit !== undefined) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  live.add(managed);
  return managed;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not get a free port'));
      });
    });
  });
}

/** Polls `check` until it returns true; fails early, with the process output, if the process exits. */
export async function waitFor(
  what: string,
  timeoutMs: number,
  proc: ManagedProcess | undefined,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const exit = proc?.exited();
    if (exit !== undefined) {
      throw new Error(
        `${what}: ${proc?.name} exited (code ${exit.code}, signal ${exit.signal}) before it was ready.\n${proc?.output().slice(-4000)}`,
      );
    }
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const detail = lastError instanceof Error ? ` Last error: ${lastError.message}.` : '';
  throw new Error(
    `${what} was not ready within ${timeoutMs} ms.${detail}\n${proc?.output().slice(-4000) ?? ''}`,
  );
}
