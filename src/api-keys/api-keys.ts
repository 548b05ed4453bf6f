/**
 * Per-tenant API keys: created (shown once), listed, revoked, and verified on every request.
 *
 * A key is `ft_live_` + 8 characters (its prefix, stored and shown, which finds the row) + 43
 * more (32 random bytes in all after `ft_live_`, base64url). Only the SHA-256 of the whole key
 * is stored. why not bcrypt/scrypt: those slow down guessing of low-entropy passwords; a key of
 * 256 random bits cannot be guessed, so a plain hash loses nothing and lets every request be
 * verified with one index lookup and one constant-time comparison.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { FivetierError } from '../errors/codes.js';
import type { Fivetier } from '../platform.js';
import { apiKeyFindByPrefix, apiKeyInsert, apiKeyList, apiKeyRevoke, apiKeyTouch, type ApiKeyRow } from '../tiers/oltp/queries/api-keys.js';
import { isUuid } from '../types.js';

export type { ApiKeyRow } from '../tiers/oltp/queries/api-keys.js';

/** What every key starts with (secret scanners can look for it). */
export const API_KEY_MARK = 'ft_live_';
const PREFIX_LENGTH = API_KEY_MARK.length + 8;
const KEY_SHAPE = /^ft_live_[A-Za-z0-9_-]{43}$/;

/** sha256 of the whole key: what the api_keys table holds. */
export function apiKeyHash(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

function invalid(message: string): FivetierError {
  return new FivetierError('FT_ERR_INPUT_INVALID', [message]);
}

/**
 * Create a key for the tenant. Returns the key itself (the only time it is shown; it is stored
 * hashed) and its row. Throws FT_ERR_INPUT_INVALID for a bad name or tenant id.
 */
export async function createApiKey(ft: Fivetier, tenantId: string, options: { name: string }): Promise<{ key: string; apiKey: ApiKeyRow }> {
  if (!isUuid(tenantId)) throw invalid(`tenant id must be a uuid, got ${JSON.stringify(tenantId)}`);
  if (typeof options?.name !== 'string' || options.name.trim() === '' || options.name.length > 100) throw invalid('name must be 1..100 characters');
  const key = API_KEY_MARK + randomBytes(32).toString('base64url');
  const apiKey = await ft.oltp.withTenant(tenantId, (c) => apiKeyInsert(c, { tenantId, name: options.name, prefix: key.slice(0, PREFIX_LENGTH), hash: apiKeyHash(key) }));
  return { key, apiKey };
}

/** The tenant's keys (prefix and dates; never a hash). */
export function listApiKeys(ft: Fivetier, tenantId: string): Promise<ApiKeyRow[]> {
  return ft.oltp.withTenant(tenantId, (c) => apiKeyList(c));
}

/** Revoke one of the tenant's keys; undefined when it has no live key with that id. */
export async function revokeApiKey(ft: Fivetier, tenantId: string, keyId: string): Promise<ApiKeyRow | undefined> {
  if (!isUuid(keyId)) return undefined;
  return ft.oltp.withTenant(tenantId, (c) => apiKeyRevoke(c, keyId));
}

/** Who a verified key belongs to. */
export interface KeyOwner {
  tenantId: string;
  keyId: string;
}

/**
 * The tenant of a presented key, or undefined for an unknown, malformed or revoked key. Runs as
 * fivetier_maintenance (the tenant is not known yet). Throws FT_ERR_TIER_UNAVAILABLE when OLTP is down.
 */
export async function verifyApiKey(ft: Fivetier, key: string): Promise<KeyOwner | undefined> {
  if (!KEY_SHAPE.test(key)) return undefined;
  const hash = apiKeyHash(key);
  const rows = await ft.oltp.withMaintenance((c) => apiKeyFindByPrefix(c, key.slice(0, PREFIX_LENGTH)));
  const row = rows.find((r) => r.key_hash.length === hash.length && timingSafeEqual(r.key_hash, hash));
  return row && { tenantId: row.tenant_id, keyId: row.id };
}

/**
 * verifyApiKey with a short in-process memory of keys verified recently, keyed by their hash:
 * a request then needs no OLTP round trip for its key. A revocation reaches other processes
 * within `ttlMs` (this one at once, through `forget`). Records `last_used_at` once per period.
 */
export class ApiKeyVerifier {
  readonly #ft: Fivetier;
  readonly #ttlMs: number;
  readonly #known = new Map<string, { owner: KeyOwner; until: number }>();

  constructor(ft: Fivetier, options: { ttlMs?: number } = {}) {
    this.#ft = ft;
    this.#ttlMs = options.ttlMs ?? 10_000;
  }

  async verify(key: string): Promise<KeyOwner | undefined> {
    const id = apiKeyHash(key).toString('base64');
    const now = Date.now();
    const hit = this.#known.get(id);
    if (hit && hit.until > now) return hit.owner;
    this.#known.delete(id);
    const owner = await verifyApiKey(this.#ft, key);
    if (!owner) return undefined;
    // why: bound the memory whatever the number of keys; the oldest entries go first
    if (this.#known.size >= 10_000) this.#known.delete(this.#known.keys().next().value!);
    this.#known.set(id, { owner, until: now + this.#ttlMs });
    void this.#ft.oltp.withMaintenance((c) => apiKeyTouch(c, owner.tenantId, owner.keyId)).catch(() => {});
    return owner;
  }

  /** Drop a revoked key from the memory. */
  forget(keyId: string): void {
    for (const [id, entry] of this.#known) if (entry.owner.keyId === keyId) this.#known.delete(id);
  }
}
