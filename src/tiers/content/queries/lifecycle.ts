/**
 * Content-tier statements of erasure (src/lifecycle/erasure.ts). Run as fivetier_maintenance.
 * Each throws what `pg` throws.
 */
import type { TxClient } from '../../tier-client.js';

/**
 * The tenant's content keys whose headers, text, or stored body hold `address` (lower-case):
 * bodies of emails to the recipient, and any other content that names it.
 */
export async function contentKeysMentioning(c: TxClient, tenantId: string, address: string): Promise<string[]> {
  const { rows } = await c.query<{ storage_key: string }>({
    name: 'contentKeysMentioning',
    text: `select o.storage_key from public.content_objects o
             left join public.content_bodies b on b.tenant_id = o.tenant_id and b.content_hash = o.content_hash and o.content_html is null
            where o.tenant_id = $1
              and (strpos(lower(o.headers::text), $2) > 0 or strpos(lower(o.content_text), $2) > 0
                   or strpos(lower(o.content_html), $2) > 0 or strpos(lower(b.content_html), $2) > 0)`,
    values: [tenantId, address],
  });
  return rows.map((r) => r.storage_key);
}

/**
 * Replace every case-insensitive match of `pattern` by `replacement` in the stored bodies of the
 * tenant's content rows, by giving each such row its redacted body: the dedup trigger releases
 * the old body (deleted once no row references it) and stores the new one under its own hash.
 * Returns how many rows got a new body.
 */
export async function contentBodiesRedact(c: TxClient, tenantId: string, pattern: string, replacement: string): Promise<number> {
  const res = await c.query({
    name: 'contentBodiesRedact',
    text: `update public.content_objects o set content_html = regexp_replace(b.content_html, $2, $3, 'gi')
             from public.content_bodies b
            where o.tenant_id = $1 and b.tenant_id = o.tenant_id and b.content_hash = o.content_hash
              and o.content_html is null and b.content_html ~* $2`,
    values: [tenantId, pattern, replacement],
  });
  return res.rowCount ?? 0;
}
