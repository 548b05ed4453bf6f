/**
 * PostgreSQL-only dispatch: the worker claims ready jobs straight from `jobs` (fair pick,
 * FOR UPDATE SKIP LOCKED, queued -> running), as many as it has free slots, and sleeps until a
 * LISTEN notification (`fivetier_jobs`, sent when jobs are inserted), a freed slot or the poll
 * interval (delayed jobs, retries) wakes it.
 */
import type pg from 'pg';
import { jobSetRunningFair } from '../tiers/queue/queries/jobs.js';
import { withAsyncCommit } from './async-commit.js';
import type { JobRow } from './job-states.js';
import { BackgroundLoop, type StepResult } from './loop.js';

/** Poll interval when idle, in ms (delayed jobs and retries have no notification). */
export const POLL_INTERVAL_MS_DEFAULT = 1_000;

export interface PostgresDispatchOptions {
  pool: pg.Pool;
  queues: readonly string[] | null;
  owner: string;
  /** Free handler slots right now. */
  free: () => number;
  timeoutsMs: () => Record<string, number>;
  defaultTimeoutMs: number;
  leaseGraceMs: number;
  pollIntervalMs: number;
  /** Run the claimed jobs (synchronously takes their slots). */
  onJobs: (rows: JobRow[]) => void;
  onError: (err: unknown) => void;
}

export class PostgresDispatch {
  readonly #o: PostgresDispatchOptions;
  readonly #loop: BackgroundLoop;

  constructor(options: PostgresDispatchOptions) {
    this.#o = options;
    this.#loop = new BackgroundLoop('postgres-claim', () => this.#step(), { idleMs: options.pollIntervalMs, onError: options.onError });
  }

  start(): void {
    this.#loop.start();
  }

  /** New jobs or a free slot. */
  wake(): void {
    this.#loop.wake();
  }

  /** Stop claiming (running jobs go on). Never throws. */
  stop(): Promise<void> {
    return this.#loop.stop();
  }

  async #step(): Promise<StepResult> {
    const o = this.#o;
    const want = Math.min(o.free(), 500);
    if (want <= 0) return 'idle';
    const rows = await withAsyncCommit(o.pool, (c) => jobSetRunningFair(c, o.queues, want, o.owner, o.timeoutsMs(), o.defaultTimeoutMs, o.leaseGraceMs));
    if (rows.length > 0) o.onJobs(rows);
    return rows.length === want ? 'more' : 'idle';
  }
}

/**
 * One connection that LISTENs on `fivetier_jobs` and calls `onNotify` for each notification;
 * reconnects after errors. Never throws.
 */
export class JobsListener {
  readonly #pool: pg.Pool;
  readonly #onNotify: () => void;
  #client: pg.PoolClient | undefined;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(pool: pg.Pool, onNotify: () => void) {
    this.#pool = pool;
    this.#onNotify = onNotify;
  }

  async start(): Promise<void> {
    try {
      const client = await this.#pool.connect();
      if (this.#stopped) return client.release();
      client.on('notification', () => this.#onNotify());
      client.on('error', (err) => this.#lost(err));
      await client.query('LISTEN fivetier_jobs');
      this.#client = client;
    } catch {
      this.#lost(undefined);
    }
  }

  #lost(err: Error | undefined): void {
    this.#client?.release(err ?? true);
    this.#client = undefined;
    if (this.#stopped || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.start();
    }, 1_000);
    this.#retry.unref();
    this.#onNotify(); // poll once the connection is back
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    if (client) {
      await client.query('UNLISTEN fivetier_jobs').catch(() => {});
      client.release();
    }
  }
}
