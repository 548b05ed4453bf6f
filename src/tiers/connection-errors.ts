import { FivetierError } from '../errors/codes.js';
import type { TierName } from '../types.js';

/** SQLSTATEs that mean the connection or the server went away, not that the statement was wrong. */
const CONNECTION_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

/**
 * True when `err` says the tier could not be reached or the connection broke (socket errors,
 * "Connection terminated", SQLSTATE class 08, admin shutdown). Never throws.
 */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof FivetierError) return err.code === 'FT_ERR_TIER_UNAVAILABLE';
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e) return false;
  const code = typeof e.code === 'string' ? e.code : '';
  if (/^[0-9A-Z]{5}$/.test(code)) return code.startsWith('08') || CONNECTION_SQLSTATES.has(code);
  // Node socket errors (ECONNRESET, ECONNREFUSED, EPIPE, ...) and pg's own connection messages.
  if (code.startsWith('E')) return true;
  const message = typeof e.message === 'string' ? e.message : '';
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable|timeout exceeded when trying to connect|does not answer/i.test(message);
}

/** True when `err` says the tier did not answer in time (as opposed to refusing or resetting). */
export function isNoAnswer(err: unknown): boolean {
  const e = (err instanceof FivetierError ? err.cause : err) as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : '';
  return e?.code === 'ETIMEDOUT' || /timeout|does not answer|no answer/i.test(message);
}

/**
 * True when `err` says the tier cannot be reached now: no answer in time, a refused connection,
 * an unknown or unreachable host, a server shutting down or starting up. A connection reset on
 * its own is not: healthy tiers reset connections too (a terminated backend, a pooler restart),
 * and the next connection attempt tells which it is.
 */
export function isUnreachable(err: unknown): boolean {
  if (isNoAnswer(err)) return true;
  const e = (err instanceof FivetierError ? err.cause : err) as { code?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  return ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', '57P01', '57P02', '57P03'].includes(code);
}

/**
 * What went wrong with a connection, in words fit for a caller: no host, port, user or
 * password (those stay in the error's `cause`, for the operator's log). Never throws.
 */
export function describeConnectionError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'connection reset';
  if (code === 'ETIMEDOUT' || /timeout|does not answer|no answer/i.test(message)) return 'no answer in time';
  if (code === '57P01' || code === '57P02') return 'the server shut down';
  if (code === '57P03') return 'the server is starting up';
  if (code === '53300') return 'too many connections';
  if (code === '28P01' || code === '28000') return 'login refused';
  if (code === '3D000') return 'database does not exist';
  if (/terminated|connection error|not queryable/i.test(message)) return 'connection lost';
  return 'unreachable';
}

/**
 * `err` as FT_ERR_TIER_UNAVAILABLE for `tier` when it is a connection error (original as
 * `cause`), otherwise `err` unchanged. Never throws.
 */
export function mapTierError(tier: TierName, err: unknown): unknown {
  if (err instanceof FivetierError || !isConnectionError(err)) return err;
  return new FivetierError('FT_ERR_TIER_UNAVAILABLE', [tier, describeConnectionError(err)], { cause: err });
}
