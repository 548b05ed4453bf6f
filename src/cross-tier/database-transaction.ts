import { FivetierError, isFivetierError } from '../errors/codes.js';
import { BUILT_IN_JOBS, routeOf } from '../jobs/built-in.js';
import type { Fivetier } from '../platform.js';
import type { TierClient } from '../tiers/tier-client.js';
import type { TierTransaction } from '../tiers/tier-transaction.js';
import { assertJobPayload } from '../queue/payload.js';
import { outboxInsert } from '../tiers/oltp/queries/outbox.js';
import { isUuid, type TierName } from '../types.js';
import { defaultFivetier } from './default-fivetier.js';
import { recordKey } from './key-registry.js';
import { deleteContentIfUnreferenced } from './orphan-cleanup.js';
import { buildTenantInsert } from './tenant-tables.js';
import { isConnectionError, mapTierError } from '../tiers/connection-errors.js';

/** The steps of the protocol, in the order the seed runs them (a test hook names them). */
export type ProtocolStep = 'insert-oltp' | 'insert-content' | 'insert-queue' | 'commit-content' | 'commit-oltp';

/** Queue of each built-in job type (from the job registry); any other type goes to 'default'. */
export const JOB_TYPE_QUEUES: Readonly<Record<string, string>> = Object.freeze(Object.fromEntries([...BUILT_IN_JOBS.values()].map((d) => [d.type, d.queue])));

/** Names `insertQueue` accepts for the queue tier: the seed's 'job_queue' and the table 'jobs'. */
const QUEUE_TARGETS = new Set(['job_queue', 'jobs']);

/** How long commit() keeps asking for the outcome of an OLTP commit whose connection broke, in ms. */
export const COMMIT_OUTCOME_WAIT_MS_DEFAULT = 3_000;

export interface DatabaseTransactionOptions {
  /** The platform; defaults to the one given to setDefaultFivetier. */
  fivetier?: Fivetier;
  /** The tenant; defaults to the tenant_id of the first row. */
  tenantId?: string;
  /** Test signal, awaited before each protocol step (fault injection). */
  beforeStep?: (step: ProtocolStep) => void | Promise<void>;
}

/** The seed's queue insert: becomes an OLTP outbox row that the relay turns into a job. */
export interface QueueInsert {
  job_type: string;
  /** Ids and small config only: at most JOB_PAYLOAD_MAX_BYTES (64 KiB) of JSON. */
  payload?: Record<string, unknown>;
  /** When the job may run (jobs.run_at); default now. */
  scheduled_at?: Date | string;
  /** Default: the job type's queue in the registry, else 'default'. */
  queue_name?: string;
  /** 1..1000, lower runs sooner; default the job type's in the registry, else 100. */
  priority?: number;
}

type State = 'open' | 'committed' | 'rolled back' | 'failed';

/**
 * A write across the content and OLTP tiers, with the seed's API, running the ordered
 * protocol of DESIGN.md section 4:
 *
 * 1. `insertContent` writes in a content-tier transaction;
 * 2. `insertOLTP` and `insertQueue` (an outbox row) write in one OLTP transaction;
 * 3. `commit()` commits content first, then OLTP;
 * 4. the outbox relay moves outbox rows into the queue tier.
 *
 * Each tier's transaction opens on its first insert, as the runtime role with the tenant set,
 * so row-level security checks every row. A failure in any step fails fast: a tier that cannot
 * be reached is FT_ERR_TIER_UNAVAILABLE (503).
 *
 * @example
 * const tx = new DatabaseTransaction({ fivetier: ft, tenantId });
 * try {
 *   const email = await tx.insertOLTP('emails', { recipient, subject, content_storage_key: key });
 *   await tx.insertContent('content_objects', { storage_key: key, content_text: body });
 *   await tx.insertQueue('job_queue', { job_type: 'track_email_sent', payload: { email_id: email.id } });
 *   await tx.commit();
 * } catch (err) {
 *   await tx.rollback();
 *   throw err;
 * }
 */
export class DatabaseTransaction {
  readonly #ft: Fivetier;
  readonly #beforeStep: DatabaseTransactionOptions['beforeStep'];
  #tenantId: string | undefined;
  #oltp: Promise<TierTransaction> | undefined;
  #content: Promise<TierTransaction> | undefined;
  #contentKeys: string[] = [];
  #contentCommitted = false;
  #inDoubt = false;
  /** A statement failed: PostgreSQL would turn COMMIT into ROLLBACK, so commit() refuses. */
  #statementFailed = false;
  #state: State = 'open';

  /** Throws FT_ERR_CROSS_NO_DEFAULT without a platform, FT_ERR_TENANT_INVALID for a bad tenant id. */
  constructor(options: DatabaseTransactionOptions = {}) {
    this.#ft = options.fivetier ?? defaultFivetier('DatabaseTransaction');
    this.#beforeStep = options.beforeStep;
    if (options.tenantId !== undefined) this.#setTenant(options.tenantId);
  }

  /** The tenant, once known. */
  get tenantId(): string | undefined {
    return this.#tenantId;
  }

  /**
   * Insert a row into a tenant table of the OLTP tier and return the inserted row (defaults
   * filled in, e.g. `id`). Throws FT_ERR_TENANT_MISMATCH, FT_ERR_CROSS_TABLE_UNKNOWN,
   * FT_ERR_CROSS_COLUMN_UNKNOWN, FT_ERR_TIER_UNAVAILABLE, or the database's error.
   */
  async insertOLTP<T extends Record<string, unknown> = Record<string, unknown>>(table: string, row: Record<string, unknown>): Promise<T> {
    return this.#insert<T>('oltp', 'insert-oltp', table, row);
  }

  /**
   * Insert a row into a tenant table of the content tier and return it. Same errors as insertOLTP.
   */
  async insertContent<T extends Record<string, unknown> = Record<string, unknown>>(table: string, row: Record<string, unknown>): Promise<T> {
    const inserted = await this.#insert<T>('content', 'insert-content', table, row);
    const key = (inserted as Record<string, unknown>).storage_key;
    if (typeof key === 'string') {
      this.#contentKeys.push(key);
      recordKey(key, this.#tenantId!, 'pending');
    }
    return inserted;
  }

  /**
   * Queue a job: writes an outbox row in the OLTP transaction (so it commits with the OLTP rows
   * or not at all); the relay makes it a job with the same id. Returns that id.
   * Throws FT_ERR_INPUT_INVALID for a bad job (a payload over JOB_PAYLOAD_MAX_BYTES included),
   * FT_ERR_CROSS_TENANT_UNKNOWN before any tenant
   * is known, FT_ERR_TIER_UNAVAILABLE, or the database's error.
   */
  async insertQueue(target: string, job: QueueInsert): Promise<{ id: string }> {
    this.#assertOpen();
    if (!QUEUE_TARGETS.has(target)) throw new FivetierError('FT_ERR_INPUT_INVALID', [`insertQueue: unknown queue target ${JSON.stringify(target)} (expected 'job_queue')`]);
    if (typeof job?.job_type !== 'string' || job.job_type === '' || job.job_type.length > 100) {
      throw new FivetierError('FT_ERR_INPUT_INVALID', ['insertQueue: job_type must be a string of 1 to 100 characters']);
    }
    const route = routeOf(job.job_type);
    const priority = job.priority ?? route.priority;
    if (!Number.isInteger(priority) || priority < 1 || priority > 1000) throw new FivetierError('FT_ERR_INPUT_INVALID', [`insertQueue: priority must be an integer 1..1000, got ${priority}`]);
    const runAt = job.scheduled_at === undefined ? new Date() : new Date(job.scheduled_at);
    if (Number.isNaN(runAt.getTime())) throw new FivetierError('FT_ERR_INPUT_INVALID', ['insertQueue: scheduled_at is not a valid time']);
    assertJobPayload(job.payload ?? {}, 'insertQueue');
    if (this.#tenantId === undefined) throw new FivetierError('FT_ERR_CROSS_TENANT_UNKNOWN', ['insertQueue']);
    const queueName = job.queue_name ?? route.queue;
    await this.#beforeStep?.('insert-queue');
    const tx = await this.#open('oltp');
    return this.#run('oltp', () =>
      outboxInsert(tx.client, { tenantId: this.#tenantId!, queueName, jobType: job.job_type, payload: job.payload ?? {}, priority, runAt }),
    );
  }

  /**
   * Commit: content first, then OLTP (with its outbox rows). When the OLTP connection breaks
   * during COMMIT, asks the OLTP tier whether the transaction committed (txid_status) and
   * succeeds if it did. Throws FT_ERR_TIER_UNAVAILABLE or the database's error when nothing
   * committed in OLTP (call rollback(), which removes the content it wrote), and
   * FT_ERR_CROSS_COMMIT_IN_DOUBT when the outcome stays unknown.
   */
  async commit(): Promise<void> {
    this.#assertOpen();
    if (this.#statementFailed) {
      this.#state = 'failed';
      throw new FivetierError('FT_ERR_CROSS_TX_CLOSED', ['failed: a statement in it failed; call rollback()']);
    }
    this.#state = 'failed'; // until proven otherwise
    if (this.#content) {
      await this.#beforeStep?.('commit-content');
      const tx = await this.#content;
      try {
        await this.#finish('content', tx);
      } catch (err) {
        // why: nothing may commit in OLTP once content failed; rollback() still cleans up content
        if (this.#oltp) await this.#oltp.then((o) => o.rollback()).catch(() => {});
        throw err;
      }
      this.#contentCommitted = true;
    }
    if (this.#oltp) {
      await this.#beforeStep?.('commit-oltp');
      const tx = await this.#oltp;
      try {
        await this.#finish('oltp', tx);
      } catch (err) {
        if (!isConnectionError(err) || tx.txid === undefined) throw err;
        const outcome = await this.#commitOutcome(tx.txid);
        if (outcome === 'aborted') throw err;
        if (outcome === 'unknown') {
          this.#inDoubt = true;
          for (const key of this.#contentKeys) recordKey(key, this.#tenantId!, 'in-doubt');
          throw new FivetierError('FT_ERR_CROSS_COMMIT_IN_DOUBT', [(err as Error).message], { cause: err });
        }
        // committed: the connection broke after the server committed; the send is whole.
      }
    }
    this.#state = 'committed';
    for (const key of this.#contentKeys) recordKey(key, this.#tenantId!, 'committed');
  }

  /**
   * Undo what can be undone: roll back open transactions, and if content committed but OLTP
   * did not, delete that content (unless OLTP references it). Idempotent; a no-op after a
   * successful commit. Never throws: whatever it cannot remove, the orphan sweeper will.
   */
  async rollback(): Promise<void> {
    if (this.#state === 'committed' || this.#state === 'rolled back') return;
    this.#state = 'rolled back';
    for (const pending of [this.#content, this.#oltp]) {
      const tx = await pending?.catch(() => undefined);
      await tx?.rollback();
    }
    if (this.#inDoubt || this.#tenantId === undefined) return; // an in-doubt commit is left to the sweeper
    // why: nothing in OLTP references these keys: cleanup may delete them at once
    for (const key of this.#contentKeys) recordKey(key, this.#tenantId, 'orphaned');
    if (this.#contentCommitted) {
      for (const key of this.#contentKeys) {
        await deleteContentIfUnreferenced(this.#ft, key, this.#tenantId).catch(() => {});
      }
    }
  }

  #setTenant(tenantId: unknown): void {
    if (!isUuid(tenantId)) throw new FivetierError('FT_ERR_TENANT_INVALID', [JSON.stringify(tenantId)]);
    if (this.#tenantId === undefined) this.#tenantId = tenantId.toLowerCase();
    else if (this.#tenantId !== tenantId.toLowerCase()) throw new FivetierError('FT_ERR_TENANT_MISMATCH', [this.#tenantId, tenantId]);
  }

  #assertOpen(): void {
    if (this.#state !== 'open') throw new FivetierError('FT_ERR_CROSS_TX_CLOSED', [this.#state]);
  }

  async #insert<T>(tier: 'oltp' | 'content', step: ProtocolStep, table: string, row: Record<string, unknown>): Promise<T> {
    this.#assertOpen();
    if (row === null || typeof row !== 'object') throw new FivetierError('FT_ERR_INPUT_INVALID', [`${step}: the row must be an object`]);
    if (row.tenant_id !== undefined) this.#setTenant(row.tenant_id);
    if (this.#tenantId === undefined) throw new FivetierError('FT_ERR_CROSS_TENANT_UNKNOWN', [step]);
    await this.#beforeStep?.(step);
    const tx = await this.#open(tier);
    return this.#run(tier, async () => {
      const sql = await buildTenantInsert(this.#tier(tier), tx.client, table, { ...row, tenant_id: this.#tenantId });
      const { rows } = await tx.client.query(sql);
      return rows[0] as T;
    });
  }

  #tier(tier: 'oltp' | 'content'): TierClient {
    return tier === 'oltp' ? this.#ft.oltp : this.#ft.content;
  }

  /** The tier's transaction, opened on first use. */
  #open(tier: 'oltp' | 'content'): Promise<TierTransaction> {
    const existing = tier === 'oltp' ? this.#oltp : this.#content;
    if (existing) return existing;
    const opening = this.#begin(tier);
    if (tier === 'oltp') this.#oltp = opening;
    else this.#content = opening;
    opening.catch(() => {
      this.#statementFailed = true;
    });
    return opening;
  }

  /** Open the tier's transaction as the runtime role with the tenant set (OLTP: with its txid). */
  #begin(tier: 'oltp' | 'content'): Promise<TierTransaction> {
    // why: the OLTP txid lets commit() learn the outcome if the connection breaks during COMMIT
    return this.#tier(tier).begin('app', { tenantId: this.#tenantId, txid: tier === 'oltp', ownStatementsOnly: true });
  }

  async #run<T>(tier: TierName, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.#statementFailed = true;
      throw mapTierError(tier, err);
    }
  }

  /** COMMIT one tier's transaction; the connection goes back to its pool (destroyed if broken). */
  async #finish(tier: 'oltp' | 'content', tx: TierTransaction): Promise<void> {
    try {
      await tx.commit();
    } catch (err) {
      if (isFivetierError(err, 'FT_ERR_TX_ABORTED')) throw new FivetierError('FT_ERR_CROSS_TX_CLOSED', ['failed: the database rolled it back'], { cause: err });
      throw mapTierError(tier, err);
    }
  }

  /** Ask OLTP whether `txid` committed, for up to COMMIT_OUTCOME_WAIT_MS_DEFAULT. Never throws. */
  async #commitOutcome(txid: string): Promise<'committed' | 'aborted' | 'unknown'> {
    const deadline = Date.now() + COMMIT_OUTCOME_WAIT_MS_DEFAULT;
    while (Date.now() < deadline) {
      try {
        const { rows } = await this.#ft.oltp.pool.query<{ status: string | null }>({
          name: 'txidStatus',
          text: 'select txid_status($1::bigint) as status',
          values: [txid],
        });
        const status = rows[0]?.status;
        if (status === 'committed') return 'committed';
        if (status === 'aborted') return 'aborted';
      } catch {
        // the tier may still be unreachable; ask again until the deadline
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return 'unknown';
  }
}
