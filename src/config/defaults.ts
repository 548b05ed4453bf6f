import type { TierName } from '../types.js';

/** Pool and timeout settings of one tier. */
export interface PoolSettings {
  /** Most connections the runtime pool opens. */
  max: number;
  /** How long an idle connection is kept, in ms. */
  idleTimeoutMillis: number;
  /** How long to wait for a new connection before failing, in ms. */
  connectionTimeoutMillis: number;
  /** Server-side `statement_timeout` for every connection, in ms (0 = none). */
  statementTimeoutMillis: number;
  /**
   * 1: the pg driver prepares each named query once per connection and reuses it. 0: every
   * query goes unnamed, for a transaction-mode pooler that does not carry prepared statements
   * from one transaction to the next (PgBouncer before 1.21).
   */
  namedStatements: number;
}

/**
 * Pool defaults per tier. OLTP, Content and OLAP are the seed's settings; the seed names no
 * connect timeout for Content and OLAP, nor pools for Queue and Notifications, so those take
 * the tier documentation's timeout classes (Content 60 s, Queue 15-20 s, OLAP 90-120 s).
 */
export const POOL_DEFAULTS: Readonly<Record<TierName, Readonly<PoolSettings>>> = Object.freeze({
  oltp: { max: 100, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 2_000, statementTimeoutMillis: 30_000, namedStatements: 1 },
  content: { max: 50, idleTimeoutMillis: 60_000, connectionTimeoutMillis: 5_000, statementTimeoutMillis: 60_000, namedStatements: 1 },
  olap: { max: 20, idleTimeoutMillis: 120_000, connectionTimeoutMillis: 5_000, statementTimeoutMillis: 120_000, namedStatements: 1 },
  queue: { max: 40, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 2_000, statementTimeoutMillis: 20_000, namedStatements: 1 },
  notifications: { max: 20, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 2_000, statementTimeoutMillis: 15_000, namedStatements: 1 },
});

/** Connections of the worker and maintenance pools (per tier; opened on first use). */
export const SYSTEM_POOL_MAX_DEFAULT = 10;

/**
 * Bound on how long a call waits on a tier that accepts connections and never answers (a hung
 * server, a network partition), in ms: a query in flight for a third of it makes the tier's
 * watchdog probe the tier, and a probe unanswered for the rest marks the tier down.
 */
export const TIER_TIMEOUT_MS_DEFAULT = 3_000;

/** Where the embedded default keeps its data, relative to the working directory. */
export const EMBEDDED_DATA_DIR_DEFAULT = '.fivetier/data';
/** Port of the embedded PostgreSQL server (listens on 127.0.0.1 only). */
export const EMBEDDED_PORT_DEFAULT = 54329;

/** Address of the HTTP API and dashboard. */
export const HTTP_HOST_DEFAULT = '127.0.0.1';
export const HTTP_PORT_DEFAULT = 8080;
/** Requests per minute one API key may make (`FIVETIER_API_RATE_LIMIT`). */
export const API_RATE_LIMIT_PER_MINUTE_DEFAULT = 6_000;

/** Where messages go without SMTP_URL: one .eml file per email, relative to the working directory. */
export const MAIL_DIR_DEFAULT = '.fivetier/mail';
/** Sender of emails whose campaign names none. */
export const MAIL_FROM_DEFAULT = 'fivetier@localhost';

/**
 * Retention per tier (src/lifecycle/retention.ts), in days or months. The tier docs' figures:
 * completed jobs 6 months, dead jobs 1 year, job logs 90 days, admin events 90-365 days (the
 * upper end), OLAP facts 24 months and the audit log 7 years.
 */
export interface RetentionSettings {
  /** Completed and cancelled jobs, by their last change. */
  readonly completedJobsDays: number;
  /** Dead jobs, by their last change. */
  readonly deadJobsDays: number;
  readonly jobLogsDays: number;
  /** admin_system_events in the Notifications tier. */
  readonly adminEventsDays: number;
  /** Whole monthly partitions of the OLAP facts (and processed_events). */
  readonly olapMonths: number;
  /** Whole monthly partitions of admin_audit_log. */
  readonly auditLogMonths: number;
  /** The API's send idempotency keys (OLTP), by creation: a retry after this sends again. */
  readonly idempotencyKeysDays: number;
}

export const RETENTION_DEFAULTS: Readonly<RetentionSettings> = Object.freeze({
  completedJobsDays: 183,
  deadJobsDays: 365,
  jobLogsDays: 90,
  adminEventsDays: 365,
  olapMonths: 24,
  auditLogMonths: 84,
  idempotencyKeysDays: 7,
});
