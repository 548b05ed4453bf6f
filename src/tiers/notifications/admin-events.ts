import type { Fivetier } from '../../platform.js';
import { SYSTEM_TENANT_ID } from '../../types.js';
import { adminSystemEventInsert } from './queries/admin-system-events.js';

/** An admin system event (`admin_system_events`). */
export interface AdminEvent {
  eventType: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  description: string;
  /** Kept small: counts and a few samples. */
  details?: unknown;
  /** Defaults to the nil uuid (platform-wide). */
  tenantId?: string;
}

/**
 * Record an admin system event in the notifications tier. When that tier is down the event
 * goes to `log` as one line instead (DESIGN.md section 7). Never throws; resolves to the event
 * id, or undefined when it was only logged.
 */
export async function recordAdminEvent(ft: Fivetier, event: AdminEvent, log: (line: string) => void = console.error): Promise<string | undefined> {
  const tenantId = event.tenantId ?? SYSTEM_TENANT_ID;
  try {
    const { id } = await ft.notifications.withTenant(tenantId, (c) =>
      adminSystemEventInsert(c, { tenantId, eventType: event.eventType, severity: event.severity, description: event.description, details: event.details }),
    );
    return id;
  } catch (err) {
    log(`admin event (not recorded: ${(err as Error).message}) ${event.severity} ${event.eventType}: ${event.description} ${JSON.stringify(event.details ?? {})}`);
    return undefined;
  }
}
