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
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable|timeout exceeded when trying to connect/i.test(message);
}

/**
 * `err` as FT_ERR_TIER_UNAVAILABLE for `tier` when it is a connection error (original as
 * `cause`), otherwise `err` unchanged. Never throws.
 */
export function mapTierError(tier: TierName, err: unknown): unknown {
  if (err instanceof FivetierError || !isConnectionError(err)) return err;
  return new FivetierError('FT_ERR_TIER_UNAVAILABLE', [tier, (err as Error).message], { cause: err });
}
