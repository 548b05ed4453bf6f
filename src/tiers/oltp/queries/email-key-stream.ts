import { columnSortsAsBytes } from '../../byte-order.js';
import { CopyOutRows } from '../../copy-out-rows.js';
import type { TxClient } from '../../tier-client.js';

/**
 * True when `emails.content_storage_key` sorts in byte order, so its index
 * (content_storage_key, tenant_id) yields the keys in the order the checker merges them.
 * Otherwise the key stream sorts with COLLATE "C" (slower; same result).
 */
export function emailsStorageKeyIsByteOrdered(c: TxClient): Promise<boolean> {
  return columnSortsAsBytes(c, 'public.emails', 'content_storage_key');
}

/**
 * Every email's content key (`\N` for none) and tenant as COPY text, one row per email:
 * `content_storage_key TAB tenant_id NEWLINE`, ordered by (content_storage_key in byte order,
 * tenant_id), emails without a key last. Optionally one tenant's. For the consistency
 * checker (I1, I3), as fivetier_maintenance, inside its transaction; the caller reads the
 * rows to their end. COPY takes no parameters, so the tenant goes in through a setting of
 * this transaction (`fivetier.check_tenant_id`). Throws on SQL errors.
 */
export async function emailsStreamStorageKeys(c: TxClient, args: { tenantId: string | null; byteOrdered: boolean }): Promise<CopyOutRows> {
  await c.query({
    name: 'emailsStreamStorageKeysScope',
    // why: one pass over the whole table is one statement; the tier's per-statement bound is for requests, not this scan
    text: `select set_config('fivetier.check_tenant_id', $1, true), set_config('statement_timeout', '0', true)`,
    values: [args.tenantId ?? ''],
  });
  const order = args.byteOrdered ? 'content_storage_key, tenant_id' : 'content_storage_key collate "C", tenant_id';
  const where = args.tenantId !== null ? `where tenant_id = pg_catalog.current_setting('fivetier.check_tenant_id')::uuid` : '';
  return c.query(new CopyOutRows(`copy (select content_storage_key, tenant_id from public.emails ${where} order by ${order}) to stdout`));
}

/**
 * The emails that reference any of the given (tenant, key) pairs. Run by the checker to name
 * the emails behind an I1 finding (and to drop those erased during the scan). Throws on SQL errors.
 */
export async function emailsFindByStorageKeys(c: TxClient, tenantIds: string[], keys: string[]): Promise<Array<{ tenant_id: string; id: string; content_storage_key: string }>> {
  const { rows } = await c.query({
    name: 'emailsFindByStorageKeys',
    text: `select e.tenant_id, e.id, e.content_storage_key from unnest($1::uuid[], $2::text[]) as k(tenant_id, storage_key)
             join public.emails e on e.content_storage_key = k.storage_key and e.tenant_id = k.tenant_id
            order by e.tenant_id, e.id`,
    values: [tenantIds, keys],
  });
  return rows;
}
