import type { TxClient } from '../../tier-client.js';

/**
 * Of the given (tenant, key) pairs, those with no content row. Run by the consistency checker
 * (I1) as fivetier_maintenance. Throws on SQL errors.
 */
export async function contentObjectsFindMissing(c: TxClient, tenantIds: string[], keys: string[]): Promise<Array<{ tenant_id: string; storage_key: string }>> {
  const { rows } = await c.query({
    name: 'contentObjectsFindMissing',
    // why: LATERAL ... LIMIT 1 keeps one primary-key probe per key; with the array's real
    // length the planner otherwise picks a hash anti-join that reads the whole table per batch
    text: `select k.tenant_id, k.storage_key from unnest($1::uuid[], $2::text[]) as k(tenant_id, storage_key)
             left join lateral (select 1 as found from content_objects o
                                 where o.tenant_id = k.tenant_id and o.storage_key = k.storage_key limit 1) f on true
            where f.found is null`,
    values: [tenantIds, keys],
  });
  return rows;
}

/**
 * One keyset batch of content rows created before now() - `graceSeconds`, after (tenant_id,
 * storage_key), optionally for one tenant. Run by the consistency checker (I3). Throws on SQL errors.
 */
export async function contentObjectsScanOlderThan(
  c: TxClient,
  args: { afterTenant: string; afterKey: string; tenantId: string | null; graceSeconds: number; limit: number },
): Promise<Array<{ tenant_id: string; storage_key: string; created_at: Date }>> {
  const { rows } = await c.query({
    name: 'contentObjectsScanOlderThan',
    text: `select tenant_id, storage_key, created_at from content_objects
            where (tenant_id, storage_key) > ($1, $2) and ($3::uuid is null or tenant_id = $3)
              and created_at < now() - make_interval(secs => $4)
            order by tenant_id, storage_key limit $5`,
    values: [args.afterTenant, args.afterKey, args.tenantId, args.graceSeconds, args.limit],
  });
  return rows;
}

/**
 * Like contentObjectsScanOlderThan, but locks the rows (FOR UPDATE SKIP LOCKED) so two sweepers
 * never work on the same rows. Run by the orphan sweeper. Throws on SQL errors.
 */
export async function contentObjectsClaimOlderThan(
  c: TxClient,
  args: { afterTenant: string; afterKey: string; tenantId: string | null; graceSeconds: number; limit: number },
): Promise<Array<{ tenant_id: string; storage_key: string }>> {
  const { rows } = await c.query({
    name: 'contentObjectsClaimOlderThan',
    text: `select tenant_id, storage_key from content_objects
            where (tenant_id, storage_key) > ($1, $2) and ($3::uuid is null or tenant_id = $3)
              and created_at < now() - make_interval(secs => $4)
            order by tenant_id, storage_key limit $5 for update skip locked`,
    values: [args.afterTenant, args.afterKey, args.tenantId, args.graceSeconds, args.limit],
  });
  return rows;
}

/** Delete content rows by (tenant, key). Run by the orphan sweeper. Throws on SQL errors. */
export async function contentObjectsDeleteMany(c: TxClient, tenantIds: string[], keys: string[]): Promise<number> {
  const res = await c.query({
    name: 'contentObjectsDeleteMany',
    text: `delete from content_objects o using unnest($1::uuid[], $2::text[]) as k(tenant_id, storage_key)
            where o.tenant_id = k.tenant_id and o.storage_key = k.storage_key`,
    values: [tenantIds, keys],
  });
  return res.rowCount ?? 0;
}

/** Delete the content row(s) with `storageKey` that the role can see. Run by cleanupOrphanedData. Throws on SQL errors. */
export async function contentObjectsDeleteByKey(c: TxClient, storageKey: string): Promise<number> {
  const res = await c.query({
    name: 'contentObjectsDeleteByKey',
    text: `delete from content_objects where storage_key = $1`,
    values: [storageKey],
  });
  return res.rowCount ?? 0;
}
