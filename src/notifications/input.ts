/**
 * Checks on what callers hand the notifications API. Each throws FT_ERR_INPUT_INVALID with a
 * message that names the field, so bad input never reaches the database as a cryptic error.
 */
import { FivetierError } from '../errors/codes.js';
import { isUuid } from '../types.js';

export function invalid(message: string): FivetierError {
  return new FivetierError('FT_ERR_INPUT_INVALID', [message]);
}

export function requireUuid(field: string, value: unknown): string {
  if (!isUuid(value)) throw invalid(`${field} must be a uuid, got ${JSON.stringify(value)}`);
  return value;
}

/** A list of uuids; `max` bounds one call's work. */
export function requireUuids(field: string, value: unknown, max: number): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) throw invalid(`${field} must be a uuid or an array of uuids`);
  if (list.length > max) throw invalid(`${field} holds ${list.length} ids; at most ${max} per call`);
  list.forEach((v, i) => requireUuid(`${field}[${i}]`, v));
  return [...new Set(list as string[])];
}

export function requireText(field: string, value: unknown, maxLength: number): string {
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > maxLength) {
    throw invalid(`${field} must be a non-empty string of at most ${maxLength} characters`);
  }
  return value;
}

export function requireOneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw invalid(`${field} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

/** An integer in min..max; undefined gives `fallback`. */
export function requireInt(field: string, value: unknown, min: number, max: number, fallback?: number): number {
  const v = value === undefined ? fallback : value;
  if (!(typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max)) throw invalid(`${field} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  return v;
}

export function optionalDate(field: string, value: unknown): Date | null {
  if (value === undefined || value === null) return null;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw invalid(`${field} must be a valid Date`);
  return value;
}

/** Structured data kept small (ids and counts): a JSON object of at most `maxBytes` serialised. */
export function optionalSmallJson(field: string, value: unknown, maxBytes: number): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(`${field} must be a plain object`);
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw invalid(`${field} cannot be stored as JSON: ${(err as Error).message}`);
  }
  if (Buffer.byteLength(text) > maxBytes) throw invalid(`${field} is ${Buffer.byteLength(text)} bytes as JSON; at most ${maxBytes}`);
  return value;
}
