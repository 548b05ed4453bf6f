/**
 * Redis dispatch with BullMQ: a dispatcher loop moves ready jobs from PostgreSQL into one BullMQ
 * queue per fivetier queue (queued -> dispatched, under a dispatch lease), and BullMQ workers hand
 * each job's id to the executor, which starts it in PostgreSQL (dispatched -> running) before
 * the handler runs. Redis holds ids only; PostgreSQL stays the source of truth, so a Redis copy
 * that is lost is re-dispatched when its lease expires, and a copy that is stale is dropped.
 *
 * A copy's BullMQ id carries the job's attempts at dispatch, so a job dispatched again after it
 * started (a rescue, a retry, a return) is a new BullMQ job, never swallowed by an older copy that
 * BullMQ still holds; BullMQ's stalled check (locks renewed while a worker lives) puts the copies
 * of a dead worker back to wait, where the start guard starts or drops them.
 *
 * Redis may be one server or a Redis Cluster (redis-target.ts): on a cluster each queue's keys
 * carry a hash tag of their own, since BullMQ's scripts touch several keys of one queue at once.
 */
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { bullPrefix, connectRedis, redisTarget } from './redis-target.js';
import type { TierClient } from '../tiers/tier-client.js';
import { jobSetDispatchedFair, jobSetQueuedIfLeasedBy, type DispatchedJob } from '../tiers/queue/queries/jobs.js';
import { BackgroundLoop, type StepResult } from '../runtime/background-loop.js';

/** Jobs at most in Redis (dispatched, not started) per dispatcher: keeps PostgreSQL's fair order decisive. */
export const DISPATCH_WINDOW_DEFAULT = 1_000;
/** Jobs per dispatch batch. */
export const DISPATCH_BATCH_DEFAULT = 500;
/** How long a dispatched job may sit in Redis before the rescuer re-dispatches it, in ms. */
export const DISPATCH_LEASE_MS_DEFAULT = 30_000;

/** How long stop() waits for the loop and BullMQ to close, in ms. */
const STOP_WAIT_MS = 2_000;
/**
 * How long a BullMQ copy taken by a worker stays locked without renewal, in ms. A live worker
 * renews the lock every half of it; the copies of a dead worker go back to wait after it (plus at
 * most two stalled-check intervals, which are as long).
 */
export const REDIS_LOCK_MS_DEFAULT = 30_000;
/** The shortest lock a worker accepts, in ms. */
export const REDIS_LOCK_MS_MIN = 1_000;

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
  queue: TierClient;
  /** Job types dispatched: the ones with handlers in this worker. */
  types: () => readonly string[];
  /** Lease owner of dispatched jobs. */
  dispatcherId: string;
  window: number;
  batch: number;
  dispatchLeaseMs: number;
  /** BullMQ lock duration of a taken copy, in ms (see REDIS_LOCK_MS_DEFAULT). */
  lockMs: number;
  /** Run one job taken from Redis. Must not throw. */
  onJob: (tenantId: string, id: string) => Promise<void>;
  onError: (err: unknown) => void;
  log: (line: string) => void;
}

/** What a BullMQ job of fivetier carries: the job's tenant and id (PostgreSQL holds the rest). */
export interface JobRef {
  t: string;
  i: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The BullMQ id of a copy: tenant, job id, and the job's attempts when it was dispatched. BullMQ
 * ignores an add under an id it still holds. With the attempts in it, a copy left active by a
 * dead worker that had started the job cannot swallow the re-dispatch after the rescue (attempts
 * went up at the start); a job whose dispatch lease merely ran out while its copy waited in Redis
 * is dispatched under the same id, and that copy serves, rather than piling up copies. A copy
 * whose attempts are behind the job's is stale.
 */
export function bullJobId(ref: JobRef, attempts: number): string {
  return `${ref.t}_${ref.i}_${attempts}`;
}

/**
 * The job a BullMQ entry refers to, or why the entry is not one fivetier put there (a job added
 * the plain BullMQ way, by a script or a dashboard): the data must be exactly `{ t, i }`, both
 * uuids, under an id that starts with them. Checked before the start batch, whose statement casts
 * to uuid: one foreign entry must not fail the starts of the jobs batched with it. Never throws.
 */
export function readJobRef(job: Pick<Job, 'id' | 'data'>): JobRef | { foreign: string } {
  const data: unknown = job.data;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { foreign: 'its data is not an object' };
  const keys = Object.keys(data).sort();
  if (keys.length !== 2 || keys[0] !== 'i' || keys[1] !== 't') return { foreign: 'its data is not { t, i }' };
  const { t, i } = data as Record<string, unknown>;
  if (typeof t !== 'string' || !UUID.test(t)) return { foreign: 'its tenant id (t) is not a uuid' };
  if (typeof i !== 'string' || !UUID.test(i)) return { foreign: 'its job id (i) is not a uuid' };
  // why: `${t}_${i}` alone is the id of dispatchers before the attempts were in it; their copies are ours too
  if (job.id !== `${t}_${i}` && !job.id?.startsWith(`${t}_${i}_`)) return { foreign: 'its BullMQ id does not name the job' };
  return { t, i };
}

/** An id from outside, for a log line: printable and short. */
const printable = (s: string | undefined): string => JSON.stringify((s ?? '').slice(0, 80));

export class RedisDispatch {
  readonly #o: RedisDispatchOptions;
  readonly #connections: Array<Redis | Cluster> = [];
  readonly #producers = new Map<string, Queue>();
  readonly #workers: Worker[] = [];
  readonly #loop: BackgroundLoop;
  /** Copies in Redis not started yet: counted up as this dispatcher pushes, down as jobs start, read from Redis once half the window is reached. */
  dispatched = 0;

  constructor(options: RedisDispatchOptions) {
    this.#o = options;
    this.#loop = new BackgroundLoop('redis-dispatcher', () => this.#step(), { idleMs: 500, onError: options.onError });
  }

  /** Open the BullMQ queues and workers and start dispatching. Throws when Redis refuses. */
  async start(): Promise<void> {
    const o = this.#o;
    const target = redisTarget(o.url);
    const producerConn = connectRedis(target, { enableOfflineQueue: target.cluster, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
    producerConn.on('error', () => {});
    this.#connections.push(producerConn);
    for (const name of o.queues) {
      const prefix = bullPrefix(target, o.prefix, name);
      const q = new Queue<JobRef>(name, { connection: producerConn, prefix });
      q.on('error', () => {});
      this.#producers.set(name, q);
      const conn = connectRedis(target, { maxRetriesPerRequest: null, connectTimeout: 2_000 });
      conn.on('error', () => {});
      this.#connections.push(conn);
      const w = new Worker<JobRef>(name, (job: Job<JobRef>) => this.#take(name, job), {
        connection: conn,
        prefix,
        concurrency: o.concurrency,
        // why: a SIGKILLed worker leaves its copies active; without the stalled check Redis
        // would keep them forever. PostgreSQL's leases still decide what runs: a copy BullMQ
        // hands out again is started only if its job is still dispatched.
        lockDuration: o.lockMs,
        stalledInterval: o.lockMs,
      });
      w.on('error', () => {});
      // why: a dead worker (or one too busy to renew its locks) shows up here and nowhere else in Redis
      w.on('stalled', (jobId) => o.log(`redis dispatch: queue ${name}: copy ${printable(jobId)} went back to wait (the worker holding it stopped renewing its lock)`));
      this.#workers.push(w);
    }
    await Promise.all([...this.#producers.values()].map((q) => q.waitUntilReady()));
    this.#loop.start();
  }

  /** The BullMQ processor: run a fivetier copy; fail a foreign entry (no retries) with the reason. */
  async #take(queue: string, job: Job<JobRef>): Promise<void> {
    const ref = readJobRef(job);
    if ('foreign' in ref) {
      this.#o.log(`redis dispatch: queue ${queue}: BullMQ job ${printable(job.id)} (name ${printable(job.name)}) failed: not a fivetier job, ${ref.foreign}`);
      throw new UnrecoverableError(`not a fivetier job: ${ref.foreign}; fivetier jobs are added with enqueue(), not through BullMQ`);
    }
    await this.#o.onJob(ref.t, ref.i);
  }

  /** New jobs may be ready. */
  wake(): void {
    this.#loop.wake();
  }

  /** The queue tier is back: end a back-off now. */
  retryNow(): void {
    this.#loop.retryNow();
  }

  /** A job taken from Redis started (or was dropped): room in the window. */
  taken(): void {
    if (this.dispatched > 0) this.dispatched--;
    if (this.dispatched < this.#o.window / 2) this.#loop.wake();
  }

  async #step(): Promise<StepResult> {
    const o = this.#o;
    if (this.dispatched >= o.window / 2) {
      // why: local counts drift (other processes' workers take our jobs); Redis knows how many
      // copies wait. Counting the dispatched rows in PostgreSQL read the lease index's entry of
      // every job dispatched since the last vacuum: a quarter of PostgreSQL's statement time.
      this.dispatched = await this.#waiting();
      // why: refill in large batches once half the window has drained; small refills cost a claim each
      if (this.dispatched >= o.window / 2) return 'idle';
    }
    const room = Math.min(o.batch, o.window - this.dispatched);
    if (room <= 0) return 'idle';
    // why: one statement that commits on its own (asynchronously): one round trip per batch
    const rows = await jobSetDispatchedFair(o.queue.statements('worker'), o.queues, room, o.dispatcherId, o.dispatchLeaseMs, o.types());
    if (rows.length === 0) return 'idle';
    try {
      await Promise.race([this.#push(rows), delay(PUSH_TIMEOUT_MS).then(() => Promise.reject(new Error(`Redis did not take ${rows.length} jobs within ${PUSH_TIMEOUT_MS} ms`)))]);
    } catch (err) {
      // why: Redis refused the batch; give the jobs back now rather than after the lease.
      await jobSetQueuedIfLeasedBy(o.queue.statements('worker'), o.dispatcherId, rows);
      throw err;
    }
    this.dispatched += rows.length;
    return rows.length === room ? 'more' : 'idle';
  }

  /** Copies waiting in Redis for a worker, over this dispatcher's queues (every process's). */
  async #waiting(): Promise<number> {
    const counts = await Promise.all([...this.#producers.values()].map((q) => q.getWaitingCount()));
    return counts.reduce((a, b) => a + b, 0);
  }

  async #push(rows: DispatchedJob[]): Promise<void> {
    const byQueue = new Map<string, DispatchedJob[]>();
    for (const r of rows) {
      const list = byQueue.get(r.queue_name);
      if (list) list.push(r);
      else byQueue.set(r.queue_name, [r]);
    }
    await Promise.all(
      [...byQueue].map(([name, jobs]) =>
        this.#producers.get(name)!.addBulk(
          jobs.map((r) => ({
            name: r.job_type,
            data: { t: r.tenant_id, i: r.id },
            // why: under the job's id alone, a re-dispatch after a rescue was ignored while a dead
            // worker's copy stayed active, and the job never ran again (see bullJobId).
            // No BullMQ priority: the window is small, so PostgreSQL's lane order decides (and
            // BullMQ's prioritized path measured slower).
            opts: { jobId: bullJobId({ t: r.tenant_id, i: r.id }, r.attempts), removeOnComplete: true, removeOnFail: true },
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
      await jobSetQueuedIfLeasedBy(this.#o.queue.statements('worker'), this.#o.dispatcherId, null);
    } catch (err) {
      this.#o.onError(err);
    }
    this.dispatched = 0;
  }
}
