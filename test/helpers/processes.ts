import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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

/** A test's child process: its combined output so far, and how it ended once all output is read. */
export type TestChild = ChildProcessWithoutNullStreams & {
  output: () => string;
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

/** A TypeScript script of the repository, run with tsx in a child process (environment: see childEnv). */
export function spawnScript(script: string, args: string[], env: Record<string, string>, options: { cwd?: string } = {}): TestChild {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { env: childEnv(env), cwd: options.cwd });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  // 'close', not 'exit': by then every byte the child wrote has been read.
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  return Object.assign(child, { output: () => out, ended });
}

/** The fivetier CLI from source, in a child process (of the checkout at `cwd`, default this one). */
export function spawnCli(args: string[], env: Record<string, string>, options: { cwd?: string } = {}): TestChild {
  return spawnScript('src/cli/main.ts', args, env, options);
}

/** Resolve when the child's output matches `pattern`; reject if it exits first or time runs out. */
export function waitForOutput(child: TestChild, pattern: RegExp, timeoutMs = 90_000): Promise<RegExpMatchArray> {
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

/** Resolve with the exit code once the child has ended (null when a signal ended it). */
export async function exitCode(child: TestChild): Promise<number | null> {
  return (await child.ended).code;
}

/**
 * `npm start` of the checkout at `cwd` (default this one), as a user types it: the build, then the
 * service. It runs in a process group of its own, so `interrupt` reaches npm, its shell and the
 * service together, as Ctrl-C in a terminal does. Test files that do this run one build at a
 * time (a lock held until the service listens or exits): two builds writing the same dist/
 * files at once could hand the second service a half-written module.
 */
export async function spawnNpmStart(env: Record<string, string>, options: { cwd?: string } = {}): Promise<TestChild & { interrupt: () => void }> {
  const release = await buildLock(resolve(options.cwd ?? '.'));
  const child = spawn('npm', ['start'], { env: childEnv(env), cwd: options.cwd, detached: true });
  let out = '';
  let released = false;
  const done = () => {
    if (!released) (released = true), release();
  };
  const onData = (d: Buffer) => {
    out += d;
    if (/listening on/.test(out)) done();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      done();
      resolve({ code, signal });
    }),
  );
  const interrupt = () => {
    try {
      process.kill(-child.pid!, 'SIGINT');
    } catch {
      // already gone
    }
  };
  return Object.assign(child, { output: () => out, ended, interrupt });
}

/** Take the build lock of the checkout at `dir` (a directory created atomically); resolves with its release. */
async function buildLock(dir: string): Promise<() => void> {
  const lock = join(tmpdir(), `fivetier-build-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}.lock`);
  for (;;) {
    try {
      mkdirSync(lock);
      return () => rmSync(lock, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // why: a lock left by a test process that died is older than any build
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
