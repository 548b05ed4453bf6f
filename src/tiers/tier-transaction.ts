import type pg from 'pg';
import { FivetierError } from '../errors/codes.js';
import type { TierName } from '../types.js';
import { mapTierError } from './connection-errors.js';

/** A connection inside a transaction that a TierClient opened. */
export type TxClient = pg.PoolClient;

/**
 * Everything a transaction's code could leave on its connection for the next user of the pool:
 * settings made with `set_config(..., false)` or SET (a tenant id among them), LISTENs, session
 * advisory locks, held cursors, temporary objects, sequence state. Sent in the same round trip
 * as COMMIT or ROLLBACK, so a connection goes back to its pool clean at no extra latency.
 * Named prepared statements stay: they are the pg driver's cache, and hold no state of their own.
 */
/** A uuid as fivetier passes tenant ids: 8-4-4-4-12 hex digits, nothing else. */
const CANONICAL_UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const SESSION_RESET = 'RESET ALL; UNLISTEN *; SELECT pg_advisory_unlock_all(); CLOSE ALL; DISCARD TEMP; DISCARD SEQUENCES';

/** How a transaction starts. */
export interface BeginOptions {
  /** Set `app.current_tenant_id` for this transaction only (`set_config(..., true)`). */
  tenantId?: string;
  /**
   * Commit without waiting for the WAL flush (`synchronous_commit = off`). Only for writes
   * whose loss in a server crash is harmless: the queue's state changes after enqueue (a job
   * then runs again; jobs run at least once anyway).
   */
  asyncCommit?: boolean;
  /** Read `txid_current()` at the start, to learn the commit's outcome if the connection breaks during COMMIT. */
  txid?: boolean;
  /**
   * Only fivetier's own statements run in this transaction (its connection is never handed to
   * a caller's code), so it leaves no session state and COMMIT goes without the reset. For the
   * library's hot paths (the cross-tier protocol, the queue's state changes).
   */
  ownStatementsOnly?: boolean;
}

/**
 * One open transaction on one pooled connection. It owns the connection until `commit()` or
 * `rollback()`, which reset the session and give it back (or destroy it when it broke). A
 * connection error while it is checked out never reaches the process as an unhandled 'error'
 * event: it is recorded, and the connection is destroyed on release.
 */
export class TierTransaction {
  readonly tier: TierName;
  readonly client: TxClient;
  /** The transaction id, when asked for with `txid: true`. */
  txid: string | undefined;
  #broken: Error | undefined;
  #done = false;
  readonly #onError: (err: Error) => void;
  readonly #onRelease: () => void;
  #reset = SESSION_RESET;

  /** Use TierClient#begin. */
  constructor(tier: TierName, client: TxClient, onRelease: () => void) {
    this.tier = tier;
    this.client = client;
    this.#onRelease = onRelease;
    this.#onError = (err) => (this.#broken = err);
    client.on('error', this.#onError);
  }

  /** Committed or rolled back, and the connection given back. */
  get done(): boolean {
    return this.#done;
  }

  /** Send BEGIN (and the tenant, the txid). Throws what `pg` throws, mapped by the caller. */
  async start(options: BeginOptions): Promise<void> {
    if (options.ownStatementsOnly) this.#reset = '';
    const statements = [options.asyncCommit ? 'BEGIN; SET LOCAL synchronous_commit TO OFF' : 'BEGIN'];
    if (options.tenantId !== undefined || options.txid) {
      // why: BEGIN and the tenant go in one round trip. A simple query takes no parameters, so the
      // tenant goes in as a literal: only a canonical uuid (hex digits and dashes) gets this far.
      const tenant = options.tenantId ?? '';
      if (tenant !== '' && !CANONICAL_UUID.test(tenant)) throw new FivetierError('FT_ERR_TENANT_INVALID', [JSON.stringify(tenant)]);
      statements.push(`SELECT set_config('app.current_tenant_id', '${tenant}', true)${options.txid ? ', txid_current()::text AS txid' : ''}`);
    }
    const results = (await this.client.query(statements.join('; '))) as unknown as pg.QueryResult<{ txid?: string }> | Array<pg.QueryResult<{ txid?: string }>>;
    if (options.txid) this.txid = (Array.isArray(results) ? results.at(-1) : results)?.rows[0]?.txid;
  }

  /**
   * COMMIT, reset the session and give the connection back. Throws FT_ERR_TX_ABORTED when
   * PostgreSQL rolled the transaction back instead (a statement in it failed and was caught),
   * FT_ERR_TIER_UNAVAILABLE when the connection broke (the outcome is then unknown to this
   * call), or the database's error.
   */
  async commit(): Promise<void> {
    if (this.#done) throw new FivetierError('FT_ERR_TX_ABORTED', [this.tier, 'the transaction is already finished']);
    let aborted = false;
    try {
      const result = (await this.client.query(this.#reset ? `COMMIT; ${this.#reset}` : 'COMMIT')) as unknown as pg.QueryResult | pg.QueryResult[];
      // why: PostgreSQL answers COMMIT of a failed transaction with ROLLBACK, not an error
      aborted = (Array.isArray(result) ? result[0] : result)?.command === 'ROLLBACK';
    } catch (err) {
      // why: a failed COMMIT skipped the reset; the connection cannot go back as it is
      this.#release(err as Error);
      throw mapTierError(this.tier, err);
    }
    this.#release(undefined);
    if (aborted) throw new FivetierError('FT_ERR_TX_ABORTED', [this.tier, 'a statement in it failed']);
  }

  /** ROLLBACK, reset the session and give the connection back. Never throws. */
  async rollback(): Promise<void> {
    if (this.#done) return;
    let failure: Error | undefined;
    if (!this.#broken) {
      try {
        await this.client.query(this.#reset ? `ROLLBACK; ${this.#reset}` : 'ROLLBACK');
      } catch (err) {
        failure = err as Error;
      }
    }
    this.#release(failure);
  }

  #release(failure: Error | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.client.off('error', this.#onError);
    const destroy = this.#broken ?? failure;
    // why: a connection being destroyed may still report its socket error; ignore it
    if (destroy) this.client.on('error', ignore);
    this.client.release(destroy ?? false);
    this.#onRelease();
  }
}

function ignore(): void {}
