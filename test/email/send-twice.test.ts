import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendEmailHandler } from '../../src/email/send-job.js';
import { createMailTransport, type MailTransport } from '../../src/email/transport.js';
import { BUILT_IN_JOBS, JOB_TYPES } from '../../src/jobs/built-in.js';
import type { Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { getJob } from '../../src/queue/operator.js';
import { JobWorker, type JobHandler } from '../../src/queue/worker.js';
import { openScratchFivetier } from '../helpers/cross-tier.js';
import { SmtpSink } from '../helpers/smtp-sink.js';
import { waitFor } from '../helpers/poll.js';
import { emailOutcome, oneQueuedEmail } from './deliver-fixture.js';

/**
 * The email.send job of one email enqueued twice, the two jobs run at the same time by two
 * workers (PostgreSQL dispatch), each with its own SMTP connections: the SMTP server receives
 * one message, and the email is `sent` with one `track_email_sent` row.
 */
const send = BUILT_IN_JOBS.get(JOB_TYPES.emailSend)!;
let ft: Fivetier;
let drop: () => Promise<void>;
let sink: SmtpSink;
const transports: MailTransport[] = [];
const workers: JobWorker[] = [];

beforeAll(async () => {
  ({ ft, drop } = await openScratchFivetier('send_twice', { redisUrl: undefined }));
  sink = await SmtpSink.start();
});
afterAll(async () => {
  for (const w of workers) await w.stop(1_000);
  for (const t of transports) t.close();
  await sink?.close();
  await ft?.close();
  await drop?.();
});

describe('email.send run twice, concurrently by two workers', () => {
  it('delivers one message', { timeout: 90_000 }, async () => {
    const { tenantId, emailId } = await oneQueuedEmail(ft, 'twice@example.com');
    // The run that claims the email holds before its commit until the other run has been
    // turned away by the live claim, so the two runs overlap for certain.
    let turnedAway = 0;
    let holding = 0;
    const handlerFor = (transport: MailTransport): JobHandler => {
      const h = sendEmailHandler(ft, {
        transport,
        defaultFrom: 'from@example.com',
        beforeCommit: async () => {
          holding++;
          await waitFor('the other run turned away', () => turnedAway >= 1, 60_000);
        },
      });
      return async (job) => {
        try {
          await h(job);
        } catch (err) {
          if (/another run is sending/.test(String(err))) turnedAway++;
          throw err;
        }
      };
    };
    for (let i = 0; i < 2; i++) {
      const transport = createMailTransport({ smtpUrl: sink.url, mailDir: '/nonexistent' });
      transports.push(transport);
      const worker = new JobWorker(ft, { queues: [send.queue], redisUrl: null, concurrency: 1, pollIntervalMs: 50, rescueIntervalMs: 0, metricsIntervalMs: 0 });
      worker.registerHandler(send.type, handlerFor(transport));
      workers.push(worker);
    }
    const jobs = [];
    for (let i = 0; i < 2; i++) jobs.push(await enqueue(ft.queue, tenantId, { queue: send.queue, type: send.type, payload: { email_id: emailId } }));
    expect(new Set(jobs.map((j) => j!.id)).size).toBe(2);
    await Promise.all(workers.map((w) => w.start()));

    for (const job of jobs) await waitFor(`job ${job!.id} completed`, async () => (await getJob(ft.queue, job!.id))?.status === 'completed', 60_000);
    expect(holding).toBe(1);
    expect(turnedAway).toBeGreaterThanOrEqual(1);
    expect(sink.to('twice@example.com')).toHaveLength(1);
    expect(sink.to('twice@example.com')[0]!.messageId).toBe(`<${emailId}@fivetier>`);
    expect(await emailOutcome(ft, tenantId, emailId)).toEqual({ status: 'sent', tracked: 1 });
  });
});
