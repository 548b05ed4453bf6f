/**
 * Redis dispatch with BullMQ: a dispatcher loop moves ready jobs from PostgreSQL into one BullMQ
 * queue per fivetier queue (queued -> dispatched, under a dispatch lease), and BullMQ workers hand
 * each job's id to the executor, which starts it in PostgreSQL (dispatched -> running) before
 * the handler runs. Redis holds ids only; PostgreSQL stays the source of truth, so a Redis copy
 * that is lost is re-dispatched when its lease expires, and a copy that is stale is dropped.
 */
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { jobCountDispatched, jobSetDispatchedFair, jobSetQueuedIfLeasedBy } from '../tiers/queue/queries/jobs.js';
import { withAsyncCommit } from './async-commit.js';
import type { JobRow } from './job-states.js';
import { BackgroundLoop, type StepResult } from './loop.js';

/** Jobs at most in Redis (dispatched, not started) per dispatcher: keeps PostgreSQL's fair order decisive. */
export const DISPATCH_WINDOW_DEFAULT = 1_000;
/** Jobs per dispatch batch. */
export const DISPATCH_BATCH_DEFAULT = 500;
/** How long a dispatched job may sit in Redis before the rescuer re-dispatches it, in ms. */
export const DISPATCH_LEASE_MS_DEFAULT = 30_000;

/** How long stop() waits for the loop and BullMQ to close, in ms. */
const STOP_WAIT_MS = 2_000;
/** How long one push to Redis may take before the batch is given back, in ms. */
const PUSH_TIMEOUT_MS = 5_000;
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export interface RedisDispatchOptions {
  url: string;
  /** BullMQ key prefix (default `fivetier`). */
  prefix: string;
  /** fivetier queues served. */
  queues: readonly string[];
  /** BullMQ worker concurrency per queue. */
  concurrency: number;
  pool: pg.Pool;
  /** Lease owner of dispatched jobs. */
  dispatcherId: string;
  window: number;
  batch: number;
  dispatchLeaseMs: number;
  /** Run one job taken from Redis. Must not throw. */
  onJob: (tenantId: string, id: string) => Promise<void>;
  onError: (err: unknown) => void;
}

interface JobRef {
  t: string;
  i: string;
}

export class RedisDispatch {
  readonly #o: RedisDispatchOptions;
  readonly #connections: Redis[] = [];
  readonly #producers = new Map<string, Queue>();
  readonly #workers: Worker[] = [];
  readonly #loop: BackgroundLoop;
  /** Jobs this dispatcher pushed, counted down as they start (refreshed from PostgreSQL when low). */
  dispatched = 0;

  constructor(options: RedisDispatchOptions) {
    this.#o = options;
    this.#loop = new BackgroundLoop('redis-dispatcher', () => this.#step(), { idleMs: 500, onError: options.onError });
  }

  /** Open the BullMQ queues and workers and start dispatching. Throws when Redis refuses. */
  async start(): Promise<void> {
    const o = this.#o;
    const producerConn = new Redis(o.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
    producerConn.on('error', () => {});
    this.#connections.push(producerConn);
    for (const name of o.queues) {
      const q = new Queue<JobRef>(name, { connection: producerConn, prefix: o.prefix });
      q.on('error', () => {});
      this.#producers.set(name, q);
      const conn = new Redis(o.url, { maxRetriesPerRequest: null, connectTimeout: 2_000 });
      conn.on('error', () => {});
      this.#connections.push(conn);
      const w = new Worker<JobRef>(name, (job: Job<JobRef>) => o.onJob(job.data.t, job.data.i), {
        connection: conn,
        prefix: o.prefix,
        concurrency: o.concurrency,
        // why: PostgreSQL leases and the rescuer handle lost workers; BullMQ's own stall
        // handling would only re-deliver copies that the start guard drops anyway.
        skipStalledCheck: true,
        skipLockRenewal: true,
      });
      w.on('error', () => {});
      this.#workers.push(w);
    }
    await Promise.all([...this.#producers.values()].map((q) => q.waitUntilReady()));
    this.#loop.start();
  }

  /** New jobs may be ready. */
  wake(): void {
    this.#loop.wake();
  }

  /** A job taken from Redis started (or was dropped): room in the window. */
  taken(): void {
    if (this.dispatched > 0) this.dispatched--;
    if (this.dispatched < this.#o.window / 2) this.#loop.wake();
  }

  async #step(): Promise<StepResult> {
    const o = this.#o;
    if (this.dispatched >= o.window / 2) {
      // why: local counts drift (other processes' workers take our jobs); PostgreSQL knows.
      this.dispatched = await jobCountDispatched(o.pool, o.queues);
      // why: refill in large batches once half the window has drained; small refills cost a claim each
      if (this.dispatched >= o.window / 2) return 'idle';
    }
    const room = Math.min(o.batch, o.window - this.dispatched);
    if (room <= 0) return 'idle';
    const rows = await withAsyncCommit(o.pool, (c) => jobSetDispatchedFair(c, o.queues, room, o.dispatcherId, o.dispatchLeaseMs));
    if (rows.length === 0) return 'idle';
    try {
      await Promise.race([this.#push(rows), delay(PUSH_TIMEOUT_MS).then(() => Promise.reject(new Error(`Redis did not take ${rows.length} jobs within ${PUSH_TIMEOUT_MS} ms`)))]);
    } catch (err) {
      // why: Redis refused the batch; give the jobs back now rather than after the lease.
      await jobSetQueuedIfLeasedBy(o.pool, o.dispatcherId, rows.map((r) => r.id));
      throw err;
    }
    this.dispatched += rows.length;
    return rows.length === room ? 'more' : 'idle';
  }

  async #push(rows: JobRow[]): Promise<void> {
    const byQueue = new Map<string, JobRow[]>();
    for (const r of rows) byQueue.set(r.queue_name, [...(byQueue.get(r.queue_name) ?? []), r]);
    await Promise.all(
      [...byQueue].map(([name, jobs]) =>
        this.#producers.get(name)!.addBulk(
          jobs.map((r) => ({
            name: r.job_type,
            data: { t: r.tenant_id, i: r.id },
            // why: one Redis copy per job at a time; a re-dispatch while a copy waits is a no-op.
            // No BullMQ priority: the window is small, so PostgreSQL's lane order decides (and
            // BullMQ's prioritized path measured slower).
            opts: { jobId: `${r.tenant_id}_${r.id}`, removeOnComplete: true, removeOnFail: true },
          })),
        ),
      ),
    );
  }

  /**
   * Stop dispatching and close BullMQ without waiting for active jobs (the executor tracks
   * them). Gives back every job this dispatcher left in Redis. Never throws.
   */
  async stop(): Promise<void> {
    // why: a step stuck on a dead Redis connection must not hold up the switch to PostgreSQL.
    await Promise.race([this.#loop.stop(), delay(STOP_WAIT_MS)]);
    const closing = Promise.allSettled([...this.#workers.map((w) => w.close(true)), ...[...this.#producers.values()].map((q) => q.close())]);
    await Promise.race([closing, delay(STOP_WAIT_MS)]);
    for (const c of this.#connections) c.disconnect();
    try {
      await jobSetQueuedIfLeasedBy(this.#o.pool, this.#o.dispatcherId, null);
    } catch (err) {
      this.#o.onError(err);
    }
    this.dispatched = 0;
  }
}
