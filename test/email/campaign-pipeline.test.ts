import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { campaignStats } from '../../src/analytics/index.js';
import { createCampaign, createTemplate, importLeads, startCampaign, suppressAddress } from '../../src/campaigns/campaigns.js';
import { listNotifications } from '../../src/notifications/index.js';
import type { Service } from '../../src/service.js';
import { createTenant, startScratchService } from '../helpers/cross-tier.js';
import { testRedisPrefix } from '../helpers/platform.js';
import { SmtpSink } from '../helpers/smtp-sink.js';
import { joinedUser } from '../helpers/tenant-users.js';

/** Poll `read` until `done` holds or `ms` pass; returns the last value read. */
async function within<T>(ms: number, read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}

/**
 * A campaign end to end through the service fivetier start runs (src/service.ts): leads fanned
 * out by campaign.process, each email rendered, stored and delivered by email.send to a real
 * SMTP server, suppressed leads skipped, the campaign completed once every email has an outcome;
 * then each sent email counted in OLAP by track_email_sent and the tenant's user told by
 * notification.campaign_completed.
 */
const LEADS = 200;
const SUPPRESSED = 10;

for (const mode of ['postgres', 'redis'] as const) {
  describe(`a ${LEADS}-lead campaign through the service (${mode} dispatch)`, () => {
    const redisUrl = inject('redisUrl');
    let sink: SmtpSink;
    let service: Service;
    let stop: () => Promise<void>;

    beforeAll(async () => {
      if (mode === 'redis' && !redisUrl) return;
      sink = await SmtpSink.start();
      ({ service, stop } = await startScratchService(`pipeline_${mode}`, {
        config: {
          redisUrl: mode === 'redis' ? redisUrl : undefined,
          mail: { smtpUrl: sink.url, from: 'campaigns@example.com' },
        },
        worker: { concurrency: 20, pollIntervalMs: 100, redisPrefix: testRedisPrefix() },
      }));
    });
    afterAll(async () => {
      await stop?.();
      await sink?.close();
    });

    it('delivers one rendered, escaped message per lead that is not suppressed, and completes', { timeout: 120_000 }, async (ctx) => {
      if (mode === 'redis' && !redisUrl) return ctx.skip();
      const ft = service.fivetier;
      const tenantId = await createTenant(ft);
      const userId = await joinedUser(ft, tenantId, `owner-${mode}@example.com`);
      const template = await createTemplate(ft, tenantId, { name: 'welcome', subject: 'Hello {{ name }}', content: '<p>Dear {{ name }} of {{ company }},</p>' });
      const leads = Array.from({ length: LEADS }, (_, i) => ({ email: `lead${i}@example.com`, name: `Lead <${i}>`, company: `A & B ${i}` }));
      const leadIds = await importLeads(ft, tenantId, leads);
      for (let i = 0; i < SUPPRESSED; i++) await suppressAddress(ft, tenantId, `LEAD${i * 7}@example.com`, 'unsubscribe');
      const campaign = await createCampaign(ft, tenantId, { name: 'launch', templateId: template.id, leadIds });
      await startCampaign(ft, tenantId, campaign.id);

      const deadline = Date.now() + 90_000;
      let status = '';
      while (Date.now() < deadline) {
        const { rows } = await ft.oltp.withTenant(tenantId, (c) => c.query('select status from public.campaigns where id = $1', [campaign.id]));
        status = rows[0].status;
        if (status === 'completed') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(status).toBe('completed');

      const suppressed = new Set(Array.from({ length: SUPPRESSED }, (_, i) => `lead${i * 7}@example.com`));
      const received = new Map<string, number>();
      for (const m of sink.messages) for (const to of [m.to].flat()) for (const a of to?.value ?? []) received.set(a.address!, (received.get(a.address!) ?? 0) + 1);
      for (let i = 0; i < LEADS; i++) {
        const address = `lead${i}@example.com`;
        expect(received.get(address) ?? 0, address).toBe(suppressed.has(address) ? 0 : 1);
      }
      const one = sink.to('lead1@example.com')[0]!;
      expect(one.subject).toBe('Hello Lead <1>');
      // The rendered body, then the open pixel the pipeline adds (docs/tracking.md).
      expect(String(one.html).trim()).toMatch(/^<p>Dear Lead &lt;1&gt; of A &amp; B 1,<\/p><img src="http:\/\/[^"]+\/v1\/t\/o\/[A-Za-z0-9_-]+\.gif"[^>]*>$/);
      expect(one.from?.value[0]?.address).toBe('campaigns@example.com');

      const { rows } = await ft.oltp.withTenant(tenantId, (c) => c.query('select status, count(*)::int as n from public.emails where campaign_id = $1 group by status order by status', [campaign.id]));
      expect(rows).toEqual([
        { status: 'sent', n: LEADS - SUPPRESSED },
        { status: 'suppressed', n: SUPPRESSED },
      ]);

      // Analytics and the notification follow the completed campaign through their own jobs.
      const today = new Date().toISOString().slice(0, 10);
      const stats = await within(5_000, () => campaignStats(ft, tenantId, campaign.id, { from: today, to: today }), (s) => s.totals.sent >= LEADS - SUPPRESSED);
      expect(stats.totals.sent).toBe(LEADS - SUPPRESSED);
      const page = await within(5_000, () => listNotifications(ft, tenantId, userId), (p) => p.notifications.length > 0);
      expect(page.notifications.map((n) => ({ type: n.type, title: n.title, message: n.message }))).toEqual([
        { type: 'CAMPAIGN_COMPLETED', title: 'Campaign "launch" completed', message: `${LEADS - SUPPRESSED} sent, 0 failed, ${SUPPRESSED} suppressed.` },
      ]);
    });
  });
}
