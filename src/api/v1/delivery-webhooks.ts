/**
 * `POST /v1/webhooks/delivery-events`: bounces, complaints and other delivery events from the
 * sending provider. No API key: the request is authenticated by an HMAC signature over the
 * timestamp and the raw body (src/tracking/webhook-signature.ts) with the webhook secret; an
 * unsigned, badly signed or stale request gets 401 and records nothing.
 *
 * Body (JSON): one event, or `{ "events": [ … ] }` with up to 100:
 *
 *   { "tenant_id": uuid, "email_id": uuid, "type": "bounced" | "complaint" | "delivered" | …,
 *     "bounce": "hard" | "soft" (bounced only), "event_id": "provider's id", "occurred_at": ISO time }
 *
 * The whole body is checked before anything is recorded (400 naming the field). Each event is
 * then recorded through `recordDeliveryEvent`; the answer lists each one's outcome. An event for
 * an email that does not exist is answered `unknown_email` (200), not an error, so the provider
 * does not retry it forever. Reporting an event again with its `event_id` counts it once.
 */
import type { FastifyPluginAsync } from 'fastify';
import { toTime } from '../../analytics/utc-days.js';
import { REPORTED_EVENT_TYPES, type DeliveryEventInput, type ReportedEventType } from '../../email/delivery-events.js';
import { FivetierError } from '../../errors/codes.js';
import type { Fivetier } from '../../platform.js';
import { recordReported } from '../../tracking/record.js';
import { trackingSecrets } from '../../tracking/secrets.js';
import { checkWebhookSignature, WEBHOOK_SIGNATURE_HEADER } from '../../tracking/webhook-signature.js';
import { isUuid } from '../../types.js';

/** Most events in one request. */
export const WEBHOOK_EVENTS_MAX = 100;
/** Largest request body, in bytes. */
export const WEBHOOK_BODY_LIMIT = 1_048_576;

interface WebhookEvent {
  tenantId: string;
  input: DeliveryEventInput;
}

const invalid = (message: string) => new FivetierError('FT_ERR_INPUT_INVALID', [message]);
const show = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

/** The events of a body, checked field by field. Throws FT_ERR_INPUT_INVALID naming the first bad one. */
export function parseWebhookBody(raw: Buffer): WebhookEvent[] {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch {
    throw invalid('the body must be JSON (UTF-8): one event, or { "events": [...] }');
  }
  const batch = body !== null && typeof body === 'object' && !Array.isArray(body) && 'events' in body;
  const list = batch ? (body as { events: unknown }).events : [body];
  if (!Array.isArray(list) || list.length === 0 || list.length > WEBHOOK_EVENTS_MAX) throw invalid(`events must be an array of 1 to ${WEBHOOK_EVENTS_MAX} events`);
  return list.map((e, i) => {
    const at = batch ? `events[${i}].` : '';
    if (e === null || typeof e !== 'object' || Array.isArray(e)) throw invalid(`${at || 'the event'} must be an object`);
    const ev = e as Record<string, unknown>;
    if (!isUuid(ev.tenant_id)) throw invalid(`${at}tenant_id must be a uuid, got ${show(ev.tenant_id)}`);
    if (!isUuid(ev.email_id)) throw invalid(`${at}email_id must be a uuid, got ${show(ev.email_id)}`);
    if (!(REPORTED_EVENT_TYPES as readonly unknown[]).includes(ev.type)) throw invalid(`${at}type must be one of ${REPORTED_EVENT_TYPES.join(', ')}, got ${show(ev.type)}`);
    const type = ev.type as ReportedEventType;
    if (type === 'bounced' ? ev.bounce !== 'hard' && ev.bounce !== 'soft' : ev.bounce !== undefined) {
      throw invalid(type === 'bounced' ? `${at}bounce must be hard or soft, got ${show(ev.bounce)}` : `${at}bounce applies to bounced events only`);
    }
    if (ev.event_id !== undefined && (typeof ev.event_id !== 'string' || ev.event_id.length === 0 || ev.event_id.length > 500)) {
      throw invalid(`${at}event_id must be a string of 1 to 500 characters, got ${show(ev.event_id)}`);
    }
    const occurredAt = ev.occurred_at === undefined ? undefined : toTime(ev.occurred_at, `${at}occurred_at`);
    return {
      tenantId: ev.tenant_id,
      input: { emailId: ev.email_id, type, ...(ev.bounce !== undefined ? { bounce: ev.bounce as 'hard' | 'soft' } : {}), ...(ev.event_id !== undefined ? { eventId: ev.event_id as string } : {}), ...(occurredAt ? { occurredAt } : {}) },
    };
  });
}

export const deliveryWebhookRoutes: FastifyPluginAsync<{ fivetier: Fivetier }> = async (app, { fivetier }) => {
  const secrets = trackingSecrets(fivetier.config).webhook;

  // The signature covers the raw bytes: every body arrives here unparsed (this plugin only).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_request, body, done) => done(null, body));

  app.post('/v1/webhooks/delivery-events', { config: { isolation: { kind: 'public' } } }, async (request, reply) => {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const refusal = checkWebhookSignature(secrets, request.headers[WEBHOOK_SIGNATURE_HEADER], raw);
    if (refusal) throw new FivetierError('FT_ERR_WEBHOOK_SIGNATURE', [refusal === 'expired' ? 'expired (older or newer than 5 minutes)' : refusal]);
    const events = parseWebhookBody(raw);
    const results = [];
    for (const { tenantId, input } of events) {
      // Errors of the tiers propagate (503): the provider retries, and event ids keep the retry from counting twice.
      const r = await recordReported(fivetier, tenantId, input);
      results.push({
        email_id: input.emailId,
        event_id: input.eventId ?? null,
        outcome: r.outcome,
        ...(r.outcome === 'recorded' ? { status_changed: r.result.statusChanged, suppressed: r.result.suppressed } : {}),
        ...(r.outcome === 'invalid' ? { message: r.message } : {}),
      });
    }
    return reply.code(200).send({ results });
  });
};
