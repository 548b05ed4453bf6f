/**
 * Open and click tracking, one-click unsubscribe, and delivery-event webhook signatures
 * (docs/tracking.md).
 */
export { signToken, verifyToken, signingKey, isTrackableUrl, TOKEN_KINDS, type TokenKind, type TrackingClaims, type SigningKey } from './token.js';
export { trackEmail, trackMessage, trackingUrl, publicBaseUrl, TRACKING_PATHS, type TrackedEmail } from './outgoing.js';
export { trackingSecrets, GENERATED_SECRETS_FILE, type TrackingSecrets } from './secrets.js';
export { signWebhook, checkWebhookSignature, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TOLERANCE_SECONDS_DEFAULT, type WebhookRefusal } from './webhook-signature.js';
export { recordTracked, recordReported, type RecordOutcome } from './record.js';
