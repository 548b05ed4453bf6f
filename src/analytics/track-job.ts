/**
 * The `track_email_sent` job: count sent emails in OLAP tenant usage (and a campaign's in its
 * analytics), then warn the tenant's users when the month's sent emails reach 80% or 100% of the
 * plan's quota. Both steps are idempotent, so the job may run any number of times: the event id
 * derives from the email id (one email, one `sent` event, however many jobs report it), and each
 * quota warning has its own dedup key.
 *
 * Payloads: `{campaign_id, email_ids}` (email.send, per campaign), `{email_ids}` (email.send, the
 * single sends of a group) and `{email_id}` (the seed's sendEmail). An email without a campaign
 * (a single send) counts in the tenant's usage only (OLAP's campaign facts are per campaign) and
 * on the day it was asked for, its `created_at`: a time fixed when the email was written, so
 * every job that reports it (the seed's at record time, email.send's once it is sent) names the
 * same event and it counts once.
 */
import { FivetierError } from '../errors/codes.js';
import type { JobHandler } from '../queue/worker.js';
import type { Fivetier } from '../platform.js';
import type { TxClient } from '../tiers/tier-client.js';
import { notifyQuotaThreshold } from '../notifications/producers.js';
import { RECIPIENTS_MAX } from '../notifications/producers.js';
import { billingAnalyticsAddSent } from '../tiers/olap/queries/billing-analytics.js';
import { processedEventsInsertNew } from '../tiers/olap/queries/processed-events.js';
import { emailsToTrack } from '../tiers/oltp/queries/emails-tracked.js';
import { emailsSentAt, tenantJoinedUserIds } from '../tiers/oltp/queries/tenant-members.js';
import { tenantActivePlan } from '../tiers/oltp/queries/tenants.js';
import { isUuid } from '../types.js';
import { analyticsEventId } from './events.js';
import { EventRecorder } from './event-recorder.js';
import { tenantUsage } from './stats.js';
import { utcDay } from './utc-days.js';

/** These transactions run only their own statements: no session reset after them. */
const OWN = Object.freeze({ ownStatementsOnly: true });

/** The payload of a sent-email report: `email_ids`, or one `email_id`; `campaign_id` when they are a campaign's. */
export interface TrackEmailSentPayload {
  campaign_id?: string;
  email_ids?: string[];
  email_id?: string;
}

/**
 * processed_events.campaign_id (OLAP 0005) is required; a single send has no campaign, so its
 * key names the nil uuid, which no campaign has.
 */
export const NO_CAMPAIGN = '00000000-0000-0000-0000-000000000000';

/** Emails one track_email_sent job reports at most. */
export const TRACK_EMAILS_MAX = 1_000;

function uuidField(payload: unknown, field: string, job: string, optional = false): string | undefined {
  const value = (payload as Record<string, unknown> | null)?.[field];
  if (optional && (value === undefined || value === null)) return undefined;
  if (!isUuid(value)) throw new FivetierError('FT_ERR_INPUT_INVALID', [`${job}: payload.${field} must be a uuid`]);
  return value;
}

/**
 * Warn the tenant's joined users if its sent emails this month reached a quota threshold.
 * Returns the notifications created now. Reads OLAP: only analytics jobs call it, never the
 * sending path.
 */
export async function checkQuotaThresholds(ft: Fivetier, tenantId: string, now = new Date()): Promise<number> {
  const quota = await ft.oltp.withTenant(tenantId, (c) => quotaAndRecipients(c), OWN);
  return warnIfQuotaReached(ft, tenantId, quota, now);
}

/** The active plan's monthly quota and, when there is one, the joined users to warn. */
async function quotaAndRecipients(c: TxClient): Promise<{ quota: number | null; userIds: string[] }> {
  const quota = (await tenantActivePlan(c))?.max_emails_per_month ?? null;
  // why: without a quota there is no one to warn; the common case costs one statement
  if (quota === null || quota <= 0) return { quota: null, userIds: [] };
  return { quota, userIds: await tenantJoinedUserIds(c, RECIPIENTS_MAX) };
}

async function warnIfQuotaReached(ft: Fivetier, tenantId: string, { quota, userIds }: { quota: number | null; userIds: string[] }, now: Date): Promise<number> {
  if (quota === null || userIds.length === 0) return 0;
  const usage = await tenantUsage(ft, tenantId, { month: now });
  const result = await notifyQuotaThreshold(ft, tenantId, { userIds, month: usage.month, used: usage.emailsSent, quota });
  return result.created;
}

/**
 * Count single sends (emails without a campaign) in the tenant's usage, each once: its key goes
 * into processed_events with the count, in one OLAP transaction, as recordEvents does for
 * campaign events. Returns how many were new.
 */
async function recordSingleSends(ft: Fivetier, tenantId: string, emails: ReadonlyArray<{ id: string; created_at: Date }>): Promise<number> {
  const events = emails
    .map((e) => ({ tenantId, eventId: analyticsEventId(`${e.id}:sent`), day: utcDay(e.created_at), eventType: 'sent', campaignId: NO_CAMPAIGN }))
    .sort((a, b) => (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
  return ft.olap.withTenant(
    tenantId,
    async (c) => {
      const stored = new Set(await processedEventsInsertNew(c, events));
      const days = new Map<string, number>();
      for (const e of events) if (stored.has(e.eventId)) days.set(e.day, (days.get(e.day) ?? 0) + 1);
      await billingAnalyticsAddSent(c, [...days].sort(([a], [b]) => (a < b ? -1 : 1)).map(([day, emailsSent]) => ({ tenantId, day, emailsSent })));
      return stored.size;
    },
    OWN,
  );
}

export function trackEmailSentHandler(ft: Fivetier): JobHandler {
  const recorder = new EventRecorder(ft);
  return async (job) => {
    const campaignId = uuidField(job.payload, 'campaign_id', 'track_email_sent', true);
    const list = (job.payload as { email_ids?: unknown } | null)?.email_ids;
    let emailIds: string[];
    if (list !== undefined) {
      if (!Array.isArray(list) || list.length === 0 || list.length > TRACK_EMAILS_MAX || !list.every(isUuid)) {
        throw new FivetierError('FT_ERR_INPUT_INVALID', [`track_email_sent: payload.email_ids must be 1..${TRACK_EMAILS_MAX} uuids`]);
      }
      emailIds = [...new Set(list as string[])];
    } else emailIds = [uuidField(job.payload, 'email_id', 'track_email_sent')!];

    if (campaignId !== undefined) {
      // why: the event's day is part of its identity, so a retry must report the same time: the
      // email's own sent_at, not the time this attempt runs. An email deleted (erased) since it was
      // sent is not counted.
      const { sent, quota } = await ft.oltp.withTenant(job.tenantId, async (c) => ({ sent: await emailsSentAt(c, emailIds), quota: await quotaAndRecipients(c) }), OWN);
      if (sent.length === 0) return;
      await recorder.record(
        sent.map((e) => ({ eventId: analyticsEventId(`${e.id}:sent`), tenantId: job.tenantId, type: 'sent' as const, campaignId, leadId: e.lead_id ?? undefined, occurredAt: e.sent_at })),
      );
      const latest = sent.reduce((a, e) => (e.sent_at > a ? e.sent_at : a), sent[0]!.sent_at);
      await warnIfQuotaReached(ft, job.tenantId, quota, latest);
      return;
    }

    // Without a campaign in the payload each email says what it is: a campaign's (counted once
    // sent, as above) or a single send (counted on its created_at).
    const { emails, quota } = await ft.oltp.withTenant(job.tenantId, async (c) => ({ emails: await emailsToTrack(c, emailIds), quota: await quotaAndRecipients(c) }), OWN);
    const ofCampaigns = emails.filter((e) => e.campaign_id !== null && e.sent_at !== null);
    const singles = emails.filter((e) => e.campaign_id === null);
    if (ofCampaigns.length === 0 && singles.length === 0) return;
    await recorder.record(
      ofCampaigns.map((e) => ({ eventId: analyticsEventId(`${e.id}:sent`), tenantId: job.tenantId, type: 'sent' as const, campaignId: e.campaign_id!, leadId: e.lead_id ?? undefined, occurredAt: e.sent_at! })),
    );
    if (singles.length > 0) await recordSingleSends(ft, job.tenantId, singles);
    const times = [...ofCampaigns.map((e) => e.sent_at!), ...singles.map((e) => e.created_at)];
    await warnIfQuotaReached(ft, job.tenantId, quota, times.reduce((a, t) => (t > a ? t : a)));
  };
}
