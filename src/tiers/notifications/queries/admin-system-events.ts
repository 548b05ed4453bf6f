import type { TxClient } from '../../tier-client.js';

/** Write one admin system event in the caller's transaction (tenant set). Throws on SQL errors. */
export async function adminSystemEventInsert(
  c: TxClient,
  e: { tenantId: string; eventType: string; severity: string; description: string; details: unknown },
): Promise<{ id: string }> {
  const { rows } = await c.query<{ id: string }>({
    name: 'adminSystemEventInsert',
    text: `insert into admin_system_events (tenant_id, event_type, severity, description, details)
           values ($1, $2, $3, $4, $5) returning id`,
    values: [e.tenantId, e.eventType, e.severity, e.description, JSON.stringify(e.details ?? null)],
  });
  return rows[0]!;
}
