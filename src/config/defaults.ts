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
}

/**
 * Pool defaults per tier. OLTP, Content and OLAP are the seed's settings; the seed names no
 * connect timeout for Content and OLAP, nor pools for Queue and Notifications, so those take
 * the tier documentation's timeout classes (Content 60 s, Queue 15-20 s, OLAP 90-120 s).
 */
export const POOL_DEFAULTS: Readonly<Record<TierName, Readonly<PoolSettings>>> = Object.freeze({
  oltp: { max: 100, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 2_000, statementTimeoutMillis: 30_000 },
  content: { max: 50, idleTimeoutMillis: 60_000, connectionTimeoutMillis: 5_000, statementTimeoutMillis: 60_000 },
  olap: { max: 20, idleTimeoutMillis: 120_000, connectionTimeoutMillis: 5_000, statementTimeoutMillis: 120_000 },
  queue: { max: 40, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 2_000, statementTimeoutMillis: 20_000 },
  notifications: { max: 20, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 2_000, statementTimeoutMillis: 15_000 },
});

/** Connections of the worker and maintenance pools (per tier; opened on first use). */
export const SYSTEM_POOL_MAX_DEFAULT = 10;

/** Where the embedded default keeps its data, relative to the working directory. */
export const EMBEDDED_DATA_DIR_DEFAULT = '.fivetier/data';
/** Port of the embedded PostgreSQL server (listens on 127.0.0.1 only). */
export const EMBEDDED_PORT_DEFAULT = 54329;

/** Address of the HTTP API and dashboard. */
export const HTTP_HOST_DEFAULT = '127.0.0.1';
export const HTTP_PORT_DEFAULT = 8080;
