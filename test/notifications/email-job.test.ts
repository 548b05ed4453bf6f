import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueNotificationEmail, sendNotificationHandler } from '../../src/notifications/email-job.js';
import { createNotification } from '../../src/notifications/index.js';
import type { Service } from '../../src/service.js';
import { tenantUserInvite } from '../../src/tiers/oltp/queries/users.js';
import { createMailTransport } from '../../src/email/transport.js';
import { createTenant, startScratchService } from '../helpers/cross-tier.js';
import { SmtpSink } from '../helpers/smtp-sink.js';
import { joinedUser } from '../helpers/tenant-users.js';
import { waitFor } from '../helpers/poll.js';

/**
 * SEND_NOTIFICATION through the service against a real SMTP server: an email-channel
 * notification reaches its user's address once, however often it is queued or its job runs;
 * in-app notifications and users who have not joined the tenant get no mail.
 */
describe('SEND_NOTIFICATION through the service', () => {
  let sink: SmtpSink;
  let service: Service;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    sink = await SmtpSink.start();
    ({ service, stop } = await startScratchService('notify_email', {
      config: {
        mail: { smtpUrl: sink.url, from: 'alerts@example.com' },
      },
      worker: { concurrency: 5, pollIntervalMs: 100 },
    }));
  });
  afterAll(async () => {
    await stop?.();
    await sink?.close();
  });

  it('mails an email-channel notification to its user once, escaped', { timeout: 60_000 }, async () => {
    const ft = service.fivetier;
    const tenantId = await createTenant(ft);
    const tag = randomUUID().slice(0, 8);
    const owner = `owner-${tag}@example.com`;
    const invited = `invited-${tag}@example.com`;
    const ownerId = await joinedUser(ft, tenantId, owner);
    const invitedId = await ft.oltp.withTenant(tenantId, (c) => tenantUserInvite(c, invited));

    const mailed = await createNotification(ft, tenantId, { userId: ownerId, type: 'IMPORT_DONE', title: 'Import finished', message: '1,200 leads <imported> & checked', channel: 'email' });
    const inApp = await createNotification(ft, tenantId, { userId: ownerId, type: 'IN_APP', title: 'In the app only', message: 'not mailed' });
    const notJoined = await createNotification(ft, tenantId, { userId: invitedId, type: 'IMPORT_DONE', title: 'Not yours yet', message: 'not mailed', channel: 'email' });
    for (const n of [mailed, mailed, inApp, notJoined]) await queueNotificationEmail(ft, tenantId, n.notification.id);

    await waitFor('the mail to the owner', () => sink.to(owner).length > 0, 10_000);
    // Every job has run (the in-app and not-joined ones completed, sending nothing).
    const unfinished = async () =>
      (await ft.queue.withTenant(tenantId, (c) => c.query<{ n: number }>("select count(*)::int as n from public.jobs where job_type = 'SEND_NOTIFICATION' and status <> 'completed'"))).rows[0]!.n;
    const deadline = Date.now() + 10_000;
    while ((await unfinished()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await unfinished()).toBe(0);
    const jobs = await ft.queue.withTenant(tenantId, (c) => c.query<{ n: number }>("select count(*)::int as n from public.jobs where job_type = 'SEND_NOTIFICATION'"));
    expect(jobs.rows[0]!.n).toBe(3); // queued twice, one job
    // The job again, by hand, after the service's run recorded its send: nothing more is sent.
    const transport = createMailTransport({ smtpUrl: sink.url, mailDir: '' });
    try {
      await sendNotificationHandler(ft, { transport, defaultFrom: 'alerts@example.com' })({
        id: mailed.notification.id, tenantId, queue: 'email-sending', type: 'SEND_NOTIFICATION', payload: { notification_id: mailed.notification.id }, priority: 100, attempt: 2, signal: new AbortController().signal,
      });
    } finally {
      transport.close();
    }
    const mails = sink.to(owner);
    expect(mails.map((m) => ({ subject: m.subject, html: String(m.html).trim(), from: m.from?.value[0]?.address }))).toEqual([
      { subject: 'Import finished', html: '<p>1,200 leads &lt;imported&gt; &amp; checked</p>', from: 'alerts@example.com' },
    ]);
    expect(sink.to(invited)).toEqual([]);
  });
});
