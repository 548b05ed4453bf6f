import type { Fivetier } from '../platform.js';
import { notificationVisibleToUser } from '../tiers/notifications/queries/notification-reads.js';
import { isUuid } from '../types.js';

/** Whether the tenant's user has a visible notification `id` (the API's 404 test after a no-op change). */
export async function hasNotification(ft: Fivetier, tenantId: string, userId: string, id: string): Promise<boolean> {
  if (!isUuid(id) || !isUuid(userId)) return false;
  return ft.notifications.withTenant(tenantId, (c) => notificationVisibleToUser(c, userId, id));
}
