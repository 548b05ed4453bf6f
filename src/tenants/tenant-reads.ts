import type { Fivetier } from '../platform.js';
import { tenantGet, tenantList } from '../tiers/oltp/queries/resource-reads.js';
import { isUuid } from '../types.js';
import { pageOf } from '../campaigns/resource-reads.js';

export interface TenantRow {
  id: string;
  name: string;
  created_at: Date;
}

/** Every tenant, by id, a page at a time (the operator's view; runs as fivetier_maintenance). */
export function listTenants(ft: Fivetier, page: { after?: string | null; limit?: number } = {}): Promise<TenantRow[]> {
  const p = pageOf(page);
  return ft.oltp.withMaintenance((c) => tenantList(c, p));
}

/** One tenant, or undefined. */
export async function getTenant(ft: Fivetier, id: string): Promise<TenantRow | undefined> {
  if (!isUuid(id)) return undefined;
  return ft.oltp.withTenant(id, (c) => tenantGet(c, id));
}
