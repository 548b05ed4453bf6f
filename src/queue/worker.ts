/**
 * The worker framework: `registerHandler(type, fn)`, a concurrency limit, Redis or
 * PostgreSQL-only dispatch (switching by itself when Redis goes down or comes back), the lease
 * rescuer, queue metrics, and graceful shutdown that finishes or returns in-flight jobs.
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../tiers/queryable.js';
import { FivetierError } from '../errors/codes.js';
import { jobDuration, jobsFailed, jobsProcessed, queueDepth, queueOldestReadyAge } from '../ops/metrics.js';
import type { Fivetier } from '../platform.js';
import { jobQueueList } from '../tiers/queue/queries/job-queues.js';
import {
  jobCountReadyByQueueLane,
  jobSetCompletedManyIfRunning,
  jobSetDeadIfRunning,
  jobSetQueuedForRetryIfRunning,
  jobSetQueuedIfLeasedBy,
  jobSetQueuedIfUnheld,
  jobSetQueuedIfUnstarted,
  heldJobKey,
  jobSetRunningManyIfDispatched,
} from '../tiers/queue/queries/jobs.js';
import { Batcher } from './batcher.js';
import { DISPATCH_BATCH_DEFAULT, DISPATCH_LEASE_MS_DEFAULT, DISPATCH_WINDOW_DEFAULT, REDIS_LOCK_MS_DEFAULT, REDIS_LOCK_MS_MIN, RedisDispatch } from './dispatch-redis.js';
import { listenForJobs, POLL_INTERVAL_MS_DEFAULT, PostgresDispatch } from './dispatch-postgres.js';
import type { ChannelListener } from '../runtime/listener.js';
import { ASYNC_COMMIT, JOB_TIMEOUT_MS_FALLBACK, timeoutFor, type JobRow, type RunningJob } from './job-states.js';
import { BackgroundLoop } from '../runtime/background-loop.js';
import { RedisLink } from './redis-link.js';
import { afterFailure, isTierOutage, outageRetry } from './retry.js';
import { RESCUE_INTERVAL_MS_DEFAULT, startRescuer } from './rescuer.js';

/**
 * A batch statement's rows handed to the items that asked, one row to the first item naming its
 * job: a later item for the same job gets undefined, as if another worker had won the row.
 */
export function firstTakes<R extends { tenant_id: string; id: string }>(rows: readonly R[], items: ReadonlyArray<{ tenantId: string; id: string }>): Array<R | undefined> {
  const byKey = new Map(rows.map((r) => [heldJobKey(r.tenant_id, r.id), r]));
  return items.map((i) => {
    const key = heldJobKey(i.tenantId, i.id);
    const row = byKey.get(key);
    byKey.delete(key);
    return row;
  });
}

/** How often, and how far apart, a worker writes a job's outcome again while the queue tier is down. */
const RECORD_RETRIES = 60;
const RECORD_RETRY_MS = 1_000;
/** Jobs at most claimed ahead into a worker's local buffer (PostgreSQL-only mode), by default. */
export const PREFETCH_MAX_DEFAULT = 500;
/** The weight of the latest handler's time in the smoothed handler time that sizes the buffer. */
const HANDLER_MS_WEIGHT = 0.05;

/** Handlers running at once in a worker, by default. */
export const WORKER_CONCURRENCY_DEFAULT = 10;

/**
 * A job's abort signal, made only if its handler asks for it.
 * why: most handlers never read it, and an AbortController per job was a twentieth of a worker's
 * time per no-op job.
 */
class LazyAbort {
  #controller: AbortController | undefined;
  #reason: unknown;
  #aborted = false;

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

/**
 * A JobContext, the signal made on first use.
 * why: a class, so the getter sits on the prototype: an object literal with a getter cost each
 * job a new accessor of its own.
 */
class HandlerContext implements JobContext {
  readonly id: string;
  readonly tenantId: string;
  readonly queue: string;
  readonly type: string;
  readonly payload: unknown;
  readonly priority: number;
  readonly attempt: number;
  readonly #abort: LazyAbort;

  constructor(job: RunningJob, abort: LazyAbort) {
    this.id = job.id;
    this.tenantId = job.tenant_id;
    this.queue = job.queue_name;
    this.type = job.job_type;
    this.payload = job.payload;
    this.priority = job.priority;
    this.attempt = job.attempts;
    this.#abort = abort;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }
}

/** What a handler gets. */
export interface JobContext {
  id: string;
  tenantId: string;
  queue: string;
  type: string;
  payload: unknown;
  priority: number;
  /** 1 on the first run. */
  attempt: number;
  /** Aborted when the job's timeout passes or the worker shuts down past its grace period. */
  signal: AbortSignal;
}

/** A job handler. Resolve = completed; throw = failed attempt (retried with backoff, then dead). Must be idempotent: jobs run at least once. */
export type JobHandler = (job: JobContext) => Promise<void>;

export type DispatchMode = 'redis' | 'postgres';

/** Worker settings; every field is optional. */
export interface WorkerOptions {
  /** Queues served (default: every queue in `job_queues` at start). */
  queues?: readonly string[];
  /** Handlers running at once in this worker (default 10). */
  concurrency?: number;
  /** Redis URL for dispatch (default `ft.config.redisUrl`; `null` forces PostgreSQL-only). A Redis Cluster: a node's URL with `?cluster=true` (see redis-target.ts). */
  redisUrl?: string | null;
  /** BullMQ key prefix (default `fivetier`). */
  redisPrefix?: string;
  /** Timeout per job type or family in ms, over JOB_TIMEOUTS_MS_DEFAULT. */
  timeoutsMs?: Record<string, number>;
  /** Lease beyond the timeout, in ms (default 5000). */
  leaseGraceMs?: number;
  /** Dispatch lease of a job waiting in Redis, in ms (default 30 000). */
  dispatchLeaseMs?: number;
  /** Jobs at most waiting in Redis per dispatcher (default 1000). */
  dispatchWindow?: number;
  /** Idle poll interval, in ms (default 1000). */
  pollIntervalMs?: number;
  /** Rescuer interval in ms (default 5000); 0 disables the rescuer. */
  rescueIntervalMs?: number;
  /** Queue metrics sampling interval in ms (default 5000); 0 disables it. */
  metricsIntervalMs?: number;
  /**
   * PostgreSQL-only mode: jobs at most claimed ahead into the local buffer beyond the running
   * ones (default 500; 0: claim only for free slots). The buffer holds what the handlers get
   * through in a quarter of `leaseGraceMs`, measured as they end, up to this.
   */
  prefetch?: number;
  /** Redis health ping interval, in ms (default 500). */
  redisPingMs?: number;
  /** BullMQ lock of a copy taken from Redis, in ms (default 30 000, at least 1000): a dead worker's copies go back to wait after it. */
  redisLockMs?: number;
  log?: (line: string) => void;
}

/** A job a worker ran to success, as its `completed` event carries it. */
export type CompletedJob = RunningJob & Pick<JobRow, 'completed_at'> & { status: 'completed' };

interface WorkerEvents {
  mode: [mode: DispatchMode];
  /** The job as the worker held it, with its new state. */
  completed: [job: CompletedJob, via: DispatchMode];
  failed: [job: JobRow, error: string, next: 'retry' | 'dead'];
  /** A finish that lost to a newer state (rescued, returned): nothing was written. */
  stale: [job: RunningJob];
  rescued: [rows: JobRow[]];
  error: [err: unknown];
}

/**
 * @example
 * const worker = new JobWorker(ft, { concurrency: 20 });
 * worker.registerHandler('email.send', async (job) => send(job.payload));
 * await worker.start();
 * // ...
 * await worker.stop();
 */
export class JobWorker extends EventEmitter<WorkerEvents> {
  readonly id = `worker-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly #ft: Fivetier;
  readonly #o: Required<Omit<WorkerOptions, 'queues' | 'redisUrl'>> & { redisUrl: string | null };
  /**
   * Jobs claimed in PostgreSQL-only mode and not started yet, oldest first. They are `running`
   * under this worker's lease (timeout + grace from the claim), so one starts only within half
   * the grace of its claim; older ones go back to `queued` with their attempt taken back. If the
   * worker dies, the rescuer takes them back like any job of a dead worker.
   */
  readonly #buffer: Array<{ job: RunningJob; claimedAt: number }> = [];
  readonly #timeoutByType = new Map<string, number>();
  /** The buffer's size now: between 0 and `prefetch`, from how fast the handlers get through jobs. */
  #prefetch = 0;
  /** How long a handler runs, smoothed over the last few dozen (ms); undefined before the first. */
  #handlerMs: number | undefined;
  readonly #handlers = new Map<string, JobHandler>();
  #queues: string[] = [];
  #state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  #mode: DispatchMode | undefined;
  #modeChange: Promise<void> = Promise.resolve();
  #pg: PostgresDispatch | undefined;
  #redis: RedisDispatch | undefined;
  #link: RedisLink | undefined;
  #listener: ChannelListener | undefined;
  #loops: BackgroundLoop[] = [];
  /** Running handlers by heldJobKey: ids are unique per tenant only, so two tenants' jobs with one id are two entries. */
  readonly #inflight = new Map<string, { job: RunningJob; done: Promise<void>; abort: LazyAbort }>();
  #slotWaiters: Array<() => void> = [];
  /** Outcomes of finished handlers being written to PostgreSQL. */
  readonly #recording = new Set<Promise<void>>();
  /** The jobs (heldJobKey) whose outcome is being written: still running under this worker's lease. */
  readonly #recordingJobs = new Set<string>();
  /**
   * A claim or a give-back failed: jobs may be running under this worker's lease that it does
   * not hold. The next claim step gives them back first (PostgreSQL-only mode).
   */
  #inDoubt = false;
  /** Slots taken by jobs from Redis that are being started (not yet in #inflight). */
  #reserved = 0;
  /** Jobs from Redis being started here: their start statement or a slot not through yet. */
  #starting = 0;
  readonly #wantedQueues: readonly string[] | undefined;
  // why: one statement for many completions / starts keeps PostgreSQL round trips per job low,
  // and one batch in flight at a time lets the items that arrive meanwhile make the next one:
  // fewer, larger statements (each a round trip and a plan) for at most a round trip of waiting
  readonly #completions = new Batcher<{ tenantId: string; id: string; owner: string; attempt: number; durationMs: number }, Pick<JobRow, 'completed_at'> | undefined>(async (items) => {
    // why: one statement that commits on its own (asynchronously): one round trip per batch
    const rows = await jobSetCompletedManyIfRunning(this.#pool, items);
    return firstTakes(rows, items);
  }, { maxInFlight: 1 });
  readonly #starts = new Batcher<{ tenantId: string; id: string }, RunningJob | undefined>(async (items) => {
    const rows = await jobSetRunningManyIfDispatched(this.#pool, items, this.id, this.#timeouts(), JOB_TIMEOUT_MS_FALLBACK, this.#o.leaseGraceMs);
    // why: two copies of one job can meet in a batch (a dead worker's copy back from BullMQ's
    // stalled check beside the rescue's re-dispatch); the row moved once, so one copy runs it.
    return firstTakes(rows, items);
  }, { maxInFlight: 1 });

  constructor(ft: Fivetier, options: WorkerOptions = {}) {
    super();
    this.#ft = ft;
    this.#wantedQueues = options.queues;
    const concurrency = options.concurrency ?? WORKER_CONCURRENCY_DEFAULT;
    if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new FivetierError('FT_ERR_INPUT_INVALID', [`concurrency must be an integer >= 1, got ${concurrency}`]);
    const redisLockMs = options.redisLockMs ?? REDIS_LOCK_MS_DEFAULT;
    // why: BullMQ renews the lock every half of it; much shorter and a busy event loop looks dead
    if (!(Number.isInteger(redisLockMs) && redisLockMs >= REDIS_LOCK_MS_MIN)) throw new FivetierError('FT_ERR_INPUT_INVALID', [`redisLockMs must be an integer >= ${REDIS_LOCK_MS_MIN}, got ${redisLockMs}`]);
    this.#o = {
      concurrency,
      redisUrl: options.redisUrl === undefined ? ft.config.redisUrl ?? null : options.redisUrl,
      redisPrefix: options.redisPrefix ?? 'fivetier',
      timeoutsMs: options.timeoutsMs ?? {},
      leaseGraceMs: options.leaseGraceMs ?? 5_000,
      dispatchLeaseMs: options.dispatchLeaseMs ?? DISPATCH_LEASE_MS_DEFAULT,
      dispatchWindow: options.dispatchWindow ?? DISPATCH_WINDOW_DEFAULT,
      pollIntervalMs: options.pollIntervalMs ?? POLL_INTERVAL_MS_DEFAULT,
      rescueIntervalMs: options.rescueIntervalMs ?? RESCUE_INTERVAL_MS_DEFAULT,
      metricsIntervalMs: options.metricsIntervalMs ?? 5_000,
      redisPingMs: options.redisPingMs ?? 500,
      redisLockMs,
      prefetch: options.prefetch ?? PREFETCH_MAX_DEFAULT,
      log: options.log ?? (() => {}),
    };
    if (!(Number.isInteger(this.#o.prefetch) && this.#o.prefetch >= 0)) throw new FivetierError('FT_ERR_INPUT_INVALID', [`prefetch must be an integer >= 0, got ${this.#o.prefetch}`]);
    this.on('error', () => {}); // errors are also logged; listeners are optional
  }

  /** Register the handler of a job type. Throws FT_ERR_QUEUE_HANDLER_EXISTS for a second one. */
  registerHandler(type: string, fn: JobHandler): this {
    if (this.#handlers.has(type)) throw new FivetierError('FT_ERR_QUEUE_HANDLER_EXISTS', [type]);
    this.#handlers.set(type, fn);
    return this;
  }

  /** The job types this worker has handlers for. */
  get handlerTypes(): string[] {
    return [...this.#handlers.keys()];
  }

  /** The dispatch mode now (undefined before start). */
  get mode(): DispatchMode | undefined {
    return this.#mode;
  }

  /** Jobs whose handler is running here. */
  get inflight(): number {
    return this.#inflight.size;
  }

  /** The queue tier's single statements as the worker role. */
  get #pool(): Queryable {
    return this.#ft.queue.statements('worker');
  }

  /**
   * Start dispatching and running jobs. Throws FT_ERR_QUEUE_WORKER_STARTED when called twice,
   * and FT_ERR_TIER_UNAVAILABLE-like pg errors when the queue tier is down at start.
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new FivetierError('FT_ERR_QUEUE_WORKER_STARTED', [this.#state, 'create a new JobWorker']);
    this.#state = 'running';
    const o = this.#o;
    this.#queues = this.#wantedQueues ? [...this.#wantedQueues] : (await jobQueueList(this.#pool)).map((q) => q.name);
    this.#ft.queue.on('up', this.#queueBack);
    this.#listener = listenForJobs(this.#ft.queue, () => {
      this.#pg?.wake();
      this.#redis?.wake();
    });
    if (o.rescueIntervalMs > 0) {
      this.#loops.push(
        startRescuer({ pool: this.#pool, queues: this.#queues, intervalMs: o.rescueIntervalMs, log: o.log, onRescued: (rows) => this.#rescued(rows), onError: (e) => this.#error('rescuer', e) }),
      );
    }
    if (o.metricsIntervalMs > 0) {
      const sampler = new BackgroundLoop('queue-metrics', () => this.#sampleMetrics(), { idleMs: o.metricsIntervalMs, onError: (e) => this.#error('metrics', e) });
      sampler.start();
      this.#loops.push(sampler);
    }
    if (o.redisUrl) {
      this.#link = new RedisLink(o.redisUrl, o.redisPingMs);
      this.#link.on('change', (up) => this.#switch(up ? 'redis' : 'postgres'));
      await this.#link.start();
      await this.#modeChange;
    } else {
      this.#switch('postgres');
      await this.#modeChange;
    }
    o.log(`worker ${this.id}: ${this.#queues.length} queues, concurrency ${o.concurrency}, dispatch ${this.#mode}`);
  }

  /** The queue tier is back after an outage: claim, dispatch and rescue now, not after a back-off. */
  readonly #queueBack = () => {
    this.#pg?.retryNow();
    this.#redis?.retryNow();
    for (const l of this.#loops) l.retryNow();
  };

  #rescued(rows: JobRow[]): void {
    this.emit('rescued', rows);
    this.#pg?.wake();
    this.#redis?.wake();
  }

  #error(where: string, err: unknown): void {
    this.#o.log(`${where}: ${(err as Error)?.message ?? err}`);
    this.emit('error', err);
  }

  /** Switch dispatch modes, one change at a time. */
  #switch(mode: DispatchMode): void {
    this.#modeChange = this.#modeChange.then(async () => {
      if (this.#state !== 'running' || this.#mode === mode) return;
      const o = this.#o;
      if (mode === 'postgres') {
        const redis = this.#redis;
        this.#redis = undefined;
        await redis?.stop();
        this.#pg = new PostgresDispatch({
          queue: this.#ft.queue,
          queues: this.#queues,
          owner: this.id,
          want: () => this.#claimWant(),
          onStep: () => this.#expireBuffered(),
          beforeClaim: () => this.#settleInDoubt(),
          onClaimFailed: () => void (this.#inDoubt = true),
          timeoutsMs: () => this.#timeouts(),
          types: () => this.handlerTypes,
          defaultTimeoutMs: JOB_TIMEOUT_MS_FALLBACK,
          leaseGraceMs: o.leaseGraceMs,
          pollIntervalMs: o.pollIntervalMs,
          onJobs: (rows) => {
            const now = performance.now();
            for (const job of rows) this.#buffer.push({ job, claimedAt: now });
            this.#drain();
          },
          onError: (e) => this.#error('postgres dispatch', e),
        });
        this.#pg.start();
      } else {
        const pgd = this.#pg;
        this.#pg = undefined;
        await pgd?.stop();
        const redis = new RedisDispatch({
          url: o.redisUrl!,
          prefix: o.redisPrefix,
          queues: this.#queues,
          // why: a BullMQ slot covers only the start in PostgreSQL; handlers are bounded by #slot.
          concurrency: o.concurrency * 2,
          queue: this.#ft.queue,
          types: () => this.handlerTypes,
          dispatcherId: `${this.id}:dispatch`,
          window: o.dispatchWindow,
          batch: DISPATCH_BATCH_DEFAULT,
          dispatchLeaseMs: o.dispatchLeaseMs,
          lockMs: o.redisLockMs,
          onJob: (t, i) => this.#fromRedis(t, i),
          onError: (e) => this.#error('redis dispatch', e),
          log: o.log,
        });
        try {
          await redis.start();
          this.#redis = redis;
        } catch (err) {
          this.#error('redis dispatch start', err);
          await redis.stop();
          this.#mode = undefined;
          this.#modeChange = Promise.resolve();
          this.#switch('postgres');
          return;
        }
      }
      this.#mode = mode;
      o.log(`dispatch: ${mode}${mode === 'postgres' && o.redisUrl ? ' (Redis is down)' : ''}`);
      this.emit('mode', mode);
    });
  }

  /**
   * How many jobs to claim now: none while the buffer is more than half full (so claims come
   * in batches), else enough to fill the free slots and the buffer.
   */
  #claimWant(): number {
    if (this.#state !== 'running') return 0;
    if (this.#buffer.length > 0 && this.#buffer.length > this.#prefetch / 2) return 0;
    return Math.max(0, this.#o.concurrency + this.#prefetch - this.#inflight.size - this.#reserved - this.#buffer.length);
  }

  /** Start buffered jobs while slots are free. */
  #drain(): void {
    const ttl = this.#o.leaseGraceMs / 2;
    const now = performance.now();
    const late: RunningJob[] = [];
    while (this.#buffer.length > 0 && this.#state === 'running' && this.#inflight.size + this.#reserved < this.#o.concurrency) {
      const { job, claimedAt } = this.#buffer.shift()!;
      if (now - claimedAt > ttl) late.push(job);
      else void this.#run(job, 'postgres');
    }
    if (late.length > 0) void this.#giveBack(late);
  }

  /**
   * A handler ended after `ms`: size the buffer to what the handlers get through in a quarter of
   * the grace (concurrency / handler time), so a buffered job starts well within half of it (slow
   * handlers: a small buffer or none; no-op handlers: up to `prefetch`).
   * why: from the handlers' time, not from how many ended lately: after an idle spell that count
   * says the worker is slow, and a burst of quick jobs then ran from claims of one slot each.
   */
  #countEnd(ms: number): void {
    const avg = this.#handlerMs === undefined ? ms : this.#handlerMs + (ms - this.#handlerMs) * HANDLER_MS_WEIGHT;
    this.#handlerMs = avg;
    const perMs = this.#o.concurrency / Math.max(avg, 0.01);
    this.#prefetch = Math.min(this.#o.prefetch, Math.floor((perMs * this.#o.leaseGraceMs) / 4));
  }

  /** Give back buffered jobs that waited more than half the grace (their lease must cover a whole run). */
  #expireBuffered(): void {
    const ttl = this.#o.leaseGraceMs / 2;
    const now = performance.now();
    let n = 0;
    while (n < this.#buffer.length && now - this.#buffer[n]!.claimedAt > ttl) n++;
    if (n > 0) this.#giveBack(this.#buffer.splice(0, n).map((b) => b.job));
  }

  /** Buffered jobs that will not start here go back to `queued`, their attempt taken back; the buffer shrinks. */
  #giveBack(jobs: RunningJob[]): Promise<void> {
    // why: handlers got slower than the buffer's size assumed
    this.#prefetch = Math.floor(this.#prefetch / 2);
    if (this.#state === 'running') this.#o.log(`worker ${this.id}: ${jobs.length} buffered jobs not started within half the lease grace go back to queued; buffer now ${this.#prefetch}`);
    const write = jobSetQueuedIfUnstarted(this.#pool, this.id, jobs)
      .then(() => this.#pg?.wake())
      .catch((err: unknown) => {
        this.#inDoubt = true;
        this.#error('giving back buffered jobs', err);
      })
      .finally(() => this.#recording.delete(write));
    this.#recording.add(write);
    return write;
  }

  /**
   * Give back the jobs running under this worker's lease that it does not hold (a claim whose
   * answer was lost, a give-back that failed), so they run again now rather than after their
   * lease. Runs in the claim loop, never beside a claim; throws (and stays in doubt) while the
   * queue tier is down.
   */
  async #settleInDoubt(): Promise<void> {
    // why: a job from Redis that is not in #inflight yet (a switch to PostgreSQL-only mode
    // leaves such starts finishing) is held without being in the lists below; settle after it
    if (!this.#inDoubt || this.#starting > 0) return;
    const held = [...this.#buffer.map((b) => heldJobKey(b.job.tenant_id, b.job.id)), ...this.#inflight.keys(), ...this.#recordingJobs];
    const rows = await jobSetQueuedIfUnheld(this.#pool, this.id, held);
    this.#inDoubt = false;
    if (rows.length > 0) this.#o.log(`worker ${this.id}: ${rows.length} jobs claimed here without an answer (or given back by a failed write) go back to queued`);
  }

  /** The timeout of a job type (looked up once per type). */
  #timeoutOf(type: string): number {
    let ms = this.#timeoutByType.get(type);
    if (ms === undefined) this.#timeoutByType.set(type, (ms = timeoutFor(type, this.#o.timeoutsMs)));
    return ms;
  }

  #timeouts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const type of this.#handlers.keys()) out[type] = timeoutFor(type, this.#o.timeoutsMs);
    return out;
  }

  /**
   * A job id arrived from Redis: start it in PostgreSQL (batched with others), take a handler
   * slot, run it. Resolves once the job runs (or was dropped), not when it ends: a crash from
   * then on is the lease's business, not Redis's. BullMQ takes up to twice `concurrency` ids at
   * once, so starts overlap the handlers; `#slot` keeps the handlers to `concurrency`. Never
   * throws.
   */
  async #fromRedis(tenantId: string, id: string): Promise<void> {
    const redis = this.#redis;
    if (this.#state !== 'running') return;
    // why: counted until the job runs or is given back, so #settleInDoubt waits for it
    this.#starting++;
    try {
      let job: RunningJob | undefined;
      try {
        job = await this.#starts.add({ tenantId, id });
        redis?.taken();
        if (!job) return; // a stale copy: the job was started, rescued or changed meanwhile
      } catch (err) {
        return void this.#error('redis job', err);
      }
      await this.#slot();
      try {
        if (this.#state !== 'running') {
          // why: started here but never run: give it back now rather than after its lease.
          await jobSetQueuedIfLeasedBy(this.#pool, this.id, [job]).catch((err: unknown) => this.#error('returning job', err));
          return;
        }
        void this.#run(job, 'redis'); // in #inflight from here on, so the reservation can go
      } finally {
        this.#reserved--;
        this.#handOver();
      }
    } finally {
      this.#starting--;
    }
  }

  /** Take a slot: resolves once fewer than `concurrency` jobs run or are being started here. */
  #slot(): Promise<void> {
    if (this.#slotWaiters.length === 0 && this.#inflight.size + this.#reserved < this.#o.concurrency) {
      this.#reserved++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#slotWaiters.push(resolve));
  }

  /** Give free slots to waiting jobs, in arrival order. */
  #handOver(): void {
    while (this.#slotWaiters.length > 0 && this.#inflight.size + this.#reserved < this.#o.concurrency) {
      this.#reserved++;
      this.#slotWaiters.shift()!();
    }
  }

  /** Run a job that this worker holds (status running, lease ours). Never throws. */
  #run(job: RunningJob, via: DispatchMode): Promise<void> {
    const abort = new LazyAbort();
    const key = heldJobKey(job.tenant_id, job.id);
    const done = this.#handle(job, abort).then(({ error, ms, outage }) => {
      // why: the slot is the handler's; recording the outcome (batched with other jobs) goes on
      // without it, under the lease, which the completion guard still checks.
      this.#inflight.delete(key);
      this.#countEnd(ms);
      this.#drain();
      this.#handOver();
      // why: a wake-up that claims nothing still costs the loop a step and a fresh sleep timer
      if (this.#pg && this.#claimWant() > 0) this.#pg.wake();
      this.#recordingJobs.add(key);
      const write = this.#record(job, via, error, ms, outage).finally(() => {
        this.#recording.delete(write);
        this.#recordingJobs.delete(key);
      });
      this.#recording.add(write);
      return write;
    });
    this.#inflight.set(key, { job, done, abort });
    return done;
  }

  /** Run the job's handler under its type's timeout. Never throws: a failure is the `error`. */
  async #handle(job: RunningJob, abort: LazyAbort): Promise<{ error: string | undefined; ms: number; outage: boolean }> {
    const started = performance.now();
    const timeoutMs = this.#timeoutOf(job.job_type);
    let error: string | undefined;
    let outage = false;
    const handler = this.#handlers.get(job.job_type);
    let timer: NodeJS.Timeout | undefined;
    try {
      if (!handler) throw new Error(`no handler registered for job type ${job.job_type}`);
      // why: one promise settled by whichever comes first, the handler or its timeout
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => {
          abort.abort(new Error(`timed out after ${timeoutMs} ms`));
          reject(new Error(`timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        // why: Promise.resolve, so a handler written in plain JavaScript that returns nothing still resolves
        Promise.resolve(handler(new HandlerContext(job, abort))).then(() => resolve(), reject);
      });
    } catch (err) {
      error = (err as Error)?.message ?? String(err);
      outage = isTierOutage(err);
    } finally {
      clearTimeout(timer);
    }
    const ms = performance.now() - started;
    jobDuration.observe({ queue: job.queue_name }, ms / 1000);
    return { error, ms, outage };
  }

  /** Move the job to completed, retry or dead, guarded by the lease. Never throws. */
  async #record(job: RunningJob, via: DispatchMode, error: string | undefined, ms: number, outage = false, tries = 0): Promise<void> {
    try {
      if (error === undefined) {
        const done = await this.#completions.add({ tenantId: job.tenant_id, id: job.id, owner: this.id, attempt: job.attempts, durationMs: ms });
        if (!done) return void this.emit('stale', job);
        jobsProcessed.inc({ queue: job.queue_name });
        if (this.listenerCount('completed') > 0) this.emit('completed', { ...job, status: 'completed', completed_at: done.completed_at }, via);
      } else {
        if (tries === 0) jobsFailed.inc({ queue: job.queue_name });
        // why: a tier that is down is no fault of the job: it backs off and runs once the tier
        // answers again, never dead-lettered by an outage (DESIGN.md section 7)
        const next = outage ? outageRetry(job) : afterFailure(job);
        const row =
          next.action === 'retry'
            ? await this.#ft.queue.withWorker((c) => jobSetQueuedForRetryIfRunning(c, job.tenant_id, job.id, this.id, job.attempts, next.delaySeconds, error, ms), ASYNC_COMMIT)
            : await this.#ft.queue.withWorker((c) => jobSetDeadIfRunning(c, job.tenant_id, job.id, this.id, job.attempts, error, ms), ASYNC_COMMIT);
        if (!row) return void this.emit('stale', job);
        this.emit('failed', row, error, next.action);
      }
    } catch (err) {
      // why: the outcome is known here; while the queue tier is down, writing it again once it
      // answers (the write is guarded by this attempt's lease) saves the job a run after its
      // lease. A worker that stops, or an outage past the retries, leaves it to the rescuer.
      if (isTierOutage(err) && this.#state === 'running' && tries < RECORD_RETRIES) {
        await new Promise((r) => setTimeout(r, RECORD_RETRY_MS));
        return this.#record(job, via, error, ms, outage, tries + 1);
      }
      this.#error(`finishing job ${job.id}`, err);
    }
  }

  async #sampleMetrics(): Promise<'idle'> {
    const rows = await jobCountReadyByQueueLane(this.#pool);
    queueDepth.reset();
    queueOldestReadyAge.reset();
    const oldest = new Map<string, number>();
    for (const r of rows) {
      queueDepth.set({ queue: r.queue_name, lane: r.lane }, r.depth);
      oldest.set(r.queue_name, Math.max(oldest.get(r.queue_name) ?? 0, r.oldest_age_s));
    }
    for (const q of this.#queues) queueOldestReadyAge.set({ queue: q }, oldest.get(q) ?? 0);
    return 'idle';
  }

  /**
   * Graceful shutdown: stop taking jobs, wait up to `graceMs` (default 30 000) for running
   * handlers, then abort the rest and give them back to `queued` (the attempt stays counted);
   * jobs this worker left in Redis go back too. Never throws; resolves when all is closed.
   */
  async stop(graceMs = 30_000): Promise<{ finished: number; returned: number }> {
    if (this.#state !== 'running') return { finished: 0, returned: 0 };
    await this.#modeChange;
    this.#state = 'stopping';
    this.#link?.stop();
    await Promise.all([this.#pg?.stop(), this.#redis?.stop()]);
    // Waiting jobs see the state and step back (their copies stay dispatched until the lease ends).
    for (const w of this.#slotWaiters.splice(0)) {
      this.#reserved++;
      w();
    }
    // Buffered jobs never started: back to queued now, their attempt taken back.
    if (this.#buffer.length > 0) await this.#giveBack(this.#buffer.splice(0).map((b) => b.job));
    const running = [...this.#inflight.values()];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(running.map((r) => r.done)), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    // Handlers that finished have their outcome written before anything is given back.
    await Promise.all(this.#recording);
    const left = [...this.#inflight.values()];
    let returned = 0;
    if (left.length > 0) {
      // why: return first, then abort, so a handler that ends on abort finds its lease gone.
      try {
        returned = (await jobSetQueuedIfLeasedBy(this.#pool, this.id, left.map((r) => r.job))).length;
      } catch (err) {
        this.#error('returning jobs', err);
      }
      for (const r of left) r.abort.abort(new Error('worker shutting down'));
    }
    this.#ft.queue.off('up', this.#queueBack);
    await Promise.all(this.#loops.map((l) => l.stop()));
    await this.#listener?.stop();
    this.#state = 'stopped';
    this.#o.log(`worker ${this.id}: stopped, ${running.length - left.length} in-flight finished, ${returned} returned`);
    return { finished: running.length - left.length, returned };
  }
}
