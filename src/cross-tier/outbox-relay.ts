import { FivetierError } from '../errors/codes.js';
import { BackgroundLoop } from '../runtime/background-loop.js';
import { ChannelListener } from '../runtime/listener.js';
import { outboxBacklog as outboxBacklogGauge, outboxOldestAge } from '../ops/metrics.js';
import type { Fivetier } from '../platform.js';
import { JOB_PAYLOAD_MAX_BYTES } from '../queue/payload.js';
import { recordAdminEvent } from '../tiers/notifications/admin-events.js';
import { outboxBacklog, outboxClaimOldest, outboxDeleteMany, outboxSetAside, type ClaimedOutboxRow, type OutboxRow } from '../tiers/oltp/queries/outbox.js';
import { jobsInsertFromOutbox, type RelayedJob } from '../tiers/queue/queries/jobs-from-outbox.js';
import { routeOf } from '../jobs/built-in.js';

/** The relay's transactions run only its own statements: no session reset needed (TierTransaction). */
const OWN_STATEMENTS = Object.freeze({ ownStatementsOnly: true });

/** Outbox rows moved per batch (one OLTP and one queue transaction each). */
export const RELAY_BATCH_SIZE_DEFAULT = 500;
/**
 * Payload bytes per batch at most (JSON text as PostgreSQL prints it). Bounds the relay's memory
 * and the queue statement whatever tenants put in the outbox.
 */
export const RELAY_BATCH_MAX_BYTES_DEFAULT = 4 * 1024 * 1024;
/**
 * A payload larger than this is never relayed but set aside (outbox_rejected): the payload cap
 * (JOB_PAYLOAD_MAX_BYTES, compact JSON) with room for PostgreSQL's text form of jsonb, which
 * adds a space after each ':' and ','. Only rows written around the cap (before it existed, or
 * straight by SQL) come near it.
 */
export const RELAY_ROW_MAX_BYTES = 2 * JOB_PAYLOAD_MAX_BYTES;
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
  /** Outbox rows left after the drain. */
  backlog: number;
}

/** The queue a relayed row goes to: the row's own, unless it kept the default. */
export function queueForOutboxRow(row: Pick<OutboxRow, 'queue_name' | 'job_type'>): string {
  if (row.queue_name && row.queue_name !== 'default') return row.queue_name;
  return routeOf(row.job_type).queue;
}

/**
 * Move one batch: lock the oldest outbox rows (FOR UPDATE SKIP LOCKED, so relays in several
 * processes share the work), at most `batchSize` rows and `maxBytes` of payload, insert them as
 * jobs in the queue tier (job id = outbox id, ON CONFLICT DO NOTHING) and commit there, then
 * delete them and commit in OLTP. A crash between the two commits leaves rows that the next
 * pass relays again, harmlessly.
 *
 * A row that cannot be relayed never holds up the others: a payload over RELAY_ROW_MAX_BYTES is
 * never fetched, and a row the queue tier refuses for its data (when the whole batch is refused,
 * the rows are tried one by one) is moved to `outbox_rejected` with the reason, in the same OLTP
 * transaction, and an admin event says how many. Returns how many rows left the outbox (relayed
 * or set aside). Throws FT_ERR_TIER_UNAVAILABLE or SQL errors that are not about a row's data.
 */
export async function relayBatch(ft: Fivetier, batchSize = RELAY_BATCH_SIZE_DEFAULT, maxBytes = RELAY_BATCH_MAX_BYTES_DEFAULT): Promise<number> {
  return (await relayOneBatch(ft, batchSize, maxBytes)).taken;
}

/** relayBatch, also saying whether the batch was full (by rows, or cut short by bytes), so more may wait. */
async function relayOneBatch(ft: Fivetier, batchSize: number, maxBytes: number): Promise<{ taken: number; full: boolean }> {
  if (!(Number.isInteger(maxBytes) && maxBytes >= RELAY_ROW_MAX_BYTES)) {
    throw new FivetierError('FT_ERR_INPUT_INVALID', [`relayBatch: maxBytes must be an integer >= ${RELAY_ROW_MAX_BYTES}, got ${maxBytes}`]);
  }
  const setAside: SetAside[] = [];
  const result = await ft.oltp.withWorker(async (c) => {
    const { rows, locked } = await outboxClaimOldest(c, batchSize, maxBytes, RELAY_ROW_MAX_BYTES);
    if (rows.length === 0) return { taken: 0, full: false };
    const fits: ClaimedOutboxRow[] = [];
    for (const r of rows) {
      if (r.oversized) setAside.push({ ...r, reason: `payload of ${r.payload_bytes} bytes is over the relay's ${RELAY_ROW_MAX_BYTES}-byte row cap` });
      else fits.push(r);
    }
    const relayed = await insertJobs(ft, fits, setAside);
    if (setAside.length > 0) await outboxSetAside(c, setAside);
    if (relayed.length > 0) await outboxDeleteMany(c, relayed.map((r) => r.tenant_id), relayed.map((r) => r.id));
    return { taken: rows.length, full: locked >= batchSize || rows.length < locked };
  }, OWN_STATEMENTS);
  if (setAside.length > 0) {
    await recordAdminEvent(ft, {
      eventType: 'outbox_rows_set_aside',
      severity: 'high',
      description: `${setAside.length} outbox rows could not be relayed and were moved to outbox_rejected`,
      details: { count: setAside.length, samples: setAside.slice(0, 10).map((r) => ({ tenant_id: r.tenant_id, id: r.id, payload_bytes: r.payload_bytes, reason: r.reason })) },
    });
  }
  return result;
}

/** An outbox row to move to outbox_rejected, and why. */
type SetAside = Pick<ClaimedOutboxRow, 'tenant_id' | 'id' | 'payload_bytes'> & { reason: string };

/**
 * Insert the rows as jobs in one queue transaction. When the queue tier refuses that for a
 * row's data, insert them one by one and add each refused row to `setAside`. Returns the rows
 * that are jobs now. Throws anything else (the tier is down: the whole batch waits).
 */
async function insertJobs(ft: Fivetier, rows: ClaimedOutboxRow[], setAside: SetAside[]): Promise<ClaimedOutboxRow[]> {
  if (rows.length === 0) return [];
  try {
    await ft.queue.withWorker((q) => jobsInsertFromOutbox(q, rows.map(relayedJob)), OWN_STATEMENTS);
    return rows;
  } catch (err) {
    if (!refusesRow(err)) throw err;
  }
  const relayed: ClaimedOutboxRow[] = [];
  for (const row of rows) {
    try {
      await ft.queue.withWorker((q) => jobsInsertFromOutbox(q, [relayedJob(row)]), OWN_STATEMENTS);
      relayed.push(row);
    } catch (err) {
      if (!refusesRow(err)) throw err;
      const e = err as { code?: string; message?: string };
      setAside.push({ ...row, reason: `the queue tier refused it: ${e.message ?? String(err)}${e.code ? ` (${e.code})` : ''}` });
    }
  }
  return relayed;
}

function relayedJob(r: ClaimedOutboxRow): RelayedJob {
  return { tenant_id: r.tenant_id, id: r.id, queue_name: queueForOutboxRow(r), job_type: r.job_type, priority: r.priority, payload: r.payload, run_at: r.run_at, max_attempts: routeOf(r.job_type).maxAttempts ?? null };
}

/**
 * True when `err` is about the data of what was sent (SQLSTATE classes 22 data exception, 23
 * constraint violation, 54 program limit exceeded, or a value too large to serialise here), so
 * the same row would fail again; false for a tier that is down, a timeout or a permission.
 */
function refusesRow(err: unknown): boolean {
  if (err instanceof RangeError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}

/**
 * Relay until a batch comes back short (fewer rows than batchSize, and none left out for
 * bytes), then update the outbox metrics. Throws on the first
 * failing batch (rows moved before it stay moved).
 */
export async function relayOutbox(ft: Fivetier, batchSize = RELAY_BATCH_SIZE_DEFAULT, maxBytes = RELAY_BATCH_MAX_BYTES_DEFAULT): Promise<RelayResult> {
  const { moved, batches } = await drainOutbox(ft, batchSize, maxBytes);
  return { moved, batches, backlog: await measureBacklog(ft) };
}

/** Relay batches until one comes back short. Throws on the first failing batch. */
async function drainOutbox(ft: Fivetier, batchSize: number, maxBytes: number): Promise<{ moved: number; batches: number }> {
  let moved = 0;
  let batches = 0;
  for (;;) {
    const { taken, full } = await relayOneBatch(ft, batchSize, maxBytes);
    moved += taken;
    if (taken > 0) batches++;
    if (!full) break;
  }
  return { moved, batches };
}

/** Count the outbox and the age of its oldest row into the metrics; returns the count. */
async function measureBacklog(ft: Fivetier): Promise<number> {
  const backlog = await ft.oltp.withWorker((c) => outboxBacklog(c), OWN_STATEMENTS);
  outboxBacklogGauge.set(backlog.count);
  outboxOldestAge.set(backlog.oldestAgeSeconds);
  return backlog.count;
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
  readonly #loop: BackgroundLoop;
  readonly #listener: ChannelListener;
  readonly #log: (line: string) => void;
  readonly #onPass: OutboxRelayOptions['onPass'];
  readonly #pollMs: number;
  #failing = false;
  #backlogMeasuredAt = 0;
  #backlog = 0;

  /** Throws FT_ERR_INPUT_INVALID for options out of range. */
  constructor(ft: Fivetier, options: OutboxRelayOptions = {}) {
    this.#ft = ft;
    this.#batchSize = options.batchSize ?? RELAY_BATCH_SIZE_DEFAULT;
    const pollMs = options.pollIntervalMs ?? RELAY_POLL_INTERVAL_MS_DEFAULT;
    this.#pollMs = pollMs;
    this.#log = options.log ?? (() => {});
    this.#onPass = options.onPass;
    if (!Number.isInteger(this.#batchSize) || this.#batchSize < 1 || this.#batchSize > 10_000) {
      throw new FivetierError('FT_ERR_INPUT_INVALID', [`OutboxRelay: batchSize must be an integer 1..10000, got ${this.#batchSize}`]);
    }
    if (!(pollMs >= 10)) throw new FivetierError('FT_ERR_INPUT_INVALID', [`OutboxRelay: pollIntervalMs must be at least 10, got ${pollMs}`]);
    this.#loop = new BackgroundLoop('outbox-relay', () => this.#pass(), {
      idleMs: pollMs,
      errorBackoffMs: options.backoffBaseMs ?? RELAY_BACKOFF_BASE_MS_DEFAULT,
      maxBackoffMs: options.backoffMaxMs ?? RELAY_BACKOFF_MAX_MS_DEFAULT,
      onError: (err, failures, retryInMs) => {
        this.#failing = true;
        this.#log(`outbox relay: pass failed (${failures} in a row): ${(err as Error).message}; retrying in ${retryInMs} ms`);
        this.#onPass?.({ moved: 0, error: err });
      },
    });
    this.#listener = new ChannelListener({
      connect: () => ft.oltp.poolFor('worker').connect(),
      channel: 'fivetier_outbox',
      onNotify: () => this.#loop.wake(),
      // why: rows committed while nobody listened (start-up, a reconnect) sent their notification
      // to no one; one pass now moves them instead of leaving them to the next poll.
      onListening: () => {
        this.#loop.wake();
        options.onListening?.();
      },
      retryMs: pollMs,
      tier: ft.oltp,
    });
  }

  /** Start the loop and the listener. Idempotent. Never throws. */
  start(): void {
    this.#listener.start();
    this.#loop.start();
    // why: a tier that comes back ends the back-off at once; the outbox drains without waiting it out
    this.#ft.oltp.on('up', this.#retryNow);
    this.#ft.queue.on('up', this.#retryNow);
  }

  /** Stop after the current batch and close the listener. Never throws. */
  async stop(): Promise<void> {
    this.#ft.oltp.off('up', this.#retryNow);
    this.#ft.queue.off('up', this.#retryNow);
    await this.#loop.stop();
    await this.#listener.stop();
  }

  readonly #retryNow = () => this.#loop.retryNow();

  async #pass(): Promise<'idle'> {
    const { moved, batches } = await drainOutbox(this.#ft, this.#batchSize, RELAY_BATCH_MAX_BYTES_DEFAULT);
    // why: under steady sends every commit wakes a pass; counting the whole outbox each time cost
    // as much as the move itself, and the gauges need no more than one reading per poll interval
    const now = Date.now();
    if (now - this.#backlogMeasuredAt >= this.#pollMs || this.#failing) {
      this.#backlogMeasuredAt = now;
      this.#backlog = await measureBacklog(this.#ft);
    }
    if (moved > 0 || this.#failing) this.#log(`outbox relay: moved ${moved} rows in ${batches} batches (backlog ${this.#backlog})`);
    this.#failing = false;
    this.#onPass?.({ moved });
    return 'idle';
  }
}
