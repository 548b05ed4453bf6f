/**
 * The signature of a delivery-event webhook (bounces, complaints from the sending provider):
 *
 *   Fivetier-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">
 *
 * The timestamp is signed with the body, and a signature older (or newer) than the tolerance
 * is refused, so a recorded request cannot be replayed later. Several `v1=` entries may be
 * given (a sender rotating its secret signs with both); one that matches any configured secret
 * is enough. Comparisons are constant-time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The request header that carries the signature. */
export const WEBHOOK_SIGNATURE_HEADER = 'fivetier-signature';
/** How far a signature's timestamp may be from now, in seconds. */
export const WEBHOOK_TOLERANCE_SECONDS_DEFAULT = 300;

function mac(secret: Buffer | string, timestamp: number, body: Buffer): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
}

/**
 * The header value for `body`, signed with `secret` at `now` (what a sender computes).
 *
 * @example
 * await fetch(`${base}/v1/webhooks/delivery-events`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'fivetier-signature': signWebhook(secret, body) } });
 */
export function signWebhook(secret: Buffer | string, body: Buffer | string, now: Date = new Date()): string {
  const t = Math.floor(now.getTime() / 1000);
  return `t=${t},v1=${mac(secret, t, Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8')).toString('hex')}`;
}

/** Why a signature was refused; undefined when it was accepted. */
export type WebhookRefusal = 'missing' | 'malformed' | 'expired' | 'mismatch';

/**
 * Check a signature header against the raw body. Never throws, whatever the input.
 *
 * @returns undefined when some `v1` entry is a valid signature by one of `secrets` made within
 * `toleranceSeconds` of `now`; otherwise the reason.
 */
export function checkWebhookSignature(
  secrets: readonly Buffer[],
  header: unknown,
  body: Buffer,
  now: Date = new Date(),
  toleranceSeconds = WEBHOOK_TOLERANCE_SECONDS_DEFAULT,
): WebhookRefusal | undefined {
  if (header === undefined || header === '') return 'missing';
  if (typeof header !== 'string' || header.length > 2_000) return 'malformed';
  let timestamp: number | undefined;
  const candidates: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (name === 'v1' && /^[0-9a-f]{64}$/i.test(value)) candidates.push(Buffer.from(value, 'hex'));
  }
  if (timestamp === undefined || candidates.length === 0 || candidates.length > 8) return 'malformed';
  if (Math.abs(now.getTime() / 1000 - timestamp) > toleranceSeconds) return 'expired';
  for (const secret of secrets) {
    const wanted = mac(secret, timestamp, body);
    // why: check every candidate against every secret, so timing says nothing about which matched
    let ok = false;
    for (const c of candidates) ok = timingSafeEqual(wanted, c) || ok;
    if (ok) return undefined;
  }
  return 'mismatch';
}
