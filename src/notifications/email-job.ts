/**
 * Email-channel notifications: `queueNotificationEmail` enqueues a `SEND_NOTIFICATION` job for
 * a notification created with `channel: 'email'` (once: the job id is the notification id), and
 * the job's handler mails its title and message to the user's address through the service's
 * mail transport.
 *
 * At most one message per notification and run, and none after a run that recorded its send
 * (`data.emailed_at`). The one window: a crash after the SMTP server accepted the message and
 * before that record; the retry sends again with the same Message-ID (built from the
 * notification id), which a receiver that keys on it drops.
 */
import { FivetierError } from '../errors/codes.js';
import type { MailTransport } from '../email/transport.js';
import { JOB_TYPES } from '../jobs/built-in.js';
import type { Fivetier } from '../platform.js';
import { enqueue } from '../queue/enqueue.js';
import type { JobHandler } from '../queue/worker.js';
import { notificationForEmail, notificationMarkEmailed } from '../tiers/notifications/queries/notification-email.js';
import { tenantUserEmail } from '../tiers/oltp/queries/tenant-members.js';
import { isUuid } from '../types.js';

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]!);

/** The payload of a `SEND_NOTIFICATION` job. */
export interface SendNotificationPayload {
  notification_id: string;
}

/**
 * Queue the email of an email-channel notification (call it when `createNotification` returned
 * `created: true`). Idempotent: the job id is the notification id. Throws FT_ERR_INPUT_INVALID
 * for a bad id, FT_ERR_TIER_UNAVAILABLE when the queue tier is down.
 */
export async function queueNotificationEmail(ft: Fivetier, tenantId: string, notificationId: string): Promise<void> {
  if (!isUuid(notificationId)) throw new FivetierError('FT_ERR_INPUT_INVALID', [`notificationId must be a uuid, got ${JSON.stringify(notificationId)}`]);
  const payload: SendNotificationPayload = { notification_id: notificationId };
  await enqueue(ft.queue, tenantId, { type: JOB_TYPES.sendNotification, id: notificationId, payload });
}

export function sendNotificationHandler(ft: Fivetier, options: { transport: MailTransport; defaultFrom: string }): JobHandler {
  return async (job) => {
    const id = (job.payload as Partial<SendNotificationPayload> | null)?.notification_id;
    if (!isUuid(id)) throw new FivetierError('FT_ERR_INPUT_INVALID', ['SEND_NOTIFICATION: payload.notification_id must be a uuid']);
    const n = await ft.notifications.withTenant(job.tenantId, (c) => notificationForEmail(c, id));
    // why: hidden, expired, in-app only, tenant-wide or sent already: nothing (more) to mail
    if (!n || !n.live || n.emailed || n.channel !== 'email' || !n.user_id) return;
    const userId = n.user_id;
    const to = await ft.oltp.withTenant(job.tenantId, (c) => tenantUserEmail(c, userId));
    if (!to) return; // the user left the tenant (or never joined): not theirs to read
    await options.transport.send({ id, from: options.defaultFrom, to, subject: n.title, html: `<p>${escapeHtml(n.message)}</p>` });
    await ft.notifications.withTenant(job.tenantId, (c) => notificationMarkEmailed(c, id));
  };
}
