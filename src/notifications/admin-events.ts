/**
 * Admin system events after they are recorded (`recordAdminEvent`, src/tiers/notifications/
 * admin-events.ts): the open ones for the dashboard, and resolving one. Platform-wide events
 * belong to the nil-uuid tenant, which is the default; a tenant's own events (a quota reached)
 * are read and resolved under that tenant.
 */
import { FivetierError } from '../errors/codes.js';
import type { Fivetier } from '../platform.js';
import { SYSTEM_TENANT_ID } from '../types.js';
import { adminSystemEventGet, adminSystemEventListOpen, adminSystemEventResolve, type AdminSystemEventRow } from '../tiers/notifications/queries/admin-system-events.js';
import { optionalDate, requireInt, requireText, requireUuid } from './input.js';

export type { AdminSystemEventRow } from '../tiers/notifications/queries/admin-system-events.js';

/**
 * Open (unresolved) events of a tenant (default: platform-wide), newest first; `before` (a
 * `created_at` of the previous page's last event) pages further. `limit` default 50, at most 500.
 */
export async function listOpenAdminEvents(ft: Fivetier, options: { tenantId?: string; limit?: number; before?: Date } = {}): Promise<AdminSystemEventRow[]> {
  const tenantId = options.tenantId ?? SYSTEM_TENANT_ID;
  const limit = requireInt('limit', options.limit, 1, 500, 50);
  const before = optionalDate('before', options.before);
  return ft.notifications.withTenant(tenantId, (c) => adminSystemEventListOpen(c, tenantId, limit, before));
}

/**
 * Resolve an open event: sets `is_resolved`, `resolved_at`, `resolved_by` and the note, once.
 * Throws FT_ERR_ADMIN_EVENT_NOT_FOUND when the tenant (default platform-wide) has no such event,
 * FT_ERR_ADMIN_EVENT_RESOLVED when someone resolved it first (of two concurrent calls exactly one
 * wins), FT_ERR_INPUT_INVALID for a bad id, user id or note.
 *
 * @example
 * await resolveAdminEvent(ft, eventId, { resolvedBy: operatorUserId, note: 'OLTP failover done' });
 */
export async function resolveAdminEvent(
  ft: Fivetier,
  id: string,
  options: { resolvedBy: string; note?: string; tenantId?: string },
): Promise<AdminSystemEventRow> {
  requireUuid('id', id);
  const resolvedBy = requireUuid('resolvedBy', options?.resolvedBy);
  const note = options.note === undefined || options.note === null ? null : requireText('note', options.note, 2000);
  const tenantId = options.tenantId ?? SYSTEM_TENANT_ID;
  return ft.notifications.withTenant(tenantId, async (c) => {
    const resolved = await adminSystemEventResolve(c, tenantId, id, resolvedBy, note);
    if (resolved) return resolved;
    const current = await adminSystemEventGet(c, tenantId, id);
    if (!current) throw new FivetierError('FT_ERR_ADMIN_EVENT_NOT_FOUND', [id, tenantId]);
    throw new FivetierError('FT_ERR_ADMIN_EVENT_RESOLVED', [id, current.resolved_at?.toISOString() ?? 'an unknown time', current.resolved_by ?? 'nobody recorded']);
  });
}
