import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from './processes.js';

export const HAVE_REDIS_SERVER = spawnSync('redis-server', ['--version']).status === 0;

/** Skip (locally) or fail (CI) when the redis-server binary is missing. */
export function redisServerOrSkip(): boolean {
  if (HAVE_REDIS_SERVER) return true;
  if (process.env.CI === 'true') throw new Error('CI=true but redis-server is not on PATH');
  console.warn('redis-server is not on PATH: skipping the tests that need a private Redis');
  return false;
}

/** Start `redis-server` with `args` (no persistence is the caller's to ask for); resolves once it accepts connections. */
export async function startRedisServer(args: string[]): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      if (/Ready to accept connections/.test(out)) {
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) => reject(new Error(`redis-server exited with ${code}: ${out}`));
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
  // why: nobody reads its output from here on; a full pipe must not stall the server
  child.stdout!.resume();
  child.stderr!.resume();
  return child;
}

/**
 * A redis-server of the test's own on a free port (no persistence, never the machine's shared
 * Redis): stopped, frozen (accepts connections, answers nothing) and started again on the same port.
 */
export class PrivateRedis {
  port = 0;
  #child: ChildProcess | undefined;

  /** A started one. */
  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis();
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    this.#child = await startRedisServer(['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction']);
  }

  /** Stop the server (its port refuses connections), frozen or not. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await gone;
  }

  /** The server accepts connections and answers nothing (SIGSTOP) until thaw(). */
  freeze(): void {
    this.#child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.#child?.kill('SIGCONT');
  }
}
