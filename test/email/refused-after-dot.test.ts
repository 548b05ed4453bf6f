import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendEmailHandler } from '../../src/email/send-job.js';
import { createMailTransport, type MailTransport } from '../../src/email/transport.js';
import { JOB_TYPES } from '../../src/jobs/built-in.js';
import type { Fivetier } from '../../src/platform.js';
import { openScratchFivetier } from '../helpers/cross-tier.js';
import { SmtpSink } from '../helpers/smtp-sink.js';
import { emailOutcome, jobContext, oneQueuedEmail } from './deliver-fixture.js';

/**
 * An SMTP server that accepts the envelope and the data and then answers the terminating dot
 * with 550: `sent` was committed before the dot, so a second transaction turns the email
 * `failed`; the next message still goes out (over a fresh connection).
 */
let ft: Fivetier;
let drop: () => Promise<void>;
let sink: SmtpSink;
let transport: MailTransport;

beforeAll(async () => {
  ({ ft, drop } = await openScratchFivetier('send_refused', { redisUrl: undefined }));
  sink = await SmtpSink.start({ refuse: (to) => to === 'refused@example.com' });
  transport = createMailTransport({ smtpUrl: sink.url, mailDir: '/nonexistent', connections: 1 });
});
afterAll(async () => {
  transport?.close();
  await sink?.close();
  await ft?.close();
  await drop?.();
});

describe('a message refused after the dot', () => {
  it('turns the email from sent to failed, and the next message still goes out', { timeout: 60_000 }, async () => {
    const send = sendEmailHandler(ft, { transport, defaultFrom: 'from@example.com' });
    const refused = await oneQueuedEmail(ft, 'refused@example.com');
    await send(jobContext(refused.tenantId, JOB_TYPES.emailSend, { email_id: refused.emailId }));
    expect(await emailOutcome(ft, refused.tenantId, refused.emailId)).toEqual({ status: 'failed', tracked: 1 });

    const next = await oneQueuedEmail(ft, 'next@example.com');
    await send(jobContext(next.tenantId, JOB_TYPES.emailSend, { email_id: next.emailId }));
    expect(await emailOutcome(ft, next.tenantId, next.emailId)).toEqual({ status: 'sent', tracked: 1 });
    expect(sink.messages.map((m) => m.messageId)).toEqual([`<${next.emailId}@fivetier>`]);
  });
});
