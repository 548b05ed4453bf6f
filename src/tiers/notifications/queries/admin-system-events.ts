import type { TxClient } from '../../tier-client.js';

/** Write one admin system event in the caller's transaction (tenant set). Throws on SQL errors. */
export async function adminSystemEventInsert(
  c: TxClient,
  e: { tenantId: string; eventType: string; severity: string; description: string; details: unknown },
): Promise<{ id: string }> {
  const { rows } = await c.query<{ id: string }>({
    name: 'adminSystemEventInsert',
    text: `insert into public.admin_system_events (tenant_id, event_type, severity, description, details)
           values ($1, $2, $3, $4, $5) returning id`,
    values: [e.tenantId, e.eventType, e.severity, e.description, JSON.stringify(e.details ?? null)],
  });
  return rows[0]!;
}

/** An admin system event as the library hands it out. */
export interface AdminSystemEventRow {
  id: string;
  tenant_id: string;
  created_at: Date;
  event_type: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  description: string;
  details: unknown;
  user_id: string | null;
  is_resolved: boolean;
  resolved_at: Date | null;
  resolved_by: string | null;
  resolution_note: string | null;
}

const EVENT_COLUMNS = `id, tenant_id, created_at, event_type, severity, description, details, user_id,
  is_resolved, resolved_at, resolved_by, resolution_note`;

/**
 * The open (unresolved) events of the transaction's tenant, newest first, created before
 * `before` when given. Served by `idx_admin_system_events_unresolved`.
 */
export async function adminSystemEventListOpen(c: TxClient, tenantId: string, limit: number, before: Date | null): Promise<AdminSystemEventRow[]> {
  const { rows } = await c.query<AdminSystemEventRow>({
    name: 'adminSystemEventListOpen',
    text: `select ${EVENT_COLUMNS} from public.admin_system_events
           where not is_resolved and tenant_id = $1 and ($3::timestamptz is null or created_at < $3)
           order by created_at desc
           limit $2`,
    values: [tenantId, limit, before],
  });
  return rows;
}

/**
 * Resolve an open event: open -> resolved, guarded by `not is_resolved` so that of two operators
 * resolving at once exactly one does. Undefined when the event does not exist in the tenant or
 * is resolved already (`adminSystemEventGet` tells which).
 */
export async function adminSystemEventResolve(c: TxClient, tenantId: string, id: string, resolvedBy: string, note: string | null): Promise<AdminSystemEventRow | undefined> {
  const { rows } = await c.query<AdminSystemEventRow>({
    name: 'adminSystemEventResolve',
    text: `update public.admin_system_events
           set is_resolved = true, resolved_at = now(), resolved_by = $3, resolution_note = $4
           where tenant_id = $1 and id = $2 and not is_resolved
           returning ${EVENT_COLUMNS}`,
    values: [tenantId, id, resolvedBy, note],
  });
  return rows[0];
}

/** One event of the transaction's tenant by id. */
export async function adminSystemEventGet(c: TxClient, tenantId: string, id: string): Promise<AdminSystemEventRow | undefined> {
  const { rows } = await c.query<AdminSystemEventRow>({
    name: 'adminSystemEventGet',
    text: `select ${EVENT_COLUMNS} from public.admin_system_events where tenant_id = $1 and id = $2`,
    values: [tenantId, id],
  });
  return rows[0];
}
