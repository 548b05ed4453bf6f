import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import pg from 'pg';
import type { TierConfig } from '../config/config.js';
import { FivetierError } from '../errors/codes.js';
import { queryDuration } from '../ops/metrics.js';
import { ROLES, isUuid, type LoginRole, type TierName } from '../types.js';
import { describeConnectionError, isConnectionError, isUnreachable, mapTierError } from './connection-errors.js';
import type { Queryable } from './queryable.js';
import { TierTransaction, type BeginOptions, type TxClient } from './tier-transaction.js';
import { TIER_TIMEOUT_MS_DEFAULT, TierWatchdog, type TierState } from './tier-watchdog.js';
import { trackedClientClass, type TrackedClient } from './tracked-client.js';

export type { TxClient } from './tier-transaction.js';

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
  /** Bound on how long a call waits on this tier when it does not answer, in ms. */
  timeoutMs?: number;
  /** Told the duration of every transaction run for a tenant (per-tenant performance). */
  onTenantCall?: (tenantId: string, tier: TierName, ms: number) => void;
}

/** The URL for one of fivetier's login roles on the same server and database as `adminUrl`. */
export function roleUrl(adminUrl: string, role: LoginRole, password: string | undefined): string {
  const url = new URL(adminUrl);
  url.username = ROLES[role];
  url.password = password ?? '';
  return url.toString();
}

/** How a tier transaction starts, as a caller of `withTenant` / `withWorker` / `withMaintenance` may ask. */
export interface TransactionOptions {
  /** Commit without waiting for the WAL flush (see BeginOptions.asyncCommit). */
  asyncCommit?: boolean;
  /** Only fivetier's own statements run in the callback: no session reset (see BeginOptions.ownStatementsOnly). */
  ownStatementsOnly?: boolean;
}

/**
 * One tier's database: a pool per login role, one way to run transactions on them, and a
 * watchdog that keeps every call bounded in time.
 *
 * - `withTenant` runs as `fivetier_app`, the role row-level security confines to one tenant.
 * - `withWorker` runs as `fivetier_worker` (outbox relay, queue dispatch).
 * - `withMaintenance` runs as `fivetier_maintenance` (consistency check, retention, erasure).
 * - `begin` opens a transaction that outlives one callback (the cross-tier protocol).
 * - `statements(role)` runs single statements that commit on their own (the queue's hot paths).
 *
 * Every transaction resets its session when it ends, so a connection goes back to its pool
 * clean whatever the caller's code did on it. A tier that does not answer fails calls within
 * `timeoutMs` (the watchdog); once the watchdog finds it silent or refusing connections (its
 * circuit opens), calls fail at once while it stays down; a tier that is not
 * migrated yet (it was down when the platform opened) fails them with a message saying so.
 * The worker and maintenance pools open on first use.
 */
export class TierClient extends EventEmitter<{ down: [reason: string]; up: [] }> {
  readonly name: TierName;
  readonly config: TierConfig;
  readonly #connection: TierConnection;
  readonly #pools = new Map<LoginRole, pg.Pool>();
  readonly #statements = new Map<LoginRole, Queryable>();
  readonly #live = new Set<TrackedClient>();
  readonly #clientClass: typeof pg.Client;
  readonly #watchdog: TierWatchdog;
  /** Why calls are refused before the tier is migrated; undefined once it is usable. */
  #notReady: string | undefined;
  #closed = false;

  constructor(config: TierConfig, connection: TierConnection) {
    super();
    // why: every relay, worker and listener on this tier listens for 'up'; that is no leak
    this.setMaxListeners(0);
    this.name = config.name;
    this.config = config;
    this.#connection = connection;
    this.#clientClass = trackedClientClass(this.#live, { namedStatements: config.pool.namedStatements !== 0 });
    this.#watchdog = new TierWatchdog({
      tier: this.name,
      probeUrl: roleUrl(connection.url, 'app', connection.rolePassword),
      timeoutMs: this.timeoutMs,
      live: () => this.#live,
    });
    this.#watchdog.on('down', (reason) => this.emit('down', reason));
    this.#watchdog.on('up', () => this.emit('up'));
  }

  /** Bound on how long a call waits on this tier when it does not answer, in ms. */
  get timeoutMs(): number {
    return this.#connection.timeoutMs ?? TIER_TIMEOUT_MS_DEFAULT;
  }

  /** `up`, or `down` while the watchdog finds the tier unreachable or it is not migrated yet. */
  get state(): TierState {
    return this.#notReady !== undefined ? 'down' : this.#watchdog.state;
  }

  /** Why the tier is down (no host, port or credentials in it). */
  get downReason(): string | undefined {
    return this.#notReady ?? this.#watchdog.reason;
  }

  /**
   * Refuse calls until `markReady()` (the platform opened while this tier was down; it migrates
   * the tier when it answers again).
   */
  markNotReady(reason: string): void {
    this.#notReady = reason;
  }

  markReady(): void {
    if (this.#notReady === undefined) return;
    this.#notReady = undefined;
    this.emit('up');
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
        Client: this.#clientClass,
        connectionString: roleUrl(this.#connection.url, role, this.#connection.rolePassword),
        max: role === 'app' ? settings.max : this.#connection.systemPoolMax,
        idleTimeoutMillis: settings.idleTimeoutMillis,
        // why: connecting to a tier that accepts and never answers must fail within the bound too
        connectionTimeoutMillis: Math.min(settings.connectionTimeoutMillis || this.timeoutMs, this.timeoutMs),
        statement_timeout: settings.statementTimeoutMillis || undefined,
        // why: a peer that vanished (network partition) is noticed on idle and LISTEN connections
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
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
   * Single statements as `role`, each on a pooled connection, committing on its own: the queue's
   * batched transitions (claim, dispatch, start, completion), its rescuer and operator actions.
   * They fail as calls do: at once while the watchdog finds the tier down, and with
   * FT_ERR_TIER_UNAVAILABLE when the tier refuses or does not answer, which makes the watchdog
   * look at it now. Statements that need a tenant's rows run in `withTenant` instead.
   */
  statements(role: Exclude<LoginRole, 'app'>): Queryable {
    let statements = this.#statements.get(role);
    if (!statements) {
      statements = { query: (config) => this.#statement(role, config) };
      this.#statements.set(role, statements);
    }
    return statements;
  }

  async #statement<R extends pg.QueryResultRow>(role: LoginRole, config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    this.#refuseWhileDown();
    try {
      return await this.poolFor(role).query<R>(config);
    } catch (err) {
      throw this.#failed(err);
    }
  }

  /**
   * Run `fn` in a transaction as the runtime role with `app.current_tenant_id` set for that
   * transaction only (`set_config(..., true)`). Commits when `fn` resolves, rolls back when it
   * throws, and rethrows. Throws FT_ERR_TENANT_INVALID for a tenant id that is not a uuid,
   * FT_ERR_TIER_UNAVAILABLE when the tier cannot be reached or does not answer in time.
   *
   * @example
   * const rows = await oltp.withTenant(tenantId, (c) => c.query('select * from public.campaigns'));
   */
  async withTenant<T>(tenantId: string, fn: (client: TxClient) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    if (!isUuid(tenantId)) throw new FivetierError('FT_ERR_TENANT_INVALID', [JSON.stringify(tenantId)]);
    return this.#run('app', fn, { ...options, tenantId });
  }

  /** Run `fn` in a transaction as `fivetier_worker`. Commits, or rolls back and rethrows. */
  withWorker<T>(fn: (client: TxClient) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return this.#run('worker', fn, options);
  }

  /** Run `fn` in a transaction as `fivetier_maintenance` (cross-tenant). Commits, or rolls back and rethrows. */
  withMaintenance<T>(fn: (client: TxClient) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return this.#run('maintenance', fn, options);
  }

  /**
   * Open a transaction as `role` and hand it over; the caller must end it with `commit()` or
   * `rollback()`. Throws FT_ERR_TIER_UNAVAILABLE when the tier cannot be reached.
   */
  async begin(role: LoginRole, options: BeginOptions = {}): Promise<TierTransaction> {
    const client = await this.#connect(role);
    const stopTimer = queryDuration.startTimer({ tier: this.name });
    const tx = new TierTransaction(this.name, client, stopTimer);
    try {
      await tx.start(options);
    } catch (err) {
      await tx.rollback();
      throw this.#failed(err);
    }
    return tx;
  }

  async #run<T>(role: LoginRole, fn: (client: TxClient) => Promise<T>, options: BeginOptions): Promise<T> {
    const started = performance.now();
    try {
      return await this.#runIn(role, fn, options);
    } finally {
      if (options.tenantId !== undefined) this.#connection.onTenantCall?.(options.tenantId, this.name, performance.now() - started);
    }
  }

  async #runIn<T>(role: LoginRole, fn: (client: TxClient) => Promise<T>, options: BeginOptions): Promise<T> {
    const tx = await this.begin(role, options);
    let result: T;
    try {
      result = await fn(tx.client);
    } catch (err) {
      await tx.rollback();
      throw this.#failed(err);
    }
    try {
      await tx.commit();
    } catch (err) {
      throw this.#failed(err);
    }
    return result;
  }

  /** A call failed: a tier that refused or did not answer makes the watchdog look at it now. Returns what to throw. */
  #failed(err: unknown): unknown {
    if (isUnreachable(err) && !(err instanceof FivetierError)) this.#watchdog.suspect();
    return mapTierError(this.name, err);
  }

  /** Throws FT_ERR_TIER_UNAVAILABLE while the tier is not migrated yet or the watchdog finds it down. */
  #refuseWhileDown(): void {
    if (this.#notReady !== undefined) throw new FivetierError('FT_ERR_TIER_UNAVAILABLE', [this.name, this.#notReady]);
    // why: a tier the watchdog found down fails calls at once instead of each waiting out the bound
    if (this.#watchdog.state === 'down') throw new FivetierError('FT_ERR_TIER_UNAVAILABLE', [this.name, this.#watchdog.reason ?? 'down']);
  }

  async #connect(role: LoginRole): Promise<pg.PoolClient> {
    this.#refuseWhileDown();
    try {
      return await this.poolFor(role).connect();
    } catch (err) {
      if (err instanceof FivetierError) throw err;
      // why: a connection that cannot be set up (refused, closed during the handshake, silent)
      // opens the circuit as a silent tier does, once the probe confirms it
      if (isConnectionError(err)) this.#watchdog.suspect();
      throw new FivetierError('FT_ERR_TIER_UNAVAILABLE', [this.name, describeConnectionError(err)], { cause: err });
    }
  }

  /** Check the tier with `select 1` as the runtime role. Never throws. */
  async health(timeoutMs = 2_000): Promise<TierHealth> {
    if (this.state === 'down') return { tier: this.name, status: 'down', error: this.downReason };
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.pool.query('select 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          timer.unref();
        }),
      ]);
      return { tier: this.name, status: 'up', latencyMs: Math.round((performance.now() - started) * 100) / 100 };
    } catch (err) {
      if (isConnectionError(err)) this.#watchdog.suspect();
      return { tier: this.name, status: 'down', error: describeConnectionError(err) };
    } finally {
      clearTimeout(timer);
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
    this.#watchdog.close();
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.end()));
  }

  // why: the connection URL carries the role password; inspecting a client must not print it
  [inspect.custom](): string {
    return `TierClient(${this.name}, ${this.state})`;
  }
}
