/**
 * Notifications-tier statements of the data lifecycle and of the operator's view: retention of
 * admin system events and expired notifications (what would go), the last run of each
 * maintenance task, and the alerts that fire (their open admin events). All run as
 * fivetier_maintenance. Each throws what `pg` throws.
 */
import type { TxClient } from '../../tier-client.js';

/** A row's key and the time retention goes by. */
export interface AgedRow {
  tenant_id: string;
  id: string;
  at: Date;
}

/** One keyset page, in key order, of the admin system events created before `cutoff`. */
export async function adminEventsListBefore(c: TxClient, a: { cutoff: Date; tenantId: string | null; after: AgedRow | null; limit: number }): Promise<AgedRow[]> {
  const { rows } = await c.query<AgedRow>({
    name: 'adminEventsListBefore',
    text: `select tenant_id, id, created_at as at from public.admin_system_events
            where created_at < $1 and ($2::uuid is null or tenant_id = $2)
              and ($3::uuid is null or (tenant_id, id) > ($3::uuid, $4::uuid))
            order by tenant_id, id limit $5`,
    values: [a.cutoff, a.tenantId, a.after?.tenant_id ?? null, a.after?.id ?? null, a.limit],
  });
  return rows;
}

/** Delete up to `limit` admin system events created before `cutoff`, oldest first. Returns their keys. */
export async function adminEventsDeleteBeforeBatch(c: TxClient, a: { cutoff: Date; tenantId: string | null; limit: number }): Promise<Array<{ tenant_id: string; id: string }>> {
  const { rows } = await c.query<{ tenant_id: string; id: string }>({
    name: 'adminEventsDeleteBeforeBatch',
    text: `delete from public.admin_system_events where (tenant_id, id) in (
             select tenant_id, id from public.admin_system_events where created_at < $1 and ($2::uuid is null or tenant_id = $2)
              order by created_at limit $3 for update skip locked)
           returning tenant_id, id`,
    values: [a.cutoff, a.tenantId, a.limit],
  });
  return rows;
}

/** One keyset page of the notifications expired at `asOf` (what the expiry's delete mode takes). */
export async function notificationsListExpired(c: TxClient, a: { asOf: Date; tenantId: string | null; after: AgedRow | null; limit: number }): Promise<AgedRow[]> {
  const { rows } = await c.query<AgedRow>({
    name: 'notificationsListExpired',
    text: `select tenant_id, id, expires_at as at from public.notifications
            where expires_at <= $1 and ($2::uuid is null or tenant_id = $2)
              and ($3::uuid is null or (tenant_id, id) > ($3::uuid, $4::uuid))
            order by tenant_id, id limit $5`,
    values: [a.asOf, a.tenantId, a.after?.tenant_id ?? null, a.after?.id ?? null, a.limit],
  });
  return rows;
}

/** The last run of a maintenance task. */
export interface MaintenanceRunRow {
  task: string;
  started_at: Date;
  finished_at: Date;
  ok: boolean;
  summary: Record<string, unknown>;
}

/** Record a task's run, replacing its previous one. */
export async function maintenanceRunRecord(c: TxClient, run: { task: string; startedAt: Date; ok: boolean; summary: Record<string, unknown> }): Promise<void> {
  await c.query({
    name: 'maintenanceRunRecord',
    text: `insert into public.maintenance_runs (task, started_at, finished_at, ok, summary) values ($1, $2, now(), $3, $4)
           on conflict (task) do update set started_at = excluded.started_at, finished_at = excluded.finished_at, ok = excluded.ok, summary = excluded.summary`,
    values: [run.task, run.startedAt, run.ok, JSON.stringify(run.summary)],
  });
}

/** The last run of every task, by name. */
export async function maintenanceRunsList(c: TxClient): Promise<MaintenanceRunRow[]> {
  const { rows } = await c.query<MaintenanceRunRow>({ name: 'maintenanceRunsList', text: `select task, started_at, finished_at, ok, summary from public.maintenance_runs order by task` });
  return rows;
}

/** Open admin events of the alert rules (`alert.*`), newest first: the alerts that fire now. */
export async function alertEventsOpen(c: TxClient, limit: number): Promise<Array<{ id: string; event_type: string; description: string; created_at: Date }>> {
  const { rows } = await c.query({
    name: 'alertEventsOpen',
    text: `select id, event_type, description, created_at from public.admin_system_events
            where not is_resolved and event_type like 'alert.%' order by created_at desc limit $1`,
    values: [limit],
  });
  return rows;
}
