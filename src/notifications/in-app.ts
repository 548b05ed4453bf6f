/**
 * In-app notifications of a tenant's users: create, list (keyset pages), unread, mark read,
 * hide. Every call runs as the runtime role inside `withTenant`, so row-level security keeps a
 * tenant to its own rows whatever ids it is given.
 *
 * Read state is per row, so a notification meant for several users is one row per user (the
 * producers fan out); a tenant-wide row (`user_id` null) is possible in the schema but has one
 * read flag for everybody, and the per-user calls here do not return it.
 */
import type { Fivetier } from '../platform.js';
import { isUuid } from '../types.js';
import {
  notificationCountUnread,
  notificationGetByDedupKey,
  notificationInsertForUsers,
  notificationListForUser,
  notificationListUnread,
  notificationSetHidden,
  notificationSetRead,
  type NotificationInsert,
  type NotificationRow,
} from '../tiers/notifications/queries/notifications.js';
import { invalid, optionalDate, optionalSmallJson, requireInt, requireOneOf, requireText, requireUuid, requireUuids } from './input.js';

export type { NotificationRow } from '../tiers/notifications/queries/notifications.js';

export const NOTIFICATION_CHANNELS = ['in_app', 'email', 'push'] as const;
export const NOTIFICATION_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];
export type NotificationPriority = (typeof NOTIFICATION_PRIORITIES)[number];

/** `data` is kept small: ids and counts, never bodies. */
export const NOTIFICATION_DATA_MAX_BYTES = 8 * 1024;
/** The most ids one markRead / hideNotification call takes. */
export const NOTIFICATION_IDS_MAX = 1_000;
/** The most rows one list call returns. */
export const NOTIFICATION_PAGE_MAX = 500;

/** What a notification says, and to whom it is addressed separately. */
export interface NotificationContent {
  /** e.g. CAMPAIGN_COMPLETED, QUOTA_WARNING; 1..100 characters. */
  type: string;
  /** Plain text (clients escape it), 1..200 characters. */
  title: string;
  /** Plain text, 1..4000 characters. */
  message: string;
  /** Default `in_app`. For `email` and `push` the caller also enqueues `SEND_NOTIFICATION` (see docs/notifications.md). */
  channel?: NotificationChannel;
  /** Default `normal`. */
  priority?: NotificationPriority;
  /** Small structured payload (a JSON object of at most 8 KiB). */
  data?: Record<string, unknown>;
  /** After this the notification is no longer listed, and `expireNotifications` removes it. */
  expiresAt?: Date;
  /**
   * Idempotency key: a recipient gets at most one notification per key in a tenant, however
   * often and however concurrently it is created. 1..200 characters.
   */
  dedupKey?: string;
}

export interface NewNotification extends NotificationContent {
  userId: string;
}

/** Validate content into the insert's shape. Throws FT_ERR_INPUT_INVALID. */
export function notificationInsertOf(tenantId: string, n: NotificationContent): NotificationInsert {
  if (n === null || typeof n !== 'object') throw invalid('a notification must be an object');
  return {
    tenantId,
    type: requireText('type', n.type, 100),
    title: requireText('title', n.title, 200),
    message: requireText('message', n.message, 4000),
    channel: requireOneOf('channel', n.channel ?? 'in_app', NOTIFICATION_CHANNELS),
    priority: requireOneOf('priority', n.priority ?? 'normal', NOTIFICATION_PRIORITIES),
    data: optionalSmallJson('data', n.data, NOTIFICATION_DATA_MAX_BYTES),
    expiresAt: optionalDate('expiresAt', n.expiresAt),
    dedupKey: n.dedupKey === undefined ? null : requireText('dedupKey', n.dedupKey, 200),
  };
}

/**
 * Create a notification for one user of a tenant. With a `dedupKey` the user already has a
 * notification under, nothing is created and that one is returned with `created: false`.
 * Throws FT_ERR_INPUT_INVALID, FT_ERR_TENANT_INVALID, FT_ERR_TIER_UNAVAILABLE.
 *
 * @example
 * await createNotification(ft, tenantId, { userId, type: 'IMPORT_DONE', title: 'Import finished', message: '1,200 leads imported' });
 */
export async function createNotification(ft: Fivetier, tenantId: string, n: NewNotification): Promise<{ notification: NotificationRow; created: boolean }> {
  const userId = requireUuid('userId', n?.userId);
  const insert = notificationInsertOf(tenantId, n);
  return ft.notifications.withTenant(tenantId, async (c) => {
    // why a loop: the row holding the key can be deleted (expiry) between the two statements;
    // the next insert then takes the key.
    for (;;) {
      const [row] = await notificationInsertForUsers(c, insert, [userId]);
      if (row) return { notification: row, created: true };
      // The key is taken: the insert waited for the row that holds it, which this statement sees.
      const existing = await notificationGetByDedupKey(c, tenantId, userId, insert.dedupKey!);
      if (existing) return { notification: existing, created: false };
    }
  });
}

/** One page of a user's notifications and where the next one starts (null: no more). */
export interface NotificationPage {
  notifications: NotificationRow[];
  nextCursor: string | null;
}

const CURSOR_RE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)\/([0-9a-f-]{36})$/i;

function parseCursor(cursor: unknown): { at: string; id: string } | null {
  if (cursor === undefined || cursor === null) return null;
  const m = typeof cursor === 'string' ? CURSOR_RE.exec(cursor) : null;
  if (!m || !isUuid(m[2])) throw invalid(`before must be a cursor from a previous page (nextCursor), got ${JSON.stringify(cursor)}`);
  return { at: m[1]!, id: m[2]! };
}

/**
 * A user's visible notifications (not hidden, not expired), newest first, `limit` (default 50,
 * at most 500) per page. `before` is the previous page's `nextCursor`: keyset pagination, so
 * a page costs the same however deep it is and rows created meanwhile never shift it.
 */
export async function listNotifications(ft: Fivetier, tenantId: string, userId: string, options: { limit?: number; before?: string | null } = {}): Promise<NotificationPage> {
  requireUuid('userId', userId);
  const limit = requireInt('limit', options.limit, 1, NOTIFICATION_PAGE_MAX, 50);
  const before = parseCursor(options.before);
  const rows = await ft.notifications.withTenant(tenantId, (c) => notificationListForUser(c, tenantId, userId, limit, before));
  return { notifications: rows, nextCursor: rows.length === limit ? rows.at(-1)!.cursor : null };
}

/**
 * A user's unread, visible notifications, newest first (default 20, at most 500). Served by an
 * index scan on `idx_notifications_unread` (test/notifications/unread-plan.test.ts).
 */
export async function unreadNotifications(ft: Fivetier, tenantId: string, userId: string, options: { limit?: number } = {}): Promise<NotificationRow[]> {
  requireUuid('userId', userId);
  const limit = requireInt('limit', options.limit, 1, NOTIFICATION_PAGE_MAX, 20);
  return ft.notifications.withTenant(tenantId, (c) => notificationListUnread(c, tenantId, userId, limit));
}

/** How many unread, visible notifications a user has (the badge). */
export async function countUnreadNotifications(ft: Fivetier, tenantId: string, userId: string): Promise<number> {
  requireUuid('userId', userId);
  return ft.notifications.withTenant(tenantId, (c) => notificationCountUnread(c, userId));
}

/**
 * Mark notifications of a user read. Ids that are not this user's in this tenant, or read
 * already, change nothing. Returns the ids that changed.
 */
export async function markRead(ft: Fivetier, tenantId: string, userId: string, ids: string | readonly string[]): Promise<string[]> {
  requireUuid('userId', userId);
  const list = requireUuids('ids', ids, NOTIFICATION_IDS_MAX);
  if (list.length === 0) return [];
  return ft.notifications.withTenant(tenantId, (c) => notificationSetRead(c, tenantId, userId, list));
}

/**
 * Hide notifications of a user (soft delete: `deleted_at`); hiding also marks them read.
 * Ids that are not this user's in this tenant, or hidden already, change nothing. Returns the
 * ids that changed.
 */
export async function hideNotification(ft: Fivetier, tenantId: string, userId: string, ids: string | readonly string[]): Promise<string[]> {
  requireUuid('userId', userId);
  const list = requireUuids('ids', ids, NOTIFICATION_IDS_MAX);
  if (list.length === 0) return [];
  return ft.notifications.withTenant(tenantId, (c) => notificationSetHidden(c, tenantId, userId, list));
}
