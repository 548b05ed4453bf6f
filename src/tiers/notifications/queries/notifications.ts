/**
 * Statements on `notifications`. One function per statement; `$n` parameters only; every table
 * schema-qualified. The tenant-scoped ones run inside `withTenant`, so row-level security adds
 * the tenant to every statement; they also name `tenant_id` themselves, which lets PostgreSQL
 * use the primary key `(tenant_id, id)`. Each function throws what `pg` throws.
 */
import type { TxClient } from '../../tier-client.js';

/** A notification as the library hands it out. */
export interface NotificationRow {
  id: string;
  tenant_id: string;
  user_id: string | null;
  type: string;
  title: string;
  message: string;
  channel: 'in_app' | 'email' | 'push';
  priority: 'low' | 'normal' | 'high' | 'urgent';
  data: unknown;
  dedup_key: string | null;
  is_read: boolean;
  created_at: Date;
  read_at: Date | null;
  expires_at: Date | null;
  deleted_at: Date | null;
  /** The keyset position of the row: its `created_at` to the microsecond, and its id. */
  cursor: string;
}

const COLUMNS = `id, tenant_id, user_id, type, title, message, channel, priority, data, dedup_key, is_read,
  created_at, read_at, expires_at, deleted_at,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '/' || id AS cursor`;

/** What one notification row is made of; the recipients come separately. */
export interface NotificationInsert {
  tenantId: string;
  type: string;
  title: string;
  message: string;
  channel: string;
  priority: string;
  data: unknown;
  expiresAt: Date | null;
  dedupKey: string | null;
}

/**
 * Insert one notification per recipient (`null` = tenant-wide). A recipient that already has a
 * notification with the same dedup key gets none (the unique `idx_notifications_dedup`; a
 * concurrent insert of the same key waits for the other and then does nothing). Returns the
 * rows inserted.
 */
export async function notificationInsertForUsers(c: TxClient, n: NotificationInsert, userIds: ReadonlyArray<string | null>): Promise<NotificationRow[]> {
  const { rows } = await c.query<NotificationRow>({
    name: 'notificationInsertForUsers',
    text: `INSERT INTO public.notifications (tenant_id, user_id, type, title, message, channel, priority, data, expires_at, dedup_key)
      SELECT $1, u.user_id, $3, $4, $5, $6, $7, $8, $9, $10 FROM unnest($2::uuid[]) AS u (user_id)
      ON CONFLICT (tenant_id, user_id, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
      RETURNING ${COLUMNS}`,
    values: [n.tenantId, userIds, n.type, n.title, n.message, n.channel, n.priority, n.data === undefined ? null : JSON.stringify(n.data), n.expiresAt, n.dedupKey],
  });
  return rows;
}

/** The notification a user already has under a dedup key (on `idx_notifications_dedup`). */
export async function notificationGetByDedupKey(c: TxClient, tenantId: string, userId: string, dedupKey: string): Promise<NotificationRow | undefined> {
  const { rows } = await c.query<NotificationRow>({
    name: 'notificationGetByDedupKey',
    text: `SELECT ${COLUMNS} FROM public.notifications
      WHERE tenant_id = $1 AND user_id = $2 AND dedup_key = $3`,
    values: [tenantId, userId, dedupKey],
  });
  return rows[0];
}

/**
 * A user's visible notifications (not hidden, not expired), newest first, after the keyset
 * position `(beforeAt, beforeId)` when given. Served by `idx_notifications_user_tenant_created`.
 */
export async function notificationListForUser(
  c: TxClient,
  tenantId: string,
  userId: string,
  limit: number,
  before: { at: string; id: string } | null,
): Promise<NotificationRow[]> {
  const { rows } = await c.query<NotificationRow>({
    name: 'notificationListForUser',
    text: `SELECT ${COLUMNS} FROM public.notifications
      WHERE user_id = $2 AND tenant_id = $1 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > now())
        AND ($4::timestamptz IS NULL OR created_at < $4 OR (created_at = $4 AND id < $5::uuid))
      ORDER BY created_at DESC, id DESC
      LIMIT $3`,
    values: [tenantId, userId, limit, before?.at ?? null, before?.id ?? null],
  });
  return rows;
}

/**
 * The statement behind `notificationListUnread`, exported so that a test can EXPLAIN exactly
 * what runs. Its shape is what lets `idx_notifications_unread (user_id, created_at DESC) WHERE
 * is_read = FALSE` serve it in order, stopping after `limit` rows: equality on `user_id`,
 * `is_read = false` implying the index's predicate, and an ORDER BY the index already has (no
 * tie-breaker the index lacks). Hidden rows are read too (hiding marks read), so they are not in
 * that index at all.
 *
 * The tenant is named as a value although row-level security adds it: the planner then
 * estimates the tenant's share of rows from its statistics, instead of the default it must use
 * for the policy's `current_setting(...)` (one over the number of tenants), which makes a
 * user's unread rows look like one row and a bitmap scan plus sort look cheaper. The policy's
 * condition stays, as a one-time filter. For the same reason the statement is sent unnamed:
 * PostgreSQL plans it with its values every time, where a named statement would switch to a
 * generic plan with the same blind estimate.
 */
export function notificationListUnreadStatement(tenantId: string, userId: string, limit: number): { text: string; values: unknown[] } {
  return {
    text: `SELECT ${COLUMNS} FROM public.notifications
      WHERE user_id = $2 AND tenant_id = $1 AND is_read = false AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > now())
      ORDER BY created_at DESC
      LIMIT $3`,
    values: [tenantId, userId, limit],
  };
}

/** A user's unread, visible notifications, newest first. */
export async function notificationListUnread(c: TxClient, tenantId: string, userId: string, limit: number): Promise<NotificationRow[]> {
  const { rows } = await c.query<NotificationRow>(notificationListUnreadStatement(tenantId, userId, limit));
  return rows;
}

/** How many unread, visible notifications a user has (tenant from the transaction). */
export async function notificationCountUnread(c: TxClient, userId: string): Promise<number> {
  const { rows } = await c.query<{ n: number }>({
    name: 'notificationCountUnread',
    text: `SELECT count(*)::int AS n FROM public.notifications
      WHERE user_id = $1 AND is_read = false AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
    values: [userId],
  });
  return rows[0]!.n;
}

/** Mark a user's unread notifications among `ids` read. Returns the ids that changed. */
export async function notificationSetRead(c: TxClient, tenantId: string, userId: string, ids: readonly string[]): Promise<string[]> {
  const { rows } = await c.query<{ id: string }>({
    name: 'notificationSetRead',
    text: `UPDATE public.notifications SET is_read = true, read_at = now()
      WHERE tenant_id = $1 AND id = ANY ($3::uuid[]) AND user_id = $2 AND is_read = false
      RETURNING id`,
    values: [tenantId, userId, ids],
  });
  return rows.map((r) => r.id);
}

/**
 * Hide a user's notifications among `ids` (soft delete, `deleted_at`). Hiding also marks them
 * read, keeping `read_at` when they were read before: a hidden notification is never unread,
 * so it leaves `idx_notifications_unread`. Returns the ids that changed.
 */
export async function notificationSetHidden(c: TxClient, tenantId: string, userId: string, ids: readonly string[]): Promise<string[]> {
  const { rows } = await c.query<{ id: string }>({
    name: 'notificationSetHidden',
    text: `UPDATE public.notifications SET deleted_at = now(), is_read = true, read_at = coalesce(read_at, now())
      WHERE tenant_id = $1 AND id = ANY ($3::uuid[]) AND user_id = $2 AND deleted_at IS NULL
      RETURNING id`,
    values: [tenantId, userId, ids],
  });
  return rows.map((r) => r.id);
}

/**
 * How many notifications expired at `asOf` an expiry run would touch: all of them for
 * `delete`, the ones not hidden yet for `hide`. `tenantId` null = every tenant. Maintenance.
 */
export async function notificationCountExpired(c: TxClient, asOf: Date, hiddenToo: boolean, tenantId: string | null): Promise<number> {
  const { rows } = await c.query<{ n: string }>({
    name: 'notificationCountExpired',
    text: `SELECT count(*) AS n FROM public.notifications
      WHERE expires_at <= $1 AND ($2 OR deleted_at IS NULL) AND ($3::uuid IS NULL OR tenant_id = $3)`,
    values: [asOf, hiddenToo, tenantId],
  });
  return Number(rows[0]!.n);
}

/**
 * Delete up to `limit` notifications expired at `asOf` (oldest expiry first, on
 * `idx_notifications_expires`). Returns how many. Maintenance.
 */
export async function notificationDeleteExpiredBatch(c: TxClient, asOf: Date, limit: number, tenantId: string | null): Promise<number> {
  const { rows } = await c.query<{ n: string }>({
    name: 'notificationDeleteExpiredBatch',
    text: `WITH gone AS (
        DELETE FROM public.notifications
        WHERE (tenant_id, id) IN (
          SELECT tenant_id, id FROM public.notifications
          WHERE expires_at <= $1 AND ($3::uuid IS NULL OR tenant_id = $3)
          ORDER BY expires_at LIMIT $2
          FOR UPDATE)
        RETURNING 1)
      SELECT count(*) AS n FROM gone`,
    values: [asOf, limit, tenantId],
  });
  return Number(rows[0]!.n);
}

/**
 * Hide (and mark read) up to `limit` notifications expired at `asOf` that are not hidden yet,
 * from expiry `after` on (the previous batch's last expiry, so batches do not rescan what they
 * hid). Returns how many and the last expiry hidden. Maintenance.
 */
export async function notificationHideExpiredBatch(
  c: TxClient,
  asOf: Date,
  limit: number,
  after: Date | null,
  tenantId: string | null,
): Promise<{ n: number; lastExpiresAt: Date | null }> {
  const { rows } = await c.query<{ n: string; last: Date | null }>({
    name: 'notificationHideExpiredBatch',
    text: `WITH hidden AS (
        UPDATE public.notifications SET deleted_at = now(), is_read = true, read_at = coalesce(read_at, now())
        WHERE (tenant_id, id) IN (
          SELECT tenant_id, id FROM public.notifications
          WHERE expires_at <= $1 AND ($3::timestamptz IS NULL OR expires_at >= $3) AND deleted_at IS NULL
            AND ($4::uuid IS NULL OR tenant_id = $4)
          ORDER BY expires_at LIMIT $2
          FOR UPDATE)
          AND deleted_at IS NULL
        RETURNING expires_at)
      SELECT count(*) AS n, max(expires_at) AS last FROM hidden`,
    values: [asOf, limit, after, tenantId],
  });
  return { n: Number(rows[0]!.n), lastExpiresAt: rows[0]!.last };
}
