/**
 * Shared primitives. This module imports nothing from the tiers, so every layer can use it.
 */

/** The five stores. Each is its own PostgreSQL database. */
export const TIER_NAMES = ['oltp', 'content', 'olap', 'queue', 'notifications'] as const;
export type TierName = (typeof TIER_NAMES)[number];

/** The database each tier gets on the embedded default, named as in the tier documentation. */
export const EMBEDDED_DATABASE_NAMES: Readonly<Record<TierName, string>> = Object.freeze({
  oltp: 'penguinmails_oltp',
  content: 'penguinmails_content',
  olap: 'penguinmails_olap',
  queue: 'penguinmails_queue',
  notifications: 'penguinmails_notifications',
});

/**
 * The database roles. The migrator creates them; see docs/schema.md.
 * - owner: owns every object; migrations run as it.
 * - app: the runtime role; row-level security confines it to the tenant of the transaction.
 * - worker: system processes (outbox relay, queue dispatch) on the outbox and queue tables only.
 * - maintenance: cross-tenant maintenance (consistency check, retention, erasure); nothing else.
 */
export const ROLES = Object.freeze({
  owner: 'fivetier_owner',
  app: 'fivetier_app',
  worker: 'fivetier_worker',
  maintenance: 'fivetier_maintenance',
});
export type LoginRole = 'app' | 'worker' | 'maintenance';

/** The tenant that system-wide rows (maintenance jobs, platform events) belong to. */
export const SYSTEM_TENANT_ID = '00000000-0000-0000-0000-000000000000';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a canonical uuid string. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_RE.test(value);
}
