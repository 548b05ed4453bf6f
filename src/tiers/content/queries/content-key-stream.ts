import { columnSortsAsBytes } from '../../byte-order.js';
import { CopyOutRows } from '../../copy-out-rows.js';
import type { TxClient } from '../../tier-client.js';

/**
 * True when `content_objects.storage_key` sorts in byte order, so its index
 * (storage_key, tenant_id) yields the keys in the order the checker merges them.
 */
export function contentObjectsKeyIsByteOrdered(c: TxClient): Promise<boolean> {
  return columnSortsAsBytes(c, 'public.content_objects', 'storage_key');
}

/**
 * Every content row's key and tenant as COPY text, `storage_key TAB tenant_id NEWLINE`,
 * ordered by (storage_key, tenant_id) in byte order, the order of the email key stream: off
 * the (storage_key, tenant_id) index when the column sorts as bytes (`byteOrdered`), else
 * sorted with COLLATE "C". Optionally one tenant's. Only indexed columns, so no row (no body)
 * is read. For the consistency checker (I1, I3), as
 * fivetier_maintenance, inside its transaction; the caller reads the rows to their end. COPY
 * takes no parameters, so the tenant goes in through a setting of this transaction. Throws on
 * SQL errors.
 */
export async function contentObjectsStreamKeys(c: TxClient, args: { tenantId: string | null; byteOrdered: boolean }): Promise<CopyOutRows> {
  await c.query({
    name: 'contentObjectsStreamKeysScope',
    // why: one pass over the whole table is one statement; the tier's per-statement bound is for
    // requests, not this scan. Where it must sort, a million keys fit in 64 MB instead of spilling to disk.
    text: `select set_config('fivetier.check_tenant_id', $1, true), set_config('statement_timeout', '0', true), set_config('work_mem', '64MB', true)`,
    values: [args.tenantId ?? ''],
  });
  const order = args.byteOrdered ? 'storage_key, tenant_id' : 'storage_key collate "C", tenant_id';
  const where = args.tenantId !== null ? `where tenant_id = pg_catalog.current_setting('fivetier.check_tenant_id')::uuid` : '';
  return c.query(new CopyOutRows(`copy (select storage_key, tenant_id from public.content_objects ${where} order by ${order}) to stdout`));
}

/**
 * Of the given (tenant, key) pairs, those whose content row was created more than
 * `graceSeconds` ago. Run by the checker on its I3 suspects (younger content may belong to a
 * send whose email is not committed yet). Throws on SQL errors.
 */
export async function contentObjectsFindOlderThan(c: TxClient, tenantIds: string[], keys: string[], graceSeconds: number): Promise<Array<{ tenant_id: string; storage_key: string }>> {
  const { rows } = await c.query({
    name: 'contentObjectsFindOlderThan',
    text: `select o.tenant_id, o.storage_key from unnest($1::uuid[], $2::text[]) as k(tenant_id, storage_key)
             join public.content_objects o on o.tenant_id = k.tenant_id and o.storage_key = k.storage_key
            where o.created_at < now() - make_interval(secs => $3)
            order by o.tenant_id, o.storage_key`,
    values: [tenantIds, keys, graceSeconds],
  });
  return rows;
}
