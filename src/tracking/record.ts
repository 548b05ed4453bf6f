/**
 * Recording what the public routes see, through the delivery-event library
 * (`recordDeliveryEvent`: status, suppression list, analytics through the outbox).
 */
import { recordDeliveryEvent, type DeliveryEventInput, type DeliveryEventResult } from '../email/delivery-events.js';
import { isFivetierError } from '../errors/codes.js';
import type { Fivetier } from '../platform.js';
import type { TokenKind, TrackingClaims } from './token.js';

const EVENT_OF: Readonly<Record<TokenKind, 'opened' | 'clicked' | 'unsubscribed'>> = { open: 'opened', click: 'clicked', unsubscribe: 'unsubscribed' };

/** What became of a reported event. */
export type RecordOutcome =
  | { outcome: 'recorded'; result: DeliveryEventResult }
  /** The tenant has no such email (deleted, erased, or the ids never matched). */
  | { outcome: 'unknown_email' }
  /** The library refused the event (a time out of range, ...); `message` says why. */
  | { outcome: 'invalid'; message: string };

/**
 * Record an event for an email of a tenant. Resolves with the outcome for an email that does
 * not exist or an event the library refuses; throws what the tiers throw (FT_ERR_TIER_UNAVAILABLE
 * and the like), so a caller can answer 503 and the reporter retry.
 */
export async function recordReported(ft: Fivetier, tenantId: string, input: DeliveryEventInput): Promise<RecordOutcome> {
  try {
    return { outcome: 'recorded', result: await recordDeliveryEvent(ft, tenantId, input) };
  } catch (err) {
    if (!isFivetierError(err, 'FT_ERR_INPUT_INVALID')) throw err;
    // why: recordDeliveryEvent reports a missing email with the same code as bad input
    if (err.message.startsWith('no email ')) return { outcome: 'unknown_email' };
    return { outcome: 'invalid', message: err.message };
  }
}

/**
 * Record the event a verified tracking token stands for: an open, a click or an unsubscribe.
 * Opens and clicks count once per email (unique), however often the link is followed.
 */
export function recordTracked(ft: Fivetier, claims: TrackingClaims): Promise<RecordOutcome> {
  return recordReported(ft, claims.tenantId, { emailId: claims.emailId, type: EVENT_OF[claims.kind] });
}
