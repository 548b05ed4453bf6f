import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignStats } from '../../src/analytics/index.js';
import { createCampaign, createTemplate, importLeads, startCampaign } from '../../src/campaigns/campaigns.js';
import { recordDeliveryEvent } from '../../src/email/delivery-events.js';
import { FivetierError } from '../../src/errors/codes.js';
import type { Fivetier } from '../../src/platform.js';
import type { Service } from '../../src/service.js';
import { createTenant, startScratchService } from '../helpers/cross-tier.js';
import { SmtpSink } from '../helpers/smtp-sink.js';

/**
 * Delivery events reported through recordDeliveryEvent, with the service running against a real
 * SMTP server: each shows in OLAP campaign analytics within 5 s (through the outbox and the
 * delivery.event job), counts once when reported again, and a hard bounce, a complaint and an
 * unsubscribe put the address on the suppression list, so the next campaign skips it.
 */
async function within<T>(ms: number, read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}

async function runCampaign(ft: Fivetier, tenantId: string, templateId: string, leadIds: string[], name: string): Promise<string> {
  const campaign = await createCampaign(ft, tenantId, { name, templateId, leadIds });
  await startCampaign(ft, tenantId, campaign.id);
  const status = await within(
    60_000,
    async () => (await ft.oltp.withTenant(tenantId, (c) => c.query('select status from public.campaigns where id = $1', [campaign.id]))).rows[0].status as string,
    (s) => s === 'completed',
  );
  expect(status).toBe('completed');
  return campaign.id;
}

describe('delivery events through the library, with the service running', () => {
  let sink: SmtpSink;
  let service: Service;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    sink = await SmtpSink.start();
    ({ service, stop } = await startScratchService('delivery_events', {
      config: {
        mail: { smtpUrl: sink.url, from: 'campaigns@example.com' },
      },
      worker: { concurrency: 10, pollIntervalMs: 100 },
    }));
  });
  afterAll(async () => {
    await stop?.();
    await sink?.close();
  });

  it('counts each event in OLAP within 5 s, once, and suppresses hard bounces, complaints and unsubscribes', { timeout: 120_000 }, async () => {
    const ft = service.fivetier;
    const tenantId = await createTenant(ft);
    const template = await createTemplate(ft, tenantId, { name: 't', subject: 'Hi {{ name }}', content: '<p>{{ name }}</p>' });
    const addresses = ['opened', 'hard', 'complaint', 'unsub', 'soft'].map((n) => `${n}@example.com`);
    const leadIds = await importLeads(ft, tenantId, addresses.map((email) => ({ email, name: email })));
    const first = await runCampaign(ft, tenantId, template.id, leadIds, 'first');
    const { rows } = await ft.oltp.withTenant(tenantId, (c) => c.query('select id, recipient from public.emails where campaign_id = $1', [first]));
    const emailOf = Object.fromEntries(rows.map((r) => [r.recipient.split('@')[0], r.id as string]));

    // One open, reported twice by the same reporter: counted once.
    const today = new Date().toISOString().slice(0, 10);
    await recordDeliveryEvent(ft, tenantId, { emailId: emailOf.opened!, type: 'opened', eventId: 'webhook-1' });
    await recordDeliveryEvent(ft, tenantId, { emailId: emailOf.opened!, type: 'opened', eventId: 'webhook-1' });
    await recordDeliveryEvent(ft, tenantId, { emailId: emailOf.opened!, type: 'delivered' });
    const hard = await recordDeliveryEvent(ft, tenantId, { emailId: emailOf.hard!, type: 'bounced', bounce: 'hard' });
    const complaint = await recordDeliveryEvent(ft, tenantId, { emailId: emailOf.complaint!, type: 'complaint' });
    const unsub = await recordDeliveryEvent(ft, tenantId, { emailId: emailOf.unsub!, type: 'unsubscribed' });
    const soft = await recordDeliveryEvent(ft, tenantId, { emailId: emailOf.soft!, type: 'bounced', bounce: 'soft' });
    expect([hard.suppressed, complaint.suppressed, unsub.suppressed, soft.suppressed]).toEqual([true, true, true, false]);
    expect([hard.statusChanged, soft.statusChanged]).toEqual([true, false]);

    const stats = await within(5_000, () => campaignStats(ft, tenantId, first, { from: today, to: today }), (s) => s.totals.bounced === 2 && s.totals.opened_tracked >= 1 && s.totals.unsubscribed === 1 && s.totals.spam_complaints === 1 && s.totals.delivered === 1);
    expect(stats.totals).toMatchObject({ sent: 5, delivered: 1, opened_tracked: 1, bounced: 2, unsubscribed: 1, spam_complaints: 1 });
    // Once all seven delivery.event jobs (the open's two among them) have completed, the open still counts once.
    const pending = async () =>
      (await ft.queue.withTenant(tenantId, (c) => c.query<{ n: number; done: number }>("select count(*)::int as n, count(*) filter (where status = 'completed')::int as done from public.jobs where job_type = 'delivery.event'"))).rows[0]!;
    const jobs = await within(10_000, pending, (p) => p.n === 7 && p.done === 7);
    expect(jobs).toEqual({ n: 7, done: 7 });
    expect((await campaignStats(ft, tenantId, first, { from: today, to: today })).totals.opened_tracked).toBe(1);

    const statuses = await ft.oltp.withTenant(tenantId, (c) => c.query('select recipient, status from public.emails where campaign_id = $1 order by recipient', [first]));
    expect(Object.fromEntries(statuses.rows.map((r) => [r.recipient, r.status]))).toEqual({
      'complaint@example.com': 'sent',
      'hard@example.com': 'bounced',
      'opened@example.com': 'delivered',
      'soft@example.com': 'sent',
      'unsub@example.com': 'sent',
    });

    // The next campaign to the same leads skips the suppressed addresses.
    const before = new Map(addresses.map((a) => [a, sink.to(a).length]));
    const second = await runCampaign(ft, tenantId, template.id, leadIds, 'second');
    const got = Object.fromEntries(addresses.map((a) => [a, sink.to(a).length - before.get(a)!]));
    expect(got).toEqual({ 'opened@example.com': 1, 'hard@example.com': 0, 'complaint@example.com': 0, 'unsub@example.com': 0, 'soft@example.com': 1 });
    const outcome = await ft.oltp.withTenant(tenantId, (c) => c.query('select status, count(*)::int as n from public.emails where campaign_id = $1 group by status order by status', [second]));
    expect(outcome.rows).toEqual([
      { status: 'sent', n: 2 },
      { status: 'suppressed', n: 3 },
    ]);
  });

  it('refuses bad input with FT_ERR_INPUT_INVALID naming the field', async () => {
    const ft = service.fivetier;
    const tenantId = await createTenant(ft);
    const codeOf = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => (e instanceof FivetierError ? `${e.code}: ${e.message}` : String(e)));
    expect(await codeOf(recordDeliveryEvent(ft, tenantId, { emailId: 'nope', type: 'opened' }))).toMatch(/FT_ERR_INPUT_INVALID.*emailId/);
    expect(await codeOf(recordDeliveryEvent(ft, tenantId, { emailId: crypto.randomUUID(), type: 'sent' as never }))).toMatch(/FT_ERR_INPUT_INVALID.*type/);
    expect(await codeOf(recordDeliveryEvent(ft, tenantId, { emailId: crypto.randomUUID(), type: 'bounced' }))).toMatch(/FT_ERR_INPUT_INVALID.*bounce/);
    expect(await codeOf(recordDeliveryEvent(ft, tenantId, { emailId: crypto.randomUUID(), type: 'opened' }))).toMatch(/FT_ERR_INPUT_INVALID.*no email/);
  });
});
