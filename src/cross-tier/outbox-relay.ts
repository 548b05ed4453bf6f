import type pg from 'pg';
import { outboxBacklog as outboxBacklogGauge, outboxOldestAge } from '../ops/metrics.js';
import type { Fivetier } from '../platform.js';
import { outboxBacklog, outboxClaimOldest, outboxDeleteMany, type OutboxRow } from '../tiers/oltp/queries/outbox.js';
import { jobsInsertFromOutbox, type RelayedJob } from '../tiers/queue/queries/jobs-from-outbox.js';
import { JOB_TYPE_QUEUES } from './database-transaction.js';

/** Outbox rows moved per batch (one OLTP and one queue transaction each). */
export const RELAY_BATCH_SIZE_DEFAULT = 500;
/** How often the relay looks without being woken, in ms. */
export const RELAY_POLL_INTERVAL_MS_DEFAULT = 1_000;
/** First back-off after a failure, in ms; doubles per failure, with jitter. */
export const RELAY_BACKOFF_BASE_MS_DEFAULT = 250;
/** Longest back-off, in ms. */
export const RELAY_BACKOFF_MAX_MS_DEFAULT = 30_000;

export interface OutboxRelayOptions {
  /** Rows per batch; default RELAY_BATCH_SIZE_DEFAULT (1..10000). */
  batchSize?: number;
  /** Poll interval in ms; default RELAY_POLL_INTERVAL_MS_DEFAULT. */
  pollIntervalMs?: number;
  /** Back-off bounds in ms. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** One line per pass that moved rows, and per failure. */
  log?: (line: string) => void;
  /** Test signal: called after every pass with what it moved, or the error. */
  onPass?: (result: { moved: number; error?: unknown }) => void;
  /** Test signal: called each time the LISTEN connection is (re)established. */
  onListening?: () => void;
}

/** What one drain moved. */
export interface RelayResult {
  moved: number;
  batches: number;
}

/** The queue a relayed row goes to: the row's own, unless it kept the default. */
export function queueForOutboxRow(row: Pick<OutboxRow, 'queue_name' | 'job_type'>): string {
  if (row.queue_name && row.queue_name !== 'default') return row.queue_name;
  return JOB_TYPE_QUEUES[row.job_type] ?? 'default';
}

/**
 * Move one batch: lock the oldest outbox rows (FOR UPDATE SKIP LOCKED, so relays in several
 * processes share the work), insert them as jobs in the queue tier (job id = outbox id,
 * ON CONFLICT DO NOTHING) and commit there, then delete them and commit in OLTP. A crash
 * between the two commits leaves rows that the next pass relays again, harmlessly.
 * Returns how many rows it moved. Throws FT_ERR_TIER_UNAVAILABLE or SQL errors.
 */
export async function relayBatch(ft: Fivetier, batchSize = RELAY_BATCH_SIZE_DEFAULT): Promise<number> {
  return ft.oltp.withWorker(async (c) => {
    const rows = await outboxClaimOldest(c, batchSize);
    if (rows.length === 0) return 0;
    const jobs: RelayedJob[] = rows.map((r) => ({
      tenant_id: r.tenant_id,
      id: r.id,
      queue_name: queueForOutboxRow(r),
      job_type: r.job_type,
      priority: r.priority,
      payload: r.payload,
      run_at: r.run_at,
    }));
    await ft.queue.withWorker((q) => jobsInsertFromOutbox(q, jobs));
    await outboxDeleteMany(c, rows.map((r) => r.tenant_id), rows.map((r) => r.id));
    return rows.length;
  });
}

/**
 * Relay until a batch comes back short, then update the outbox metrics. Throws on the first
 * failing batch (rows moved before it stay moved).
 */
export async function relayOutbox(ft: Fivetier, batchSize = RELAY_BATCH_SIZE_DEFAULT): Promise<RelayResult> {
  let moved = 0;
  let batches = 0;
  for (;;) {
    const n = await relayBatch(ft, batchSize);
    moved += n;
    if (n > 0) batches++;
    if (n < batchSize) break;
  }
  const backlog = await ft.oltp.withWorker((c) => outboxBacklog(c));
  outboxBacklogGauge.set(backlog.count);
  outboxOldestAge.set(backlog.oldestAgeSeconds);
  return { moved, batches };
}

/**
 * The outbox relay as a background loop: woken by `LISTEN fivetier_outbox` (the outbox trigger
 * notifies on commit) and polling as well, backing off with jitter while a tier is down.
 * Safe to run in several processes at once.
 *
 * @example
 * const relay = new OutboxRelay(ft, { log: console.log });
 * relay.start();
 * await relay.stop();
 */
export class OutboxRelay {
  readonly #ft: Fivetier;
  readonly #batchSize: number;
  readonly #pollMs: number;
  readonly #backoffBaseMs: number;
  readonly #backoffMaxMs: number;
  readonly #log: (line: string) => void;
  readonly #onPass: OutboxRelayOptions['onPass'];
  readonly #onListening: OutboxRelayOptions['onListening'];
  #running: Promise<void> | undefined;
  #stopped = false;
  #wake: (() => void) | undefined;
  #woken = false;
  #listener: pg.PoolClient | undefined;
  #listenTimer: NodeJS.Timeout | undefined;
  #dropListener: (() => void) | undefined;

  /** Throws FT_ERR_INPUT_INVALID for options out of range. */
  constructor(ft: Fivetier, options: OutboxRelayOptions = {}) {
    this.#ft = ft;
    this.#batchSize = options.batchSize ?? RELAY_BATCH_SIZE_DEFAULT;
    this.#pollMs = options.pollIntervalMs ?? RELAY_POLL_INTERVAL_MS_DEFAULT;
    this.#backoffBaseMs = options.backoffBaseMs ?? RELAY_BACKOFF_BASE_MS_DEFAULT;
    this.#backoffMaxMs = options.backoffMaxMs ?? RELAY_BACKOFF_MAX_MS_DEFAULT;
    this.#log = options.log ?? (() => {});
    this.#onPass = options.onPass;
    this.#onListening = options.onListening;
    if (!Number.isInteger(this.#batchSize) || this.#batchSize < 1 || this.#batchSize > 10_000) {
      throw new Error(`OutboxRelay: batchSize must be an integer 1..10000, got ${this.#batchSize}`);
    }
    if (!(this.#pollMs >= 10)) throw new Error(`OutboxRelay: pollIntervalMs must be at least 10, got ${this.#pollMs}`);
  }

  /** Start the loop and the listener. Idempotent. Never throws. */
  start(): void {
    if (this.#running) return;
    this.#stopped = false;
    void this.#listen();
    this.#running = this.#loop();
  }

  /** Stop after the current batch and close the listener. Never throws. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#listenTimer);
    this.#wakeUp();
    await this.#running;
    this.#running = undefined;
    this.#listener = undefined;
    this.#dropListener?.();
    this.#dropListener = undefined;
  }

  #wakeUp(): void {
    this.#woken = true;
    this.#wake?.();
  }

  async #sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.#stopped) return;
    if (wakeable && this.#woken) {
      this.#woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = wakeable ? done : undefined;
      if (!wakeable) this.#wake = () => this.#stopped && done();
    });
    this.#wake = undefined;
    this.#woken = false;
  }

  async #loop(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      this.#woken = false;
      try {
        const { moved, batches } = await relayOutbox(this.#ft, this.#batchSize);
        if (moved > 0 || failures > 0) {
          this.#log(`outbox relay: moved ${moved} rows in ${batches} batches (backlog ${(await backlogSnapshot()).count})`);
        }
        failures = 0;
        this.#onPass?.({ moved });
        await this.#sleep(this.#pollMs, true);
      } catch (err) {
        failures++;
        const ceiling = Math.min(this.#backoffMaxMs, this.#backoffBaseMs * 2 ** (failures - 1));
        const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
        this.#log(`outbox relay: pass failed (${failures} in a row): ${(err as Error).message}; retrying in ${delay} ms`);
        this.#onPass?.({ moved: 0, error: err });
        await this.#sleep(delay, false);
      }
    }
  }

  /** Hold one worker connection that LISTENs; reconnect after a poll interval when it drops. */
  async #listen(): Promise<void> {
    if (this.#stopped) return;
    const retry = () => {
      if (!this.#stopped) this.#listenTimer = setTimeout(() => void this.#listen(), this.#pollMs);
    };
    let client: pg.PoolClient;
    try {
      client = await this.#ft.oltp.poolFor('worker').connect();
    } catch {
      retry();
      return;
    }
    const onNotify = () => this.#wakeUp();
    let dropped = false;
    const drop = () => {
      if (dropped) return;
      dropped = true;
      client.off('notification', onNotify);
      client.off('error', drop);
      client.on('error', ignore); // a late error while it closes must not crash the process
      if (this.#listener === client) this.#listener = undefined;
      client.release(true);
      retry();
    };
    client.on('notification', onNotify);
    client.on('error', drop);
    try {
      await client.query('listen fivetier_outbox');
    } catch {
      drop();
      return;
    }
    if (dropped) return;
    if (this.#stopped) {
      dropped = true;
      client.off('notification', onNotify);
      client.off('error', drop);
      client.on('error', ignore);
      client.release(true);
      return;
    }
    this.#listener = client;
    this.#dropListener = () => {
      // why: drop() may have released it already (the connection broke and a new one is coming)
      if (dropped) return;
      dropped = true;
      client.off('notification', onNotify);
      client.off('error', drop);
      client.on('error', ignore);
      // why: a LISTENing session must not go back to the pool
      client.release(true);
    };
    // why: rows committed while nobody listened (start-up, a reconnect) sent their notification
    // to no one; one pass now moves them instead of leaving them to the next poll.
    this.#wakeUp();
    this.#onListening?.();
  }
}

function ignore(): void {}

/** The last values the relay put in its gauges. */
async function backlogSnapshot(): Promise<{ count: number }> {
  const v = await outboxBacklogGauge.get();
  return { count: v.values[0]?.value ?? 0 };
}
