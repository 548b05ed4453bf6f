/**
 * OLAP statements of the data lifecycle (src/lifecycle/erasure.ts): the facts that carry an
 * erased lead, and the erasure's audit entry. Run as fivetier_maintenance (the audit log is
 * append-only for the runtime role). Each throws what `pg` throws.
 */
import type { TxClient } from '../../tier-client.js';

/** Delete the tenant's per-lead facts of the given leads. Returns how many rows went. */
export async function leadAnalyticsDeleteForLeads(c: TxClient, tenantId: string, leadIds: readonly string[]): Promise<number> {
  const res = await c.query({
    name: 'leadAnalyticsDeleteForLeads',
    text: `delete from public.lead_analytics where tenant_id = $1 and lead_id = any($2::uuid[])`,
    values: [tenantId, leadIds],
  });
  return res.rowCount ?? 0;
}

/**
 * Write the audit entry of an erasure once: a second call with the same id (a resumed erasure)
 * adds nothing. It names the subject by its hash only.
 */
export async function auditLogInsertOnce(
  c: TxClient,
  e: { id: string; tenantId: string; adminUserId: string; action: string; resourceType: string; resourceId: string; notes: string; metadata: Record<string, unknown> },
): Promise<boolean> {
  const res = await c.query({
    name: 'auditLogInsertOnce',
    text: `insert into public.admin_audit_log (id, tenant_id, admin_user_id, action, resource_type, resource_id, notes, metadata, data_classification, retention_category)
           select $1, $2, $3, $4, $5, $6, $7, $8, 'restricted', 'compliance'
            where not exists (select 1 from public.admin_audit_log where tenant_id = $2 and id = $1)`,
    values: [e.id, e.tenantId, e.adminUserId, e.action, e.resourceType, e.resourceId, e.notes, JSON.stringify(e.metadata)],
  });
  return (res.rowCount ?? 0) > 0;
}
