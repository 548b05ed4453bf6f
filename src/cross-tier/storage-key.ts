import { randomBytes } from 'node:crypto';

/** Random bytes in a storage key: 144 bits, so 24 base64url characters. */
export const STORAGE_KEY_BYTES = 18;

const STORAGE_KEY_RE = /^[A-Za-z0-9_-]{22,500}$/;

/**
 * A new opaque storage key for a content-tier row: random (144 bits), URL-safe (base64url),
 * with no tenant id, row id, time or sequence inside. Never throws.
 *
 * @example
 * const key = newStorageKey(); // 'q3Xw0m9y2nU8d1LzVb7kRj4T'
 */
export function newStorageKey(): string {
  return randomBytes(STORAGE_KEY_BYTES).toString('base64url');
}

/** True for a string shaped like a storage key (URL-safe, 22 to 500 characters). Never throws. */
export function isStorageKey(value: unknown): value is string {
  return typeof value === 'string' && STORAGE_KEY_RE.test(value);
}
