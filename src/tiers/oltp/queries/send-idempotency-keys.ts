import type { TxClient } from '../../tier-client.js';

export interface SendIdempotencyKeyRow {
  key: string;
  request_hash: Buffer;
  email_id: string;
  storage_key: string;
  created_at: Date;
}

/** The tenant's row for an idempotency key, if any. */
export async function sendIdempotencyKeyGet(c: TxClient, key: string): Promise<SendIdempotencyKeyRow | undefined> {
  const { rows } = await c.query<SendIdempotencyKeyRow>({
    name: 'sendIdempotencyKeyGet',
    text: `select key, request_hash, email_id, storage_key, created_at from public.send_idempotency_keys where key = $1`,
    values: [key],
  });
  return rows[0];
}

/**
 * One keyset page of idempotency keys created before `cutoff` (retention's dry run), optionally
 * for one tenant, as `{ tenant_id, id: key, at }`. Run as fivetier_maintenance. Throws on SQL errors.
 */
export async function sendIdempotencyKeysListBefore(
  c: TxClient,
  a: { cutoff: Date; tenantId: string | null; after: { tenant_id: string; id: string } | null; limit: number },
): Promise<Array<{ tenant_id: string; id: string; at: Date }>> {
  const { rows } = await c.query<{ tenant_id: string; id: string; at: Date }>({
    name: 'sendIdempotencyKeysListBefore',
    text: `select tenant_id, key as id, created_at as at from public.send_idempotency_keys
            where created_at < $1 and ($2::uuid is null or tenant_id = $2)
              and ($3::uuid is null or (tenant_id, key) > ($3::uuid, $4::varchar))
            order by tenant_id, key limit $5`,
    values: [a.cutoff, a.tenantId, a.after?.tenant_id ?? null, a.after?.id ?? null, a.limit],
  });
  return rows;
}

/** Delete up to `limit` idempotency keys created before `cutoff`, oldest first, skipping locked rows. Returns their keys. Run as fivetier_maintenance. */
export async function sendIdempotencyKeysDeleteBeforeBatch(c: TxClient, a: { cutoff: Date; tenantId: string | null; limit: number }): Promise<Array<{ tenant_id: string; id: string }>> {
  const { rows } = await c.query<{ tenant_id: string; id: string }>({
    name: 'sendIdempotencyKeysDeleteBeforeBatch',
    text: `delete from public.send_idempotency_keys where (tenant_id, key) in (
             select tenant_id, key from public.send_idempotency_keys where created_at < $1 and ($2::uuid is null or tenant_id = $2)
              order by created_at limit $3 for update skip locked)
           returning tenant_id, key as id`,
    values: [a.cutoff, a.tenantId, a.limit],
  });
  return rows;
}
