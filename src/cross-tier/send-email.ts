import type { Fivetier } from '../platform.js';
import { DatabaseTransaction, type DatabaseTransactionOptions } from './database-transaction.js';
import { cleanupOrphanedData } from './orphan-cleanup.js';
import { newStorageKey } from './storage-key.js';

/** The seed's EmailData. */
export interface EmailData {
  tenantId: string;
  recipient: string;
  subject?: string;
  /** Opaque key for the body; a new one (newStorageKey) when omitted. */
  storageKey?: string;
  body: string;
}

/** What a successful send wrote. */
export interface SentEmail {
  emailId: string;
  storageKey: string;
  /** Id of the `track_email_sent` job (the outbox row until the relay moves it). */
  jobId: string;
}

/**
 * The seed's sendEmail: the email row (OLTP), its body (content) and a `track_email_sent`
 * job (outbox, then queue) in one DatabaseTransaction. On success all three are present (the
 * job once the relay has run); on failure it rolls back, removes content that committed
 * without its email, and rethrows (FT_ERR_TIER_UNAVAILABLE when a tier is down).
 *
 * It delivers nothing, on purpose: the seed shows it as the cross-tier write (record the email,
 * queue its tracking) and DESIGN.md keeps the seed's code as shown. Delivery is the service's
 * `email.send`; `sendEmailOnce` (src/email/send-once.ts, `POST /v1/emails`) is the send that
 * queues it. The tracking job counts the email once (docs/pipeline.md, "Single sends").
 *
 * @example
 * const { emailId } = await sendEmail(ft, { tenantId, recipient: 'a@example.com', subject: 'Hi', body: 'Hello' });
 */
export async function sendEmail(ft: Fivetier, emailData: EmailData, options: Pick<DatabaseTransactionOptions, 'beforeStep'> = {}): Promise<SentEmail> {
  const storageKey = emailData.storageKey ?? newStorageKey();
  const transaction = new DatabaseTransaction({ fivetier: ft, tenantId: emailData.tenantId, ...options });
  try {
    const emailRecord = await transaction.insertOLTP<{ id: string }>('emails', {
      tenant_id: emailData.tenantId,
      recipient: emailData.recipient,
      subject: emailData.subject,
      content_storage_key: storageKey,
    });
    await transaction.insertContent('content_objects', {
      storage_key: storageKey,
      content_text: emailData.body,
      tenant_id: emailData.tenantId,
    });
    const job = await transaction.insertQueue('job_queue', {
      job_type: 'track_email_sent',
      payload: { email_id: emailRecord.id },
      scheduled_at: new Date(),
    });
    await transaction.commit();
    return { emailId: emailRecord.id, storageKey, jobId: job.id };
  } catch (error) {
    await transaction.rollback();
    await cleanupOrphanedData(storageKey, { fivetier: ft, tenantId: emailData.tenantId });
    throw error;
  }
}

/** sendEmail bound to one platform, for callers that pass only the email. Never throws itself. */
export function createSendEmail(ft: Fivetier): (emailData: EmailData) => Promise<SentEmail> {
  return (emailData) => sendEmail(ft, emailData);
}
