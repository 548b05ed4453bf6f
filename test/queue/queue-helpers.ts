import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Fivetier } from '../../src/platform.js';
import { ensureQueue } from '../../src/queue/operator.js';
import { freePort } from '../helpers/processes.js';

/** A queue of this test's own (tests share the database). */
export async function newQueue(ft: Fivetier, label: string): Promise<string> {
  const name = `t-${label}-${randomBytes(3).toString('hex')}`;
  await ensureQueue(ft.queue, name);
  return name;
}

/** Poll `check` until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, timeoutMs = 30_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Job counts by status in one queue. */
export async function statusCounts(ft: Fivetier, queue: string): Promise<Record<string, number>> {
  const { rows } = await ft.queue.poolFor('worker').query<{ status: string; n: number }>('select status, count(*)::int as n from jobs where queue_name = $1 group by 1', [queue]);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

export const HAVE_REDIS_SERVER = spawnSync('redis-server', ['--version']).status === 0;

/** Skip (locally) or fail (CI) when the redis-server binary is missing. */
export function redisServerOrSkip(): boolean {
  if (HAVE_REDIS_SERVER) return true;
  if (process.env.CI === 'true') throw new Error('CI=true but redis-server is not on PATH');
  console.warn('redis-server is not on PATH: skipping the tests that need a private Redis');
  return false;
}

/** A private redis-server on a free port (no persistence); restartable on the same port. */
export class PrivateRedis {
  port = 0;
  #child: ChildProcess | undefined;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const onData = (d: Buffer) => {
        out += d;
        if (/Ready to accept connections/.test(out)) {
          child.stdout!.off('data', onData);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
    });
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}
