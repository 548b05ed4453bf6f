import type { TxClient } from '../../tier-client.js';

/** Put an address (by its hash) on the tenant's suppression list; the first reason stays. Returns whether it was new. */
export async function suppressionAdd(c: TxClient, args: { tenantId: string; addressHash: Buffer; address: string; reason: string }): Promise<boolean> {
  const res = await c.query({
    name: 'suppressionAdd',
    text: `insert into public.suppressions (tenant_id, address_hash, address, reason) values ($1, $2, $3, $4)
           on conflict (tenant_id, address_hash) do nothing`,
    values: [args.tenantId, args.addressHash, args.address, args.reason],
  });
  return res.rowCount === 1;
}
