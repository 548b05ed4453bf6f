import type { TxClient } from '../../tier-client.js';

export interface StoredContent {
  tenant_id: string;
  storage_key: string;
  content_text: string | null;
  content_html: string | null;
  headers: Record<string, string> | null;
  content_hash: string | null;
  raw_size_bytes: number | null;
  created_at: Date;
  expires_at: Date | null;
}

/**
 * The content stored under `storageKey` that the role can see, with its HTML body whichever way it
 * is stored (in the row, or once per tenant and hash in content_bodies; migration 0005), or null.
 * Throws on SQL errors.
 */
export async function contentObjectGetByKey(c: TxClient, storageKey: string): Promise<StoredContent | null> {
  const { rows } = await c.query<StoredContent>({
    name: 'contentObjectGetByKey',
    text: `select o.tenant_id, o.storage_key, o.content_text, coalesce(o.content_html, b.content_html) as content_html,
                  o.headers, o.content_hash, o.raw_size_bytes, o.created_at, o.expires_at
             from public.content_objects o
             left join public.content_bodies b on b.tenant_id = o.tenant_id and b.content_hash = o.content_hash and o.content_html is null
            where o.storage_key = $1
            limit 1`,
    values: [storageKey],
  });
  return rows[0] ?? null;
}

/** Bodies stored for `contentHash` in the caller's tenant: 0 or 1, with their reference count. Throws on SQL errors. */
export async function contentBodyRefCount(c: TxClient, contentHash: string): Promise<number | null> {
  const { rows } = await c.query<{ ref_count: number }>({
    name: 'contentBodyRefCount',
    text: 'select ref_count from public.content_bodies where content_hash = $1',
    values: [contentHash],
  });
  return rows[0]?.ref_count ?? null;
}

/**
 * One keyset batch of content rows whose expires_at has passed, after (tenant_id, storage_key),
 * optionally for one tenant, locked (FOR UPDATE SKIP LOCKED) unless `lock` is false (a dry run
 * must not block writers). Run by expireContent as fivetier_maintenance. Throws on SQL errors.
 */
export async function contentObjectsScanExpired(
  c: TxClient,
  args: { afterTenant: string; afterKey: string; tenantId: string | null; asOf: Date; limit: number; lock: boolean },
): Promise<Array<{ tenant_id: string; storage_key: string }>> {
  const select = `select tenant_id, storage_key from public.content_objects
            where (tenant_id, storage_key) > ($1, $2) and ($3::uuid is null or tenant_id = $3)
              and expires_at is not null and expires_at < $4
            order by tenant_id, storage_key limit $5`;
  const { rows } = await c.query({
    name: args.lock ? 'contentObjectsClaimExpired' : 'contentObjectsScanExpired',
    text: args.lock ? `${select} for update skip locked` : select,
    values: [args.afterTenant, args.afterKey, args.tenantId, args.asOf, args.limit],
  });
  return rows;
}
