/**
 * The worker framework: `registerHandler(type, fn)`, a concurrency limit, Redis or
 * PostgreSQL-only dispatch (switching by itself when Redis goes down or comes back), the lease
 * rescuer, queue metrics, and graceful shutdown that finishes or returns in-flight jobs.
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { FivetierError } from '../errors/codes.js';
import { jobDuration, jobsFailed, jobsProcessed, queueDepth, queueOldestReadyAge } from '../ops/metrics.js';
import type { Fivetier } from '../platform.js';
import { jobQueueList } from '../tiers/queue/queries/job-queues.js';
import { jobCountReadyByQueueLane, jobSetCompletedManyIfRunning, jobSetDeadIfRunning, jobSetQueuedForRetryIfRunning, jobSetQueuedIfLeasedBy, jobSetRunningManyIfDispatched } from '../tiers/queue/queries/jobs.js';
import { Batcher } from './batcher.js';
import { withAsyncCommit } from './async-commit.js';
import { DISPATCH_BATCH_DEFAULT, DISPATCH_LEASE_MS_DEFAULT, DISPATCH_WINDOW_DEFAULT, RedisDispatch } from './dispatch-redis.js';
import { JobsListener, POLL_INTERVAL_MS_DEFAULT, PostgresDispatch } from './dispatch-postgres.js';
import { JOB_TIMEOUT_MS_FALLBACK, timeoutFor, type JobRow } from './job-states.js';
import { BackgroundLoop } from './loop.js';
import { RedisLink } from './redis-link.js';
import { afterFailure } from './retry.js';
import { RESCUE_INTERVAL_MS_DEFAULT, startRescuer } from './rescuer.js';

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
  /** Redis URL for dispatch (default `ft.config.redisUrl`; `null` forces PostgreSQL-only). */
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
  /** Redis health ping interval, in ms (default 500). */
  redisPingMs?: number;
  log?: (line: string) => void;
}

interface WorkerEvents {
  mode: [mode: DispatchMode];
  completed: [job: JobRow, via: DispatchMode];
  failed: [job: JobRow, error: string, next: 'retry' | 'dead'];
  /** A finish that lost to a newer state (rescued, returned): nothing was written. */
  stale: [job: JobRow];
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
  readonly #handlers = new Map<string, JobHandler>();
  #queues: string[] = [];
  #state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  #mode: DispatchMode | undefined;
  #modeChange: Promise<void> = Promise.resolve();
  #pg: PostgresDispatch | undefined;
  #redis: RedisDispatch | undefined;
  #link: RedisLink | undefined;
  #listener: JobsListener | undefined;
  #loops: BackgroundLoop[] = [];
  readonly #inflight = new Map<string, { job: JobRow; done: Promise<void>; abort: AbortController }>();
  #slotWaiters: Array<() => void> = [];
  /** Outcomes of finished handlers being written to PostgreSQL. */
  readonly #recording = new Set<Promise<void>>();
  /** Slots taken by jobs from Redis that are being started (not yet in #inflight). */
  #reserved = 0;
  readonly #wantedQueues: readonly string[] | undefined;
  // why: one statement for many completions / starts keeps PostgreSQL round trips per job low.
  readonly #completions = new Batcher<{ tenantId: string; id: string; owner: string; attempt: number; durationMs: number }, JobRow | undefined>(async (items) => {
    const rows = await withAsyncCommit(this.#pool, (c) => jobSetCompletedManyIfRunning(c, items));
    const byId = new Map(rows.map((r) => [r.id, r]));
    return items.map((i) => byId.get(i.id));
  });
  readonly #starts = new Batcher<{ tenantId: string; id: string }, JobRow | undefined>(async (items) => {
    const rows = await withAsyncCommit(this.#pool, (c) => jobSetRunningManyIfDispatched(c, items, this.id, this.#timeouts(), JOB_TIMEOUT_MS_FALLBACK, this.#o.leaseGraceMs));
    const byId = new Map(rows.map((r) => [r.id, r]));
    return items.map((i) => byId.get(i.id));
  });

  constructor(ft: Fivetier, options: WorkerOptions = {}) {
    super();
    this.#ft = ft;
    this.#wantedQueues = options.queues;
    const concurrency = options.concurrency ?? 10;
    if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new FivetierError('FT_ERR_INPUT_INVALID', [`concurrency must be an integer >= 1, got ${concurrency}`]);
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
      log: options.log ?? (() => {}),
    };
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

  get #pool(): pg.Pool {
    return this.#ft.queue.poolFor('worker');
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
    this.#listener = new JobsListener(this.#pool, () => {
      this.#pg?.wake();
      this.#redis?.wake();
    });
    await this.#listener.start();
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
          pool: this.#pool,
          queues: this.#queues,
          owner: this.id,
          free: () => o.concurrency - this.#inflight.size - this.#reserved,
          timeoutsMs: () => this.#timeouts(),
          defaultTimeoutMs: JOB_TIMEOUT_MS_FALLBACK,
          leaseGraceMs: o.leaseGraceMs,
          pollIntervalMs: o.pollIntervalMs,
          onJobs: (rows) => {
            for (const r of rows) this.#run(r, 'postgres');
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
          pool: this.#pool,
          dispatcherId: `${this.id}:dispatch`,
          window: o.dispatchWindow,
          batch: DISPATCH_BATCH_DEFAULT,
          dispatchLeaseMs: o.dispatchLeaseMs,
          onJob: (t, i) => this.#fromRedis(t, i),
          onError: (e) => this.#error('redis dispatch', e),
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
    let job: JobRow | undefined;
    try {
      if (this.#state !== 'running') return;
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
        await jobSetQueuedIfLeasedBy(this.#pool, this.id, [job.id]).catch((err: unknown) => this.#error('returning job', err));
        return;
      }
      void this.#run(job, 'redis'); // in #inflight from here on, so the reservation can go
    } finally {
      this.#reserved--;
      this.#handOver();
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
  #run(job: JobRow, via: DispatchMode): Promise<void> {
    const abort = new AbortController();
    const done = this.#handle(job, abort).then(({ error, ms }) => {
      // why: the slot is the handler's; recording the outcome (batched with other jobs) goes on
      // without it, under the lease, which the completion guard still checks.
      this.#inflight.delete(job.id);
      this.#handOver();
      this.#pg?.wake();
      const write = this.#record(job, via, error, ms).finally(() => this.#recording.delete(write));
      this.#recording.add(write);
      return write;
    });
    this.#inflight.set(job.id, { job, done, abort });
    return done;
  }

  /** Run the job's handler under its type's timeout. Never throws: a failure is the `error`. */
  async #handle(job: JobRow, abort: AbortController): Promise<{ error: string | undefined; ms: number }> {
    const started = performance.now();
    const timeoutMs = timeoutFor(job.job_type, this.#o.timeoutsMs);
    let error: string | undefined;
    const handler = this.#handlers.get(job.job_type);
    let timer: NodeJS.Timeout | undefined;
    try {
      if (!handler) throw new Error(`no handler registered for job type ${job.job_type}`);
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          abort.abort(new Error(`timed out after ${timeoutMs} ms`));
          reject(new Error(`timed out after ${timeoutMs} ms`));
        }, timeoutMs);
      });
      await Promise.race([
        handler({ id: job.id, tenantId: job.tenant_id, queue: job.queue_name, type: job.job_type, payload: job.payload, priority: job.priority, attempt: job.attempts, signal: abort.signal }),
        timedOut,
      ]);
    } catch (err) {
      error = (err as Error)?.message ?? String(err);
    } finally {
      clearTimeout(timer);
    }
    const ms = performance.now() - started;
    jobDuration.observe({ queue: job.queue_name }, ms / 1000);
    return { error, ms };
  }

  /** Move the job to completed, retry or dead, guarded by the lease. Never throws. */
  async #record(job: JobRow, via: DispatchMode, error: string | undefined, ms: number): Promise<void> {
    try {
      if (error === undefined) {
        const row = await this.#completions.add({ tenantId: job.tenant_id, id: job.id, owner: this.id, attempt: job.attempts, durationMs: ms });
        if (!row) return void this.emit('stale', job);
        jobsProcessed.inc({ queue: job.queue_name });
        this.emit('completed', row, via);
      } else {
        jobsFailed.inc({ queue: job.queue_name });
        const next = afterFailure(job);
        const row =
          next.action === 'retry'
            ? await withAsyncCommit(this.#pool, (c) => jobSetQueuedForRetryIfRunning(c, job.tenant_id, job.id, this.id, job.attempts, next.delaySeconds, error, ms))
            : await withAsyncCommit(this.#pool, (c) => jobSetDeadIfRunning(c, job.tenant_id, job.id, this.id, job.attempts, error, ms));
        if (!row) return void this.emit('stale', job);
        this.emit('failed', row, error, next.action);
      }
    } catch (err) {
      // why: the queue tier is unreachable; the lease expires and the rescuer re-runs the job.
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
        returned = (await jobSetQueuedIfLeasedBy(this.#pool, this.id, left.map((r) => r.job.id))).length;
      } catch (err) {
        this.#error('returning jobs', err);
      }
      for (const r of left) r.abort.abort(new Error('worker shutting down'));
    }
    await Promise.all(this.#loops.map((l) => l.stop()));
    await this.#listener?.stop();
    this.#state = 'stopped';
    this.#o.log(`worker ${this.id}: stopped, ${running.length - left.length} in-flight finished, ${returned} returned`);
    return { finished: running.length - left.length, returned };
  }
}
