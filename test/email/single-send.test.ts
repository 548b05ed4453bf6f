import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackEmailSentHandler } from '../../src/analytics/track-job.js';
import { tenantUsage } from '../../src/analytics/stats.js';
import { checkConsistency } from '../../src/cross-tier/consistency-checker.js';
import { sendEmail } from '../../src/cross-tier/send-email.js';
import { JOB_TYPES } from '../../src/jobs/built-in.js';
import type { Service } from '../../src/service.js';
import { startScratchService } from '../helpers/cross-tier.js';
import { SmtpSink } from '../helpers/smtp-sink.js';
import { waitFor } from '../helpers/poll.js';

/**
 * A single email (no campaign) through a running service and a real SMTP server: POST /v1/emails
 * delivers it once (a retried request with the same Idempotency-Key too), its track_email_sent
 * job completes and counts it once in OLAP tenant usage, however often it runs; the seed's
 * library sendEmail is counted once and delivers nothing; the cross-tier check stays clean.
 */
describe('a single send through the service', () => {
  let sink: SmtpSink;
  let service: Service;
  let stop: () => Promise<void>;
  const operatorKey = `test-operator-${randomBytes(24).toString('hex')}`;

  const call = async (key: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${service.address}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, headers: res.headers, json: (await res.json()) as any };
  };
  const jobsOf = async (tenantId: string) =>
    (await service.fivetier.queue.withTenant(tenantId, (c) => c.query<{ job_type: string; status: string; payload: any }>('select job_type, status, payload from public.jobs order by created_at'))).rows;

  beforeAll(async () => {
    sink = await SmtpSink.start();
    ({ service, stop } = await startScratchService('single_send', {
      config: {
        api: { operatorKey },
        mail: { smtpUrl: sink.url, from: 'hello@example.com' },
      },
      worker: { concurrency: 5, pollIntervalMs: 100 },
    }));
  });
  afterAll(async () => {
    await stop?.();
    await sink?.close();
  });

  it('delivers POST /v1/emails once, retried with its key, and counts it once', { timeout: 90_000 }, async () => {
    const ft = service.fivetier;
    const tenant = await call(operatorKey, 'POST', '/v1/tenants', { name: `single ${randomUUID().slice(0, 8)}` });
    expect(tenant.status).toBe(201);
    const tenantId = tenant.json.id as string;
    const key = (await call(operatorKey, 'POST', `/v1/tenants/${tenantId}/api-keys`, { name: 'test' })).json.key as string;

    const to = `ada-${randomUUID().slice(0, 8)}@example.com`;
    const request = { to, subject: 'Your order', body: 'Dear Ada,\nyour order <42> & more has shipped.' };
    const idem = { 'idempotency-key': `order-42-${randomUUID()}` };
    const first = await call(key, 'POST', '/v1/emails', request, idem);
    expect(first.status).toBe(201);
    const again = await call(key, 'POST', '/v1/emails', request, idem);
    expect([again.status, again.json.id, again.headers.get('idempotent-replayed')]).toEqual([200, first.json.id, 'true']);
    const emailId = first.json.id as string;

    // Delivered, and every job of the tenant has finished (the track job too).
    await waitFor('the message in the SMTP sink', () => sink.to(to).length > 0, 30_000);
    await waitFor('the sent event tracked', async () => (await jobsOf(tenantId)).some((j) => j.job_type === JOB_TYPES.trackEmailSent && j.status === 'completed'), 30_000);
    await waitFor('every job completed', async () => (await jobsOf(tenantId)).every((j) => j.status === 'completed'), 10_000);

    const jobs = await jobsOf(tenantId);
    expect(jobs.map((j) => [j.job_type, j.status, j.payload])).toEqual([
      [JOB_TYPES.emailSend, 'completed', { email_id: emailId }],
      [JOB_TYPES.trackEmailSent, 'completed', { email_ids: [emailId] }],
    ]);
    const messages = sink.to(to);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.subject).toBe('Your order');
    expect(messages[0]!.text?.trim()).toBe(request.body);
    expect(messages[0]!.html).toContain('your order &lt;42&gt; &amp; more has shipped.');
    expect(messages[0]!.messageId).toBe(`<${emailId}@fivetier>`);
    expect(messages[0]!.from?.text).toBe('hello@example.com');
    const read = await call(key, 'GET', `/v1/emails/${emailId}`);
    expect(read.json).toMatchObject({ status: 'sent', recipient: to, subject: 'Your order', content: { text: request.body } });

    expect((await tenantUsage(ft, tenantId)).emailsSent).toBe(1);
    // The track job again, and the seed's payload for the same email: still counted once.
    const track = trackEmailSentHandler(ft);
    const job = (payload: unknown) => ({ id: randomUUID(), tenantId, queue: 'analytics', type: JOB_TYPES.trackEmailSent, payload, priority: 90, attempt: 2, signal: new AbortController().signal });
    await track(job({ email_ids: [emailId] }));
    await track(job({ email_id: emailId }));
    expect((await tenantUsage(ft, tenantId)).emailsSent).toBe(1);

    // Without a key the API delivers too.
    const plain = await call(key, 'POST', '/v1/emails', { to, subject: 'Second', body: 'Hello again.' });
    expect(plain.status).toBe(201);
    await waitFor('both messages in the SMTP sink', () => sink.to(to).length === 2, 30_000);
    expect(sink.to(to).map((m) => m.subject)).toEqual(['Your order', 'Second']);
    await waitFor('both sends counted in OLAP', async () => (await tenantUsage(ft, tenantId)).emailsSent === 2, 30_000);

    // The seed's library sendEmail records a send and queues its tracking: counted once, nothing delivered.
    const recorded = await sendEmail(ft, { tenantId, recipient: `seed-${to}`, subject: 'Recorded', body: 'sent elsewhere' });
    await waitFor('the recorded send tracked', async () => (await jobsOf(tenantId)).some((j) => j.payload?.email_id === recorded.emailId && j.status === 'completed'), 30_000);
    expect((await tenantUsage(ft, tenantId)).emailsSent).toBe(3);
    await track(job({ email_id: recorded.emailId }));
    expect((await tenantUsage(ft, tenantId)).emailsSent).toBe(3);
    expect(sink.to(`seed-${to}`)).toHaveLength(0);

    await waitFor('every job completed', async () => (await jobsOf(tenantId)).every((j) => j.status === 'completed'), 10_000);
    expect(sink.messages.filter((m) => m.to && JSON.stringify(m.to).includes(to))).toHaveLength(2);
    const report = await checkConsistency(ft, { tenantId, record: false });
    expect(report.findings).toEqual({ I1: { count: 0, samples: [] }, I2: { count: 0, samples: [] }, I3: { count: 0, samples: [] } });
    expect(report.clean).toBe(true);
  });
});
