import pg from 'pg';
import type { TierConfig } from '../config/config.js';
import { FivetierError } from '../errors/codes.js';
import { queryDuration } from '../ops/metrics.js';
import { ROLES, isUuid, type LoginRole, type TierName } from '../types.js';

/** A connection inside a transaction that a TierClient opened. */
export type TxClient = pg.PoolClient;

/** What `health()` reports for one tier. */
export interface TierHealth {
  tier: TierName;
  status: 'up' | 'down';
  /** Round trip of `select 1`, in ms; undefined when down. */
  latencyMs?: number;
  error?: string;
}

/** How a TierClient reaches its database. */
export interface TierConnection {
  /** Admin URL (migrations). Runtime roles log in to the same server and database. */
  url: string;
  /** Password of the login roles; undefined for trust authentication. */
  rolePassword: string | undefined;
  /** Connections of the worker and maintenance pools. */
  systemPoolMax: number;
}

/** The URL for one of fivetier's login roles on the same server and database as `adminUrl`. */
export function roleUrl(adminUrl: string, role: LoginRole, password: string | undefined): string {
  const url = new URL(adminUrl);
  url.username = ROLES[role];
  url.password = password ?? '';
  return url.toString();
}

const SET_TENANT = "select set_config('app.current_tenant_id', $1, true)";

/**
 * One tier's database: a pool per login role, and transaction helpers that set the tenant.
 *
 * - `withTenant` runs as `fivetier_app`, the role row-level security confines to one tenant.
 * - `withWorker` runs as `fivetier_worker` (outbox relay, queue dispatch).
 * - `withMaintenance` runs as `fivetier_maintenance` (consistency check, retention, erasure).
 *
 * The worker and maintenance pools open on first use.
 */
export class TierClient {
  readonly name: TierName;
  readonly config: TierConfig;
  readonly #connection: TierConnection;
  readonly #pools = new Map<LoginRole, pg.Pool>();
  #closed = false;

  constructor(config: TierConfig, connection: TierConnection) {
    this.name = config.name;
    this.config = config;
    this.#connection = connection;
  }

  /** The runtime pool (role `fivetier_app`). Queries outside `withTenant` see no tenant rows. */
  get pool(): pg.Pool {
    return this.poolFor('app');
  }

  /** The pool of one login role, created on first use. */
  poolFor(role: LoginRole): pg.Pool {
    if (this.#closed) throw new FivetierError('FT_ERR_TIER_UNAVAILABLE', [this.name, 'the client is closed']);
    let pool = this.#pools.get(role);
    if (!pool) {
      const settings = this.config.pool;
      pool = new pg.Pool({
        connectionString: roleUrl(this.#connection.url, role, this.#connection.rolePassword),
        max: role === 'app' ? settings.max : this.#connection.systemPoolMax,
        idleTimeoutMillis: settings.idleTimeoutMillis,
        connectionTimeoutMillis: settings.connectionTimeoutMillis,
        statement_timeout: settings.statementTimeoutMillis || undefined,
        application_name: `fivetier:${this.name}:${role}`,
      });
      // An idle connection that the server drops must not crash the process; the next
      // query reconnects, and health checks report the tier down meanwhile.
      pool.on('error', () => {});
      this.#pools.set(role, pool);
    }
    return pool;
  }

  /**
   * Run `fn` in a transaction as the runtime role with `app.current_tenant_id` set for that
   * transaction only (`set_config(..., true)`), so pooled connections never carry a tenant
   * over. Commits when `fn` resolves, rolls back when it throws, and rethrows.
   * Throws FT_ERR_TENANT_INVALID for a tenant id that is not a uuid.
   *
   * @example
   * const rows = await oltp.withTenant(tenantId, (c) => c.query('select * from campaigns'));
   */
  async withTenant<T>(tenantId: string, fn: (client: TxClient) => Promise<T>): Promise<T> {
    if (!isUuid(tenantId)) throw new FivetierError('FT_ERR_TENANT_INVALID', [JSON.stringify(tenantId)]);
    return this.#transaction('app', fn, tenantId);
  }

  /** Run `fn` in a transaction as `fivetier_worker`. Commits, or rolls back and rethrows. */
  withWorker<T>(fn: (client: TxClient) => Promise<T>): Promise<T> {
    return this.#transaction('worker', fn);
  }

  /** Run `fn` in a transaction as `fivetier_maintenance` (cross-tenant). Commits, or rolls back and rethrows. */
  withMaintenance<T>(fn: (client: TxClient) => Promise<T>): Promise<T> {
    return this.#transaction('maintenance', fn);
  }

  async #transaction<T>(role: LoginRole, fn: (client: TxClient) => Promise<T>, tenantId?: string): Promise<T> {
    const client = await this.#connect(role);
    const stopTimer = queryDuration.startTimer({ tier: this.name });
    let broken: Error | undefined;
    // why: a checked-out connection that drops between statements emits 'error'; without a
    // listener that would crash the process. Record it and destroy the connection on release.
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    try {
      await client.query('begin');
      if (tenantId !== undefined) await client.query(SET_TENANT, [tenantId]);
      const result = await fn(client);
      await client.query('commit');
      return result;
    } catch (err) {
      try {
        await client.query('rollback');
      } catch (rollbackErr) {
        // The connection is gone or unusable: drop it from the pool rather than reuse it.
        broken = rollbackErr as Error;
      }
      throw err;
    } finally {
      client.off('error', onError);
      // why: a connection being destroyed may still report its socket error; ignore it
      if (broken) client.on('error', () => {});
      client.release(broken);
      stopTimer();
    }
  }

  async #connect(role: LoginRole): Promise<pg.PoolClient> {
    try {
      return await this.poolFor(role).connect();
    } catch (err) {
      throw new FivetierError('FT_ERR_TIER_UNAVAILABLE', [this.name, (err as Error).message], { cause: err });
    }
  }

  /** Check the tier with `select 1` as the runtime role. Never throws. */
  async health(timeoutMs = 2_000): Promise<TierHealth> {
    const started = performance.now();
    try {
      await Promise.race([
        this.pool.query('select 1'),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
      ]);
      return { tier: this.name, status: 'up', latencyMs: Math.round((performance.now() - started) * 100) / 100 };
    } catch (err) {
      return { tier: this.name, status: 'down', error: (err as Error).message };
    }
  }

  /** Pool counters of the runtime pool, for metrics. */
  poolStats(): { total: number; idle: number; waiting: number } {
    const pool = this.#pools.get('app');
    return { total: pool?.totalCount ?? 0, idle: pool?.idleCount ?? 0, waiting: pool?.waitingCount ?? 0 };
  }

  /** Close every pool; waits for checked-out connections to be released. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.end()));
  }
}
