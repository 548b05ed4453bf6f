/**
 * PostgreSQL-only dispatch: the worker claims ready jobs straight from `jobs` (fair pick,
 * FOR UPDATE SKIP LOCKED, queued -> running) in batches into its local buffer (as many as
 * `want()` says: its free slots plus the buffer's refill), one statement and one round trip per
 * batch, and sleeps until a LISTEN notification (`fivetier_jobs`, sent when jobs are inserted), a
 * freed slot or the poll interval (delayed jobs, retries) wakes it.
 */
import { ChannelListener } from '../runtime/listener.js';
import type { TierClient } from '../tiers/tier-client.js';
import { jobSetRunningFair } from '../tiers/queue/queries/jobs.js';
import type { RunningJob } from './job-states.js';
import { BackgroundLoop, type StepResult } from '../runtime/background-loop.js';

/** Poll interval when idle, in ms (delayed jobs and retries have no notification). */
export const POLL_INTERVAL_MS_DEFAULT = 1_000;
/** Jobs at most in one claim. */
export const CLAIM_BATCH_MAX = 500;

export interface PostgresDispatchOptions {
  queue: TierClient;
  queues: readonly string[] | null;
  owner: string;
  /** Jobs to claim now: free slots plus the local buffer's refill (0: nothing now). */
  want: () => number;
  /** Called at every step, claim or not (the worker gives back buffered jobs that waited too long). */
  onStep: () => void;
  /** Called before a claim, in the loop (so never beside one): the worker settles jobs in doubt. */
  beforeClaim: () => Promise<void>;
  /** A claim failed: its statement may have committed without an answer. */
  onClaimFailed: () => void;
  timeoutsMs: () => Record<string, number>;
  /** Job types claimed: the ones with handlers here. */
  types: () => readonly string[];
  defaultTimeoutMs: number;
  leaseGraceMs: number;
  pollIntervalMs: number;
  /** Run the claimed jobs (synchronously takes their slots). */
  onJobs: (rows: RunningJob[]) => void;
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

  /** The queue tier is back: end a back-off now. */
  retryNow(): void {
    this.#loop.retryNow();
  }

  /** Stop claiming (running jobs go on). Never throws. */
  stop(): Promise<void> {
    return this.#loop.stop();
  }

  async #step(): Promise<StepResult> {
    const o = this.#o;
    o.onStep();
    const want = Math.min(o.want(), CLAIM_BATCH_MAX);
    if (want <= 0) return 'idle';
    await o.beforeClaim();
    let rows: RunningJob[];
    try {
      // why: one statement that commits on its own (asynchronously): one round trip per batch
      rows = await jobSetRunningFair(o.queue.statements('worker'), o.queues, want, o.owner, o.timeoutsMs(), o.defaultTimeoutMs, o.leaseGraceMs, o.types());
    } catch (err) {
      o.onClaimFailed();
      throw err;
    }
    if (rows.length > 0) o.onJobs(rows);
    return rows.length === want ? 'more' : 'idle';
  }
}

/**
 * Listen on `fivetier_jobs` (sent when jobs are inserted) and call `onNotify` for each
 * notification, and once more each time listening (re)starts. Listens again on a fresh
 * connection after the queue tier comes back. Never throws.
 */
export function listenForJobs(queue: TierClient, onNotify: () => void): ChannelListener {
  const listener = new ChannelListener({
    connect: () => queue.poolFor('worker').connect(),
    channel: 'fivetier_jobs',
    onNotify,
    onListening: onNotify,
    tier: queue,
  });
  listener.start();
  return listener;
}
