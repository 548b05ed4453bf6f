/**
 * Notifications the pipeline raises: a campaign completed, and the monthly quota at 80% and
 * 100%. Each is idempotent through a dedup key (`idx_notifications_dedup`, ON CONFLICT DO
 * NOTHING): the job that calls it may run twice, or many callers may cross a threshold at once,
 * and every recipient still gets one notification.
 */
import type { Fivetier } from '../platform.js';
import { notificationInsertForUsers } from '../tiers/notifications/queries/notifications.js';
import { notificationInsertOf, type NotificationContent } from './in-app.js';
import { invalid, requireInt, requireText, requireUuid, requireUuids } from './input.js';

/** The most recipients one producer call fans out to. */
export const RECIPIENTS_MAX = 1_000;
/** How long a campaign-completed notification stays listed. */
export const CAMPAIGN_COMPLETED_TTL_DAYS = 90;
/** The quota thresholds, in percent of the plan's monthly emails. */
export const QUOTA_THRESHOLDS = [80, 100] as const;
export type QuotaThreshold = (typeof QUOTA_THRESHOLDS)[number];

const COUNT_MAX = 1e12;
const DAY_MS = 86_400_000;

/** What a producer call did: the notifications it created now (0 when they existed already). */
export interface ProducerResult {
  created: number;
  notificationIds: string[];
}

/** The recipients of a producer call: 1..1,000 user ids, each once. */
function recipientsOf(userIds: unknown): string[] {
  const recipients = requireUuids('userIds', userIds, RECIPIENTS_MAX);
  if (recipients.length === 0) throw invalid('userIds must name at least one user');
  return recipients;
}

async function fanOut(ft: Fivetier, tenantId: string, recipients: string[], content: NotificationContent): Promise<ProducerResult> {
  const insert = notificationInsertOf(tenantId, content);
  const rows = await ft.notifications.withTenant(tenantId, (c) => notificationInsertForUsers(c, insert, recipients));
  return { created: rows.length, notificationIds: rows.map((r) => r.id) };
}

/**
 * Tell `userIds` that a campaign completed, with its outcome counts. Once per campaign and
 * user however often it is called (dedup key `campaign-completed:<campaignId>`).
 */
export async function notifyCampaignCompleted(
  ft: Fivetier,
  tenantId: string,
  c: { campaignId: string; name: string; userIds: readonly string[]; sent: number; failed: number; suppressed: number },
): Promise<ProducerResult> {
  const campaignId = requireUuid('campaignId', c?.campaignId);
  const recipients = recipientsOf(c.userIds);
  const name = requireText('name', c.name, 1000);
  const sent = requireInt('sent', c.sent, 0, COUNT_MAX);
  const failed = requireInt('failed', c.failed, 0, COUNT_MAX);
  const suppressed = requireInt('suppressed', c.suppressed, 0, COUNT_MAX);
  const shown = name.length > 150 ? `${name.slice(0, 149)}…` : name;
  return fanOut(ft, tenantId, recipients, {
    type: 'CAMPAIGN_COMPLETED',
    title: `Campaign "${shown}" completed`,
    message: `${sent} sent, ${failed} failed, ${suppressed} suppressed.`,
    priority: 'normal',
    data: { campaignId, sent, failed, suppressed },
    expiresAt: new Date(Date.now() + CAMPAIGN_COMPLETED_TTL_DAYS * DAY_MS),
    dedupKey: `campaign-completed:${campaignId}`,
  });
}

const MONTH_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** The highest threshold `used` of `quota` has reached, if any. Integer arithmetic: exact. */
export function quotaThresholdReached(used: number, quota: number): QuotaThreshold | null {
  let reached: QuotaThreshold | null = null;
  for (const t of QUOTA_THRESHOLDS) if (used * 100 >= quota * t) reached = t;
  return reached;
}

/**
 * Warn `userIds` when a tenant's emails of `month` ('YYYY-MM', UTC) reach 80% or 100% of the
 * plan's monthly `quota`. Only the highest threshold reached is notified (a tenant that jumps
 * past 100% gets no 80% warning after the fact), and each threshold at most once per tenant,
 * month and user, however often and however concurrently this is called (dedup key
 * `quota:<month>:<threshold>`). The notifications expire when the following month ends; a month
 * whose notifications would be expired already notifies nothing, so an expired key is never
 * taken twice.
 */
export async function notifyQuotaThreshold(
  ft: Fivetier,
  tenantId: string,
  q: { userIds: readonly string[]; month: string; used: number; quota: number },
): Promise<ProducerResult & { threshold: QuotaThreshold | null }> {
  const m = typeof q?.month === 'string' ? MONTH_RE.exec(q.month) : null;
  if (!m) throw invalid(`month must be 'YYYY-MM', got ${JSON.stringify(q?.month)}`);
  const recipients = recipientsOf(q.userIds);
  const used = requireInt('used', q.used, 0, COUNT_MAX);
  const quota = requireInt('quota', q.quota, 1, COUNT_MAX);
  const threshold = quotaThresholdReached(used, quota);
  // why: the first instant of the month after next, in UTC (Date.UTC rolls month 13 over)
  const expiresAt = new Date(Date.UTC(Number(m[1]), Number(m[2]) + 1, 1));
  if (threshold === null || expiresAt.getTime() <= Date.now()) {
    return { threshold, created: 0, notificationIds: [] };
  }
  const percent = Math.floor((used * 100) / quota);
  const content: NotificationContent =
    threshold === 100
      ? {
          type: 'QUOTA_REACHED',
          title: 'Monthly email quota reached',
          message: `${used} of ${quota} emails sent in ${q.month} (${percent}%): the plan's monthly quota is used up.`,
          priority: 'urgent',
        }
      : {
          type: 'QUOTA_WARNING',
          title: `${threshold}% of this month's emails used`,
          message: `${used} of ${quota} emails sent in ${q.month} (${percent}%).`,
          priority: 'high',
        };
  const result = await fanOut(ft, tenantId, recipients, {
    ...content,
    data: { month: q.month, used, quota, threshold },
    expiresAt,
    dedupKey: `quota:${q.month}:${threshold}`,
  });
  return { threshold, ...result };
}
