/**
 * Delivery events as the analytics library takes them, and their validation.
 */
import { createHash } from 'node:crypto';
import { FivetierError } from '../errors/codes.js';
import type { MetricColumn } from '../tiers/olap/queries/fact-metrics.js';
import { isUuid } from '../types.js';
import { describe, toTime, utcDay } from './utc-days.js';

/** The delivery events OLAP counts. */
export const DELIVERY_EVENT_TYPES = ['sent', 'delivered', 'opened', 'clicked', 'replied', 'bounced', 'unsubscribed', 'complaint'] as const;
export type DeliveryEventType = (typeof DELIVERY_EVENT_TYPES)[number];

/** The fact-table counter each event type adds one to. */
export const EVENT_COUNTER: Readonly<Record<DeliveryEventType, MetricColumn>> = Object.freeze({
  sent: 'sent',
  delivered: 'delivered',
  opened: 'opened_tracked',
  clicked: 'clicked_tracked',
  replied: 'replied',
  bounced: 'bounced',
  unsubscribed: 'unsubscribed',
  complaint: 'spam_complaints',
});

/** One delivery event for recordEvent / recordEvents. */
export interface DeliveryEvent {
  /**
   * The idempotency key: a uuid that is the same every time this event is reported (derive it
   * from the job id with `analyticsEventId`, not `randomUUID()` per attempt).
   */
  eventId: string;
  tenantId: string;
  type: DeliveryEventType;
  campaignId: string;
  leadId?: string;
  /** The email account (mailbox) that sent the email. */
  mailboxId?: string;
  /** The campaign sequence step the email belongs to. */
  stepId?: string;
  companyId?: string;
  /**
   * When the event happened (a Date or an ISO string). Its UTC day is the period it counts in;
   * it is part of the event's identity, so a retry must give the same time.
   */
  occurredAt: Date | string;
}

/** A validated event, with its UTC day. */
export interface CheckedEvent {
  eventId: string;
  tenantId: string;
  type: DeliveryEventType;
  campaignId: string;
  leadId: string | null;
  mailboxId: string | null;
  stepId: string | null;
  companyId: string | null;
  day: string;
}

/** How far ahead of this process's clock an event may be dated (clock skew between hosts). */
export const EVENT_FUTURE_TOLERANCE_MS = 24 * 60 * 60 * 1000;
/** The earliest event time taken. */
const EARLIEST_EVENT = Date.UTC(2000, 0, 1);

const TYPES = new Set<string>(DELIVERY_EVENT_TYPES);

function invalid(field: string, rule: string, value: unknown): FivetierError {
  return new FivetierError('FT_ERR_INPUT_INVALID', [`${field} ${rule}, got ${describe(value)}`]);
}

function uuidField(event: Record<string, unknown>, field: string, where: string): string {
  const value = event[field];
  if (!isUuid(value)) throw invalid(`${where}${field}`, 'must be a uuid', value);
  return value.toLowerCase();
}

function optionalUuidField(event: Record<string, unknown>, field: string, where: string): string | null {
  return event[field] === undefined || event[field] === null ? null : uuidField(event, field, where);
}

/**
 * Check one event and normalise it. `where` prefixes field names in errors (`events[3].`).
 * Throws FT_ERR_INPUT_INVALID naming the first bad field.
 */
export function checkEvent(event: unknown, where = '', now = Date.now()): CheckedEvent {
  if (event === null || typeof event !== 'object') throw invalid(where ? where.slice(0, -1) : 'event', 'must be an object', event);
  const e = event as Record<string, unknown>;
  const eventId = uuidField(e, 'eventId', where);
  const tenantId = uuidField(e, 'tenantId', where);
  if (typeof e.type !== 'string' || !TYPES.has(e.type)) throw invalid(`${where}type`, `must be one of ${DELIVERY_EVENT_TYPES.join(', ')}`, e.type);
  const campaignId = uuidField(e, 'campaignId', where);
  const leadId = optionalUuidField(e, 'leadId', where);
  const mailboxId = optionalUuidField(e, 'mailboxId', where);
  const stepId = optionalUuidField(e, 'stepId', where);
  const companyId = optionalUuidField(e, 'companyId', where);
  const occurredAt = toTime(e.occurredAt, `${where}occurredAt`);
  if (occurredAt.getTime() < EARLIEST_EVENT || occurredAt.getTime() > now + EVENT_FUTURE_TOLERANCE_MS) {
    throw invalid(`${where}occurredAt`, 'must lie between 2000-01-01 and one day from now', e.occurredAt);
  }
  return { eventId, tenantId, type: e.type as DeliveryEventType, campaignId, leadId, mailboxId, stepId, companyId, day: utcDay(occurredAt) };
}

/**
 * A stable event id (a uuid) derived from a name, such as `${jobId}:sent` or
 * `${emailId}:opened:${providerEventId}`: the same name always gives the same id, so an event
 * reported again by a retried job keeps its idempotency key.
 */
export function analyticsEventId(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw invalid('name', 'must be a non-empty string', name);
  const h = createHash('sha256').update(`fivetier.analytics:${name}`).digest();
  // RFC 9562 layout: version 8 (custom), variant 10.
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
