/**
 * The single send of the API: the seed's sendEmail (email row in OLTP, body in content, one
 * DatabaseTransaction), made idempotent by a caller's key, and delivered: where the seed queues
 * `track_email_sent`, this queues `email.send` for the email in the same outbox transaction.
 * email.send delivers the stored body over the service's mail transport with the pipeline's
 * claim and deliver-after-commit rules, and its `sent` commit queues the `track_email_sent` that
 * counts the email (docs/pipeline.md). The key's row (send_idempotency_keys, OLTP migration 0007)
 * is written in the same OLTP transaction as the email, so a retry finds either both or neither:
 * a retried request sends once, and a request that failed may simply be retried.
 */
import { createHash } from 'node:crypto';
import { cleanupOrphanedData } from '../cross-tier/orphan-cleanup.js';
import { DatabaseTransaction } from '../cross-tier/database-transaction.js';
import { newStorageKey } from '../cross-tier/storage-key.js';
import type { EmailData } from '../cross-tier/send-email.js';
import { FivetierError } from '../errors/codes.js';
import { JOB_TYPES } from '../jobs/built-in.js';
import type { Fivetier } from '../platform.js';
import { sendIdempotencyKeyGet } from '../tiers/oltp/queries/send-idempotency-keys.js';

/** What sendEmailOnce did: `replayed` when the key had sent already (nothing new was sent). */
export interface SendOnceResult {
  emailId: string;
  replayed: boolean;
}

const KEY_SHAPE = /^[\x21-\x7e]{1,255}$/;

/** sha256 over the fields that make a request: a retry has the same, a different request not. */
function requestHash(e: EmailData): Buffer {
  return createHash('sha256').update(JSON.stringify([e.recipient, e.subject ?? null, e.body])).digest();
}

function isUniqueViolation(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) if (e.code === '23505') return true;
  return false;
}

/**
 * Send one email; with an idempotency key, at most once per key and tenant. A repeat of the key
 * with the same request answers the first send's email (`replayed`); with a different request it
 * throws FT_ERR_API_IDEMPOTENCY_KEY_REUSED. Throws FT_ERR_INPUT_INVALID for a bad key,
 * FT_ERR_TIER_UNAVAILABLE when a tier the send needs is down (nothing sent; retry with the key).
 */
export async function sendEmailOnce(ft: Fivetier, email: EmailData, idempotencyKey?: string): Promise<SendOnceResult> {
  if (idempotencyKey !== undefined && !KEY_SHAPE.test(idempotencyKey)) throw new FivetierError('FT_ERR_INPUT_INVALID', ['Idempotency-Key must be 1..255 visible ASCII characters']);
  const hash = requestHash(email);
  if (idempotencyKey !== undefined) {
    const earlier = await replay(ft, email.tenantId, idempotencyKey, hash);
    if (earlier) return earlier;
  }

  const storageKey = email.storageKey ?? newStorageKey();
  const tx = new DatabaseTransaction({ fivetier: ft, tenantId: email.tenantId });
  try {
    const row = await tx.insertOLTP<{ id: string }>('emails', { tenant_id: email.tenantId, recipient: email.recipient, subject: email.subject, content_storage_key: storageKey });
    if (idempotencyKey !== undefined) {
      // why: a concurrent request with the same key waits here on the primary key, then fails with
      // a unique violation once the first commits; it then answers with the first one's email
      await tx.insertOLTP('send_idempotency_keys', { tenant_id: email.tenantId, key: idempotencyKey, request_hash: hash, email_id: row.id, storage_key: storageKey });
    }
    await tx.insertContent('content_objects', { storage_key: storageKey, content_text: email.body, tenant_id: email.tenantId });
    // why: the delivery is queued with the email (one OLTP commit), so an email recorded is an
    // email that will be sent; its tracking follows from the `sent` commit, counting it once
    await tx.insertQueue('job_queue', { job_type: JOB_TYPES.emailSend, payload: { email_id: row.id }, scheduled_at: new Date() });
    await tx.commit();
    return { emailId: row.id, replayed: false };
  } catch (err) {
    await tx.rollback();
    await cleanupOrphanedData(storageKey, { fivetier: ft, tenantId: email.tenantId });
    if (idempotencyKey !== undefined && isUniqueViolation(err)) {
      const winner = await replay(ft, email.tenantId, idempotencyKey, hash);
      if (winner) return winner;
      throw new FivetierError('FT_ERR_API_CONFLICT', [`a send with Idempotency-Key ${idempotencyKey} is in progress; retry`]);
    }
    throw err;
  }
}

async function replay(ft: Fivetier, tenantId: string, key: string, hash: Buffer): Promise<SendOnceResult | undefined> {
  const row = await ft.oltp.withTenant(tenantId, (c) => sendIdempotencyKeyGet(c, key));
  if (!row) return undefined;
  if (!row.request_hash.equals(hash)) throw new FivetierError('FT_ERR_API_IDEMPOTENCY_KEY_REUSED', [key]);
  return { emailId: row.email_id, replayed: true };
}
