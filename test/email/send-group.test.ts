import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCampaign, createTemplate, importLeads, startCampaign, suppressAddress } from '../../src/campaigns/campaigns.js';
import { processCampaignHandler } from '../../src/campaigns/process-campaign.js';
import { SEND_JOB_EMAILS_MAX, sendEmailHandler } from '../../src/email/send-job.js';
import { createMailTransport, type MailTransport } from '../../src/email/transport.js';
import { JOB_TYPES } from '../../src/jobs/built-in.js';
import type { Fivetier } from '../../src/platform.js';
import { createTenant, openScratchFivetier } from '../helpers/cross-tier.js';
import { SmtpSink } from '../helpers/smtp-sink.js';
import { jobContext } from './deliver-fixture.js';

/**
 * email.send over a group of emails, each with its own outcome: one email held by another run's
 * live claim is left to it while the others go out, and the job fails so that its retry finishes
 * the one left; the retry sends nothing twice. Sent emails are reported to analytics once, in the
 * `track_email_sent` rows of the transactions that recorded them.
 */
let ft: Fivetier;
let drop: () => Promise<void>;
let sink: SmtpSink;
let transport: MailTransport;

beforeAll(async () => {
  ({ ft, drop } = await openScratchFivetier('send_group', { redisUrl: undefined }));
  sink = await SmtpSink.start();
  transport = createMailTransport({ smtpUrl: sink.url, mailDir: '/nonexistent' });
});
afterAll(async () => {
  transport?.close();
  await sink?.close();
  await ft?.close();
  await drop?.();
});

const LEADS = 30;

describe('email.send of a group of emails', () => {
  it('gives each email its own outcome, and a retry finishes only what was left', { timeout: 90_000 }, async () => {
    const tenantId = await createTenant(ft);
    const template = await createTemplate(ft, tenantId, { name: 't', subject: 'Hello {{ name }}', content: '<p>Dear {{ name }}</p>' });
    const leadIds = await importLeads(ft, tenantId, Array.from({ length: LEADS }, (_, i) => ({ email: `group${i}@example.com`, name: `Lead ${i}` })));
    await suppressAddress(ft, tenantId, 'group3@example.com', 'manual');
    const campaign = await createCampaign(ft, tenantId, { name: 'group', templateId: template.id, leadIds });
    await startCampaign(ft, tenantId, campaign.id);
    // Fan-out in this process (no relay runs): the emails, and their email.send outbox rows of 20.
    await processCampaignHandler(ft, { emailsPerJob: 20 })(jobContext(tenantId, JOB_TYPES.campaignProcess, { campaign_id: campaign.id }));
    const jobs = await ft.oltp.withTenant(tenantId, (c) => c.query<{ payload: { email_ids: string[] } }>('select payload from public.outbox where job_type = $1', [JOB_TYPES.emailSend]));
    expect(jobs.rows.map((r) => r.payload.email_ids.length).sort((a, b) => a - b)).toEqual([9, 20]); // 29 queued, 1 suppressed at the fan-out
    const emails = await ft.oltp.withTenant(tenantId, (c) => c.query<{ id: string; recipient: string }>("select id, recipient from public.emails where campaign_id = $1 and status = 'queued' order by id", [campaign.id]));
    const ids = emails.rows.map((r) => r.id);

    // Another run holds a live claim on one of them.
    const held = emails.rows[5]!;
    await ft.oltp.withTenant(tenantId, (c) => c.query("update public.emails set status = 'sending', send_token = $2, send_until = now() + interval '30 seconds' where id = $1", [held.id, randomUUID()]));
    // A lead suppressed after the fan-out is skipped at send time.
    const late = emails.rows[7]!;
    await suppressAddress(ft, tenantId, late.recipient, 'unsubscribe');

    const handler = sendEmailHandler(ft, { transport, defaultFrom: 'from@example.com' });
    const run = () => handler(jobContext(tenantId, JOB_TYPES.emailSend, { email_ids: ids }));
    await expect(run()).rejects.toThrow(/another run is sending/);
    expect(sink.messages).toHaveLength(ids.length - 2);
    expect(sink.to(held.recipient)).toHaveLength(0);

    // That run died: its claim runs out (moved forward here rather than waited for); the retry sends the one left.
    await ft.oltp.withTenant(tenantId, (c) => c.query("update public.emails set send_until = now() - interval '1 second' where id = $1", [held.id]));
    await run();
    await run(); // and a further run finds nothing to do
    const counts = new Map<string, number>();
    for (const m of sink.messages) for (const to of [m.to].flat()) for (const a of to?.value ?? []) counts.set(a.address!, (counts.get(a.address!) ?? 0) + 1);
    for (const e of emails.rows) expect(counts.get(e.recipient) ?? 0, e.recipient).toBe(e.id === late.id ? 0 : 1);
    expect(counts.get('group3@example.com')).toBeUndefined();

    const statuses = await ft.oltp.withTenant(tenantId, (c) => c.query('select status, count(*)::int as n, count(content_storage_key)::int as keyed from public.emails where campaign_id = $1 group by status order by status', [campaign.id]));
    expect(statuses.rows).toEqual([
      { status: 'sent', n: ids.length - 1, keyed: ids.length - 1 },
      { status: 'suppressed', n: 2, keyed: 0 },
    ]);
    const campaignRow = await ft.oltp.withTenant(tenantId, (c) => c.query('select status from public.campaigns where id = $1', [campaign.id]));
    expect(campaignRow.rows[0].status).toBe('completed');

    // Each sent email is in exactly one track_email_sent row.
    const tracked = await ft.oltp.withTenant(tenantId, (c) => c.query<{ payload: { campaign_id: string; email_ids: string[] } }>('select payload from public.outbox where job_type = $1', [JOB_TYPES.trackEmailSent]));
    const reported = tracked.rows.flatMap((r) => r.payload.email_ids).sort();
    expect(reported).toEqual(ids.filter((id) => id !== late.id).sort());
    expect(new Set(tracked.rows.map((r) => r.payload.campaign_id))).toEqual(new Set([campaign.id]));
  });

  it('refuses a payload without email ids, or with too many', async () => {
    const handler = sendEmailHandler(ft, { transport, defaultFrom: 'from@example.com' });
    const tenantId = randomUUID();
    await expect(handler(jobContext(tenantId, JOB_TYPES.emailSend, { email_ids: [] }))).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID' });
    await expect(handler(jobContext(tenantId, JOB_TYPES.emailSend, { email_ids: Array.from({ length: SEND_JOB_EMAILS_MAX + 1 }, () => randomUUID()) }))).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID' });
    await expect(handler(jobContext(tenantId, JOB_TYPES.emailSend, { email_ids: ['nope'] }))).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID' });
    await expect(handler(jobContext(tenantId, JOB_TYPES.emailSend, {}))).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID' });
  });
});
