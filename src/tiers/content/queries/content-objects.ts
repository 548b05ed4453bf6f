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
             left join lateral (select 1 as found from public.content_objects o
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
    text: `select tenant_id, storage_key, created_at from public.content_objects
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
    text: `select tenant_id, storage_key from public.content_objects
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
    text: `delete from public.content_objects o using unnest($1::uuid[], $2::text[]) as k(tenant_id, storage_key)
            where o.tenant_id = k.tenant_id and o.storage_key = k.storage_key`,
    values: [tenantIds, keys],
  });
  return res.rowCount ?? 0;
}

/**
 * Delete the content row(s) with `storageKey` that the role can see, only those created more
 * than `olderThanSeconds` ago when it is not null. Returns how many went and how many stayed for
 * being younger. Run by cleanupOrphanedData. Throws on SQL errors.
 */
export async function contentObjectsDeleteByKey(c: TxClient, storageKey: string, olderThanSeconds: number | null): Promise<{ deleted: number; recent: number }> {
  const { rows } = await c.query<{ deleted: number; recent: number }>({
    name: 'contentObjectsDeleteByKey',
    text: `with gone as (
             delete from public.content_objects
              where storage_key = $1 and ($2::double precision is null or created_at < now() - make_interval(secs => $2))
             returning 1)
           select (select count(*) from gone)::int as deleted,
                  (select count(*) from public.content_objects
                    where storage_key = $1 and $2::double precision is not null and created_at >= now() - make_interval(secs => $2))::int as recent`,
    values: [storageKey, olderThanSeconds],
  });
  return rows[0] ?? { deleted: 0, recent: 0 };
}

/**
 * Store one body in the caller's tenant transaction (the first step of the ordered protocol:
 * content commits before the OLTP row that references it). Throws on SQL errors.
 */
export async function contentObjectInsert(c: TxClient, row: { tenantId: string; storageKey: string; html: string; headers: Record<string, string> | null }): Promise<void> {
  await c.query({
    name: 'contentObjectInsert',
    text: `insert into public.content_objects (tenant_id, storage_key, content_html, headers, raw_size_bytes, content_hash)
           values ($1, $2, $3, $4, octet_length($3), encode(sha256(convert_to($3, 'UTF8')), 'hex'))`,
    values: [row.tenantId, row.storageKey, row.html, row.headers === null ? null : JSON.stringify(row.headers)],
  });
}

/**
 * Store several bodies in the caller's tenant transaction, one statement (the first step of the
 * ordered protocol, as contentObjectInsert). Throws on SQL errors.
 */
export async function contentObjectInsertMany(c: TxClient, tenantId: string, rows: ReadonlyArray<{ storageKey: string; html: string }>): Promise<void> {
  await c.query({
    name: 'contentObjectInsertMany',
    text: `insert into public.content_objects (tenant_id, storage_key, content_html, headers, raw_size_bytes, content_hash)
           select $1, x.storage_key, x.html, null, octet_length(x.html), encode(sha256(convert_to(x.html, 'UTF8')), 'hex')
             from unnest($2::text[], $3::text[]) as x(storage_key, html)`,
    values: [tenantId, rows.map((r) => r.storageKey), rows.map((r) => r.html)],
  });
}
