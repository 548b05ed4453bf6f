/**
 * UTC calendar helpers. OLAP periods are UTC days (`period_start date`) and its partitions UTC
 * months, whatever the time zone of the process or the database session.
 */
import { FivetierError } from '../errors/codes.js';

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
const MONTH_RE = /^\d{4}-\d{2}$/;

/** `YYYY-MM-DD` of the UTC day `t` falls in. */
export function utcDay(t: Date): string {
  return t.toISOString().slice(0, 10);
}

/** The first instant of the UTC month `t` falls in, moved by `months` (may be negative). */
export function utcMonthStart(t: Date, months = 0): Date {
  return new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + months, 1));
}

/**
 * A Date, or an ISO string, as a Date. Throws FT_ERR_INPUT_INVALID naming `field` for anything
 * that is not a valid time.
 */
export function toTime(value: unknown, field: string): Date {
  const t = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  if (!t || Number.isNaN(t.getTime())) throw new FivetierError('FT_ERR_INPUT_INVALID', [`${field} must be a Date or an ISO 8601 time, got ${describe(value)}`]);
  return t;
}

/**
 * A UTC day given as `YYYY-MM-DD` or as a Date (its UTC day), as `YYYY-MM-DD`. Throws
 * FT_ERR_INPUT_INVALID naming `field` otherwise.
 */
export function toUtcDay(value: unknown, field: string): string {
  if (typeof value === 'string' && DAY_RE.test(value)) {
    const t = new Date(`${value}T00:00:00Z`);
    if (!Number.isNaN(t.getTime()) && utcDay(t) === value) return value;
  }
  if (value instanceof Date && !Number.isNaN(value.getTime())) return utcDay(value);
  throw new FivetierError('FT_ERR_INPUT_INVALID', [`${field} must be a UTC day (YYYY-MM-DD) or a Date, got ${describe(value)}`]);
}

/**
 * A UTC month given as `YYYY-MM` or as a Date (its UTC month), as its first instant. Throws
 * FT_ERR_INPUT_INVALID naming `field` otherwise.
 */
export function toUtcMonth(value: unknown, field: string): Date {
  if (typeof value === 'string' && MONTH_RE.test(value)) {
    const month = Number(value.slice(5, 7));
    if (month >= 1 && month <= 12) return new Date(Date.UTC(Number(value.slice(0, 4)), month - 1, 1));
  }
  if (value instanceof Date && !Number.isNaN(value.getTime())) return utcMonthStart(value);
  throw new FivetierError('FT_ERR_INPUT_INVALID', [`${field} must be a UTC month (YYYY-MM) or a Date, got ${describe(value)}`]);
}

/** A short, safe rendering of a bad value for an error message. */
export function describe(value: unknown): string {
  if (value instanceof Date) return 'an invalid Date';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
