import type { TxClient } from '../../tier-client.js';

/**
 * One keyset batch of emails that carry a content key, after (tenant_id, id), optionally for one
 * tenant. Run by the consistency checker (I1) as fivetier_maintenance. Throws on SQL errors.
 */
export async function emailsScanStorageKeys(
  c: TxClient,
  args: { afterTenant: string; afterId: string; tenantId: string | null; limit: number },
): Promise<Array<{ tenant_id: string; id: string; content_storage_key: string | null }>> {
  const { rows } = await c.query({
    name: 'emailsScanStorageKeys',
    text: `select tenant_id, id, content_storage_key from public.emails
            where (tenant_id, id) > ($1, $2) and ($3::uuid is null or tenant_id = $3)
            order by tenant_id, id limit $4`,
    values: [args.afterTenant, args.afterId, args.tenantId, args.limit],
  });
  return rows;
}

/**
 * Of the given (tenant, key) pairs, those no email references. Run by the checker (I3), the
 * orphan sweeper and cleanupOrphanedData. Throws on SQL errors.
 */
export async function emailsFindUnreferencedKeys(c: TxClient, tenantIds: string[], keys: string[]): Promise<Array<{ tenant_id: string; storage_key: string }>> {
  const { rows } = await c.query({
    name: 'emailsFindUnreferencedKeys',
    // why: LATERAL ... LIMIT 1 keeps one index probe per key (see contentObjectsFindMissing)
    text: `select k.tenant_id, k.storage_key from unnest($1::uuid[], $2::text[]) as k(tenant_id, storage_key)
             left join lateral (select 1 as found from public.emails e
                                 where e.content_storage_key = k.storage_key and e.tenant_id = k.tenant_id limit 1) f on true
            where f.found is null`,
    values: [tenantIds, keys],
  });
  return rows;
}

/** True when any email (that the role can see) references `storageKey`. Run by cleanupOrphanedData. Throws on SQL errors. */
export async function emailsExistWithStorageKey(c: TxClient, storageKey: string): Promise<boolean> {
  const { rows } = await c.query({
    name: 'emailsExistWithStorageKey',
    text: `select 1 from public.emails where content_storage_key = $1 limit 1`,
    values: [storageKey],
  });
  return rows.length > 0;
}

/** Of the given emails, those that still exist. Run by the checker to recheck I1 findings. Throws on SQL errors. */
export async function emailsFindExisting(c: TxClient, tenantIds: string[], ids: string[]): Promise<Array<{ tenant_id: string; id: string }>> {
  const { rows } = await c.query({
    name: 'emailsFindExisting',
    text: `select e.tenant_id, e.id from public.emails e join unnest($1::uuid[], $2::uuid[]) as k(tenant_id, id)
             on e.tenant_id = k.tenant_id and e.id = k.id`,
    values: [tenantIds, ids],
  });
  return rows;
}
