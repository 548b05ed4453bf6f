import type { TxClient } from '../../tier-client.js';

/** An API key as it may be shown: never its hash. */
export interface ApiKeyRow {
  tenant_id: string;
  id: string;
  name: string;
  key_prefix: string;
  scopes: string[];
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const SHOWN = 'tenant_id, id, name, key_prefix, scopes, created_at, last_used_at, revoked_at';

/** Insert a key (its hash only) in the tenant's transaction. Throws on SQL errors (23505: prefix taken). */
export async function apiKeyInsert(c: TxClient, row: { tenantId: string; name: string; prefix: string; hash: Buffer }): Promise<ApiKeyRow> {
  const { rows } = await c.query<ApiKeyRow>({
    name: 'apiKeyInsert',
    text: `insert into public.api_keys (tenant_id, name, key_prefix, key_hash) values ($1, $2, $3, $4) returning ${SHOWN}`,
    values: [row.tenantId, row.name, row.prefix, row.hash],
  });
  return rows[0]!;
}

/** The tenant's keys, oldest first. */
export async function apiKeyList(c: TxClient): Promise<ApiKeyRow[]> {
  const { rows } = await c.query<ApiKeyRow>({ name: 'apiKeyList', text: `select ${SHOWN} from public.api_keys order by created_at, id` });
  return rows;
}

/** Revoke one of the tenant's keys; undefined when it has no such key or it was revoked already. */
export async function apiKeyRevoke(c: TxClient, id: string): Promise<ApiKeyRow | undefined> {
  const { rows } = await c.query<ApiKeyRow>({
    name: 'apiKeyRevoke',
    text: `update public.api_keys set revoked_at = now() where id = $1 and revoked_at is null returning ${SHOWN}`,
    values: [id],
  });
  return rows[0];
}

/**
 * Live keys with this prefix, across tenants (authentication runs before the tenant is known;
 * run as fivetier_maintenance). The caller compares the hashes.
 */
export async function apiKeyFindByPrefix(c: TxClient, prefix: string): Promise<Array<{ tenant_id: string; id: string; key_hash: Buffer }>> {
  const { rows } = await c.query<{ tenant_id: string; id: string; key_hash: Buffer }>({
    name: 'apiKeyFindByPrefix',
    text: `select tenant_id, id, key_hash from public.api_keys where key_prefix = $1 and revoked_at is null`,
    values: [prefix],
  });
  return rows;
}

/** Record that a key was used (run as fivetier_maintenance, at most once per cache period per key). */
export async function apiKeyTouch(c: TxClient, tenantId: string, id: string): Promise<void> {
  await c.query({ name: 'apiKeyTouch', text: `update public.api_keys set last_used_at = now() where tenant_id = $1 and id = $2`, values: [tenantId, id] });
}
