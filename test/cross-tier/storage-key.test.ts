import { describe, expect, it } from 'vitest';
import { isStorageKey, newStorageKey, STORAGE_KEY_BYTES } from '../../src/cross-tier/storage-key.js';

describe('storage keys', () => {
  it('are opaque: random, at least 128 bits, URL-safe, never repeated', () => {
    expect(STORAGE_KEY_BYTES * 8).toBeGreaterThanOrEqual(128);
    const keys = Array.from({ length: 10_000 }, () => newStorageKey());
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of keys.slice(0, 100)) {
      expect(k).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(Buffer.from(k, 'base64url')).toHaveLength(STORAGE_KEY_BYTES);
      expect(isStorageKey(k)).toBe(true);
    }
    // No shared prefix (no tenant, time or sequence inside): first characters spread out.
    expect(new Set(keys.map((k) => k.slice(0, 2))).size).toBeGreaterThan(1_000);
  });

  it('rejects strings that are not keys', () => {
    for (const bad of ['', 'short', 'has space in it 1234567890', 'a/b+c=1234567890123456789', 123]) expect(isStorageKey(bad)).toBe(false);
  });
});
