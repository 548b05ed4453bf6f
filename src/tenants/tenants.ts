import { randomUUID } from 'node:crypto';
import { FivetierError } from '../errors/codes.js';
import type { Fivetier } from '../platform.js';
import { tenantInsert } from '../tiers/oltp/queries/tenants.js';

/**
 * Create a tenant (its OLTP row; every other tier keys its rows by the same id). Returns the new
 * tenant. Throws FT_ERR_INPUT_INVALID for a bad name.
 *
 * @example
 * const { id: tenantId } = await createTenant(ft, { name: 'Acme' });
 */
export async function createTenant(ft: Fivetier, tenant: { name: string }): Promise<{ id: string; name: string; created_at: Date }> {
  if (typeof tenant?.name !== 'string' || tenant.name.trim() === '' || tenant.name.length > 200) {
    throw new FivetierError('FT_ERR_INPUT_INVALID', ['name must be 1..200 characters']);
  }
  const id = randomUUID();
  // why: the tenants policy admits a row only in a transaction of that tenant
  return ft.oltp.withTenant(id, (c) => tenantInsert(c, { id, name: tenant.name }));
}
