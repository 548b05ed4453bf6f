/**
 * Tracking tokens: what a tracking link in an email carries, signed so that nobody but the
 * platform can make one. A token names the tenant, the email, what it tracks (an open, a click,
 * an unsubscribe) and, for a click, the one URL it may redirect to; the public routes trust
 * nothing else in the request.
 *
 * Layout (then base64url, no padding):
 *
 *   version (1 byte) | key id (4) | kind (1) | tenant uuid (16) | email uuid (16) | url (UTF-8, clicks only) | HMAC-SHA256 (32)
 *
 * The HMAC covers every byte before it. The key id is the first 4 bytes of HMAC(secret,
 * "fivetier tracking key id"): it picks the secret among several (rotation: the newest signs,
 * every listed one verifies) without revealing anything about it. Tokens do not expire: an
 * unsubscribe link must keep working for as long as the email sits in a mailbox.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isUuid } from '../types.js';

/** What a token tracks. */
export const TOKEN_KINDS = ['open', 'click', 'unsubscribe'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

/** The claims a valid token carries. */
export interface TrackingClaims {
  kind: TokenKind;
  tenantId: string;
  emailId: string;
  /** The redirect target of a click token (http or https); undefined for other kinds. */
  url?: string;
}

/** The version byte of today's layout; a new layout gets a new one and old tokens keep verifying. */
const VERSION = 1;
const KIND_BYTES: Readonly<Record<TokenKind, number>> = { open: 0x6f, click: 0x63, unsubscribe: 0x75 }; // 'o', 'c', 'u'
const KEY_ID_BYTES = 4;
const MAC_BYTES = 32;
const HEADER_BYTES = 1 + KEY_ID_BYTES + 1 + 16 + 16;
/** Longest click URL a token carries, in bytes (links longer than this stay untracked). */
export const TRACKED_URL_MAX_BYTES = 2_000;
/** Longest token the routes even try to decode, in characters. */
export const TOKEN_MAX_LENGTH = Math.ceil(((HEADER_BYTES + TRACKED_URL_MAX_BYTES + MAC_BYTES) * 4) / 3);

/** A signing secret with its key id, as `trackingSecrets` hands them out. */
export interface SigningKey {
  readonly id: Buffer;
  readonly secret: Buffer;
}

/** The key of one secret. */
export function signingKey(secret: string | Buffer): SigningKey {
  const bytes = Buffer.isBuffer(secret) ? secret : Buffer.from(secret, 'utf8');
  return Object.freeze({ id: createHmac('sha256', bytes).update('fivetier tracking key id').digest().subarray(0, KEY_ID_BYTES), secret: bytes });
}

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

function uuidOf(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** True for an absolute http(s) URL a click may lead to (no credentials, no other scheme). */
export function isTrackableUrl(url: string): boolean {
  if (Buffer.byteLength(url) > TRACKED_URL_MAX_BYTES) return false;
  try {
    const u = new URL(url);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

/**
 * `url` as a click may carry it: parsed and serialised (non-ASCII and spaces percent-encoded,
 * so it fits a Location header), or undefined when it is not a trackable http(s) URL.
 */
export function normalizeTrackableUrl(url: string): string | undefined {
  try {
    const href = new URL(url).href;
    return isTrackableUrl(href) ? href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sign the claims with `key` (the newest secret). Throws a TypeError when the claims are not
 * well formed (ids not uuids, a click without a trackable URL, a URL on another kind): a bug in
 * the caller, never user input.
 */
export function signToken(key: SigningKey, claims: TrackingClaims): string {
  if (!isUuid(claims.tenantId) || !isUuid(claims.emailId)) throw new TypeError('tracking token: tenantId and emailId must be uuids');
  if ((claims.kind === 'click') !== (claims.url !== undefined)) throw new TypeError('tracking token: a click token carries a URL, other kinds none');
  if (claims.url !== undefined && !isTrackableUrl(claims.url)) throw new TypeError('tracking token: the URL must be an http(s) URL without credentials, at most 2000 bytes');
  const body = Buffer.concat([
    Buffer.from([VERSION]),
    key.id,
    Buffer.from([KIND_BYTES[claims.kind]]),
    uuidBytes(claims.tenantId),
    uuidBytes(claims.emailId),
    Buffer.from(claims.url ?? '', 'utf8'),
  ]);
  const mac = createHmac('sha256', key.secret).update(body).digest();
  return Buffer.concat([body, mac]).toString('base64url');
}

/**
 * The claims of a token if one of `keys` signed it and it is of the `expected` kind; undefined
 * otherwise (malformed, tampered, unknown key, wrong kind). Never throws, whatever the input.
 * The MAC is compared in constant time.
 */
export function verifyToken(keys: readonly SigningKey[], token: unknown, expected: TokenKind): TrackingClaims | undefined {
  if (typeof token !== 'string' || token.length < 10 || token.length > TOKEN_MAX_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  const raw = Buffer.from(token, 'base64url');
  // why: the decoder ignores stray trailing characters and bits; only the one canonical spelling is a token
  if (raw.toString('base64url') !== token) return undefined;
  if (raw.length < HEADER_BYTES + MAC_BYTES || raw[0] !== VERSION) return undefined;
  const body = raw.subarray(0, raw.length - MAC_BYTES);
  const mac = raw.subarray(raw.length - MAC_BYTES);
  const keyId = body.subarray(1, 1 + KEY_ID_BYTES);
  const key = keys.find((k) => k.id.equals(keyId));
  if (!key) return undefined;
  const wanted = createHmac('sha256', key.secret).update(body).digest();
  if (!timingSafeEqual(wanted, mac)) return undefined;
  // Signed by us: from here on the bytes are ours, yet they are checked as if they were not.
  const kind = TOKEN_KINDS.find((k) => KIND_BYTES[k] === body[1 + KEY_ID_BYTES]);
  if (kind !== expected) return undefined;
  const at = 2 + KEY_ID_BYTES;
  const claims: TrackingClaims = { kind, tenantId: uuidOf(body.subarray(at, at + 16)), emailId: uuidOf(body.subarray(at + 16, at + 32)) };
  const url = body.subarray(HEADER_BYTES).toString('utf8');
  if (kind === 'click') {
    if (!isTrackableUrl(url)) return undefined;
    claims.url = url;
  } else if (url !== '') return undefined;
  return claims;
}
