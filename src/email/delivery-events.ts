/**
 * Delivery events reported for a sent email (by an ESP webhook, a tracking pixel, a reply
 * parser): `recordDeliveryEvent` applies the event to OLTP and queues its analytics.
 *
 * In one OLTP transaction: the email's status moves where the event says where it stands
 * (delivered; bounced for a hard bounce), the address goes on the tenant's suppression list
 * (hard bounce, complaint, unsubscribe) so later campaigns skip it, and a `delivery.event` job
 * is queued through the outbox. That job counts the event in OLAP exactly once (its event id
 * is stable); nothing here reads OLAP.
 */
import { analyticsEventId, DELIVERY_EVENT_TYPES, type DeliveryEventType } from '../analytics/events.js';
import { checkEvent } from '../analytics/events.js';
import { EventRecorder } from '../analytics/event-recorder.js';
import { toTime } from '../analytics/utc-days.js';
import { addressHash } from '../campaigns/campaigns.js';
import { FivetierError } from '../errors/codes.js';
import { BUILT_IN_JOBS, JOB_TYPES } from '../jobs/built-in.js';
import type { Fivetier } from '../platform.js';
import type { JobHandler } from '../queue/worker.js';
import { emailLockForEvent, emailSetDeliveryStatus } from '../tiers/oltp/queries/delivery-events.js';
import { outboxInsert } from '../tiers/oltp/queries/outbox.js';
import { suppressionAdd } from '../tiers/oltp/queries/suppressions.js';
import { isUuid } from '../types.js';

/** The events a caller reports (`sent` is the pipeline's own, recorded by track_email_sent). */
export const REPORTED_EVENT_TYPES = DELIVERY_EVENT_TYPES.filter((t) => t !== 'sent') as readonly Exclude<DeliveryEventType, 'sent'>[];
export type ReportedEventType = (typeof REPORTED_EVENT_TYPES)[number];

export interface DeliveryEventInput {
  emailId: string;
  type: ReportedEventType;
  /** For `bounced`: a hard bounce (the address does not exist) fails the email and suppresses the address; a soft one (mailbox full) does neither. */
  bounce?: 'hard' | 'soft';
  /** When it happened (default: now). Its UTC day is the analytics period. */
  occurredAt?: Date | string;
  /**
   * The reporter's own id of the event (a webhook's event id). Reported again with the same id,
   * the event counts once. Without it, each type counts once per email (unique opens, clicks).
   */
  eventId?: string;
}

export interface DeliveryEventResult {
  /** The email's status moved (delivered, bounced). */
  statusChanged: boolean;
  /** The address was put on the suppression list now (false: it was there already, or the event does not suppress). */
  suppressed: boolean;
  /** The id of the queued `delivery.event` job; null for an email without a campaign (analytics count campaign emails). */
  jobId: string | null;
}

/** The payload of a `delivery.event` job. */
export interface DeliveryEventPayload {
  event_id: string;
  type: ReportedEventType;
  email_id: string;
  campaign_id: string;
  lead_id: string | null;
  occurred_at: string;
}

const SUPPRESSION_REASON: Partial<Record<ReportedEventType, 'complaint' | 'unsubscribe'>> = { complaint: 'complaint', unsubscribed: 'unsubscribe' };

function invalid(message: string): FivetierError {
  return new FivetierError('FT_ERR_INPUT_INVALID', [message]);
}

/**
 * Record a delivery event for one of the tenant's emails. Throws FT_ERR_INPUT_INVALID naming
 * the bad field, or when the tenant has no such email.
 *
 * @example
 * await recordDeliveryEvent(ft, tenantId, { emailId, type: 'bounced', bounce: 'hard', eventId: webhook.id });
 */
export async function recordDeliveryEvent(ft: Fivetier, tenantId: string, input: DeliveryEventInput): Promise<DeliveryEventResult> {
  if (!isUuid(tenantId)) throw invalid(`tenantId must be a uuid, got ${JSON.stringify(tenantId)}`);
  const emailId = input?.emailId;
  if (!isUuid(emailId)) throw invalid(`emailId must be a uuid, got ${JSON.stringify(emailId)}`);
  const type = input.type;
  if (!(REPORTED_EVENT_TYPES as readonly string[]).includes(type)) throw invalid(`type must be one of ${REPORTED_EVENT_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
  if (type === 'bounced' && input.bounce !== 'hard' && input.bounce !== 'soft') throw invalid(`bounce must be hard or soft for a bounced event, got ${JSON.stringify(input.bounce)}`);
  if (type !== 'bounced' && input.bounce !== undefined) throw invalid(`bounce applies to bounced events only, got it for ${type}`);
  if (input.eventId !== undefined && (typeof input.eventId !== 'string' || input.eventId.length === 0 || input.eventId.length > 500)) {
    throw invalid(`eventId must be 1..500 characters, got ${JSON.stringify(input.eventId)}`);
  }
  const occurredAt = input.occurredAt === undefined ? new Date() : toTime(input.occurredAt, 'occurredAt');
  const eventId = analyticsEventId(input.eventId === undefined ? `${emailId}:${type}` : `${emailId}:${type}:${input.eventId}`);
  const hard = type === 'bounced' && input.bounce === 'hard';
  const reason = hard ? 'bounce' : SUPPRESSION_REASON[type];
  const job = BUILT_IN_JOBS.get(JOB_TYPES.deliveryEvent)!;

  return ft.oltp.withTenant(tenantId, async (c) => {
    const email = await emailLockForEvent(c, emailId);
    if (!email) throw invalid(`no email ${emailId} in tenant ${tenantId}`);
    let statusChanged = false;
    if (type === 'delivered') statusChanged = await emailSetDeliveryStatus(c, emailId, 'delivered', ['sent']);
    if (hard) statusChanged = await emailSetDeliveryStatus(c, emailId, 'bounced', ['sent', 'delivered']);
    const suppressed = reason ? await suppressionAdd(c, { tenantId, addressHash: addressHash(email.recipient), address: email.recipient.toLowerCase(), reason }) : false;
    if (!email.campaign_id) return { statusChanged, suppressed, jobId: null };
    const payload: DeliveryEventPayload = { event_id: eventId, type, email_id: emailId, campaign_id: email.campaign_id, lead_id: email.lead_id, occurred_at: occurredAt.toISOString() };
    // why: validate what the job will record now, so a bad time fails the caller, not a job later
    checkEvent(eventOf(tenantId, payload));
    const row = await outboxInsert(c, { tenantId, queueName: job.queue, jobType: job.type, payload, priority: job.priority, runAt: new Date() });
    return { statusChanged, suppressed, jobId: row.id };
  });
}

function eventOf(tenantId: string, p: DeliveryEventPayload) {
  return { eventId: p.event_id, tenantId, type: p.type, campaignId: p.campaign_id, leadId: p.lead_id ?? undefined, occurredAt: p.occurred_at };
}

/**
 * The `delivery.event` job: count the event in OLAP, once however often the job runs (with the
 * events of other jobs running at the same time: EventRecorder).
 */
export function deliveryEventHandler(ft: Fivetier): JobHandler {
  const recorder = new EventRecorder(ft);
  return async (job) => {
    const p = job.payload as DeliveryEventPayload | null;
    if (!p || typeof p !== 'object') throw invalid('delivery.event: payload must be an object');
    await recorder.record([eventOf(job.tenantId, p)]);
  };
}
