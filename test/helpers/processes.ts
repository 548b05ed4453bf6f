import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:net';
import { inject } from 'vitest';

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * The environment of a test's child process: PATH, HOME, the login roles' password on a test
 * server that asks for one, and `extra`. Nothing else of the test's own environment leaks in.
 */
export function childEnv(extra: Record<string, string>): Record<string, string> {
  const rolePassword = inject('rolePassword');
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...(rolePassword ? { FIVETIER_ROLE_PASSWORD: rolePassword } : {}), ...extra };
}

/** The fivetier CLI from source, in a child process, with the environment given (see childEnv). */
export function spawnCli(args: string[], env: Record<string, string>): ChildProcessWithoutNullStreams & { output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: childEnv(env) });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return Object.assign(child, { output: () => out });
}

/** Resolve when the child's output matches `pattern`; reject if it exits first or time runs out. */
export function waitForOutput(child: ReturnType<typeof spawnCli>, pattern: RegExp, timeoutMs = 90_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${child.output()}`));
    }, timeoutMs);
    const check = () => {
      const m = child.output().match(pattern);
      if (m) {
        cleanup();
        resolve(m);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`exited with ${code} before ${pattern}; output:\n${child.output()}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout.off('data', check);
      child.stderr.off('data', check);
      child.off('exit', onExit);
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.once('exit', onExit);
    check();
  });
}

/** Resolve with the exit code once the child has exited. */
export function exitCode(child: ReturnType<typeof spawnCli>): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
