/**
 * The demo tenant `fivetier demo` seeds, through the library as an application would: a tenant
 * with an operator, a template, leads (a few suppressed), campaigns started and run to completion
 * by the built-in pipeline in this process (outbox relay and a queue worker; mail goes where
 * `config.mail` says: SMTP, or .eml files), then delivery events (deliveries, opens, clicks, a
 * few hard bounces and unsubscribes) counted in OLAP. Afterwards the dashboard and
 * `fivetier status` have something to show: jobs, analytics, notifications, suppressions.
 */
import { createCampaign, createTemplate, importLeads, startCampaign, suppressAddress } from '../campaigns/campaigns.js';
import type { FivetierConfig } from '../config/config.js';
import { OutboxRelay } from '../cross-tier/outbox-relay.js';
import { recordDeliveryEvent, type ReportedEventType } from '../email/delivery-events.js';
import { FivetierError } from '../errors/codes.js';
import { builtInPipeline, workerFor } from '../jobs/pipeline.js';
import type { Fivetier } from '../platform.js';
import { createTenant } from '../tenants/tenants.js';
import { campaignGet } from '../tiers/oltp/queries/campaigns.js';
import { emailIdsWithStatus, outboxCountOfTenant } from '../tiers/oltp/queries/lifecycle.js';
import { tenantUserInvite, tenantUserSetJoined } from '../tiers/oltp/queries/users.js';
import { jobsCountOpenOfTenant } from '../tiers/queue/queries/lifecycle.js';

export const DEMO_LEADS_DEFAULT = 40;
export const DEMO_CAMPAIGNS_DEFAULT = 2;
export const DEMO_TIMEOUT_MS_DEFAULT = 120_000;

export interface DemoOptions {
  leads?: number;
  campaigns?: number;
  /** How long to wait for the campaigns and their events to go through, in ms. */
  timeoutMs?: number;
  /** Phase and progress (emails with an outcome, events recorded). */
  onProgress?: (p: { phase: 'sending' | 'events' | 'analytics'; done: number; total: number }) => void;
  log?: (line: string) => void;
}

export interface DemoReport {
  tenantId: string;
  userId: string;
  campaignIds: string[];
  leads: number;
  suppressed: number;
  sent: number;
  events: Partial<Record<ReportedEventType, number>>;
  durationMs: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Seed the demo tenant and run its traffic through. Throws FT_ERR_INPUT_INVALID for bad
 * counts, FT_ERR_TIER_UNAVAILABLE, or FT_ERR_DEMO_TIMEOUT naming what did not finish in time.
 */
export async function seedDemo(ft: Fivetier, config: FivetierConfig, options: DemoOptions = {}): Promise<DemoReport> {
  const leads = options.leads ?? DEMO_LEADS_DEFAULT;
  const campaigns = options.campaigns ?? DEMO_CAMPAIGNS_DEFAULT;
  const timeoutMs = options.timeoutMs ?? DEMO_TIMEOUT_MS_DEFAULT;
  if (!Number.isInteger(leads) || leads < 1 || leads > 10_000) throw new FivetierError('FT_ERR_INPUT_INVALID', [`leads must be 1..10000, got ${leads}`]);
  if (!Number.isInteger(campaigns) || campaigns < 1 || campaigns > Math.min(20, leads)) throw new FivetierError('FT_ERR_INPUT_INVALID', [`campaigns must be 1..${Math.min(20, leads)}, got ${campaigns}`]);
  const started = performance.now();
  const log = options.log ?? (() => {});
  const deadline = Date.now() + timeoutMs;

  const { id: tenantId } = await createTenant(ft, { name: `Demo ${new Date().toISOString().slice(0, 16).replace('T', ' ')}` });
  const tag = tenantId.slice(0, 8);
  const userId = await ft.oltp.withTenant(tenantId, (c) => tenantUserInvite(c, `owner+${tag}@demo.example`, ['owner']));
  await ft.oltp.withMaintenance((c) => tenantUserSetJoined(c, tenantId, userId));
  const template = await createTemplate(ft, tenantId, { name: 'welcome', subject: 'Hello {{ name }}', content: '<p>Dear {{ name }} of {{ company }}, welcome aboard.</p>' });
  const leadIds = await importLeads(
    ft,
    tenantId,
    Array.from({ length: leads }, (_, i) => ({ email: `lead${i}+${tag}@demo.example`, name: `Lead ${i}`, company: `Company ${i % 7}` })),
  );
  const suppressed = Math.min(2, leads - 1);
  for (let i = 0; i < suppressed; i++) await suppressAddress(ft, tenantId, `lead${leads - 1 - i}+${tag}@demo.example`, 'unsubscribe');
  const campaignIds: string[] = [];
  const per = Math.ceil(leads / campaigns);
  for (let k = 0; k < campaigns; k++) {
    const c = await createCampaign(ft, tenantId, { name: `Demo campaign ${k + 1}`, templateId: template.id, leadIds: leadIds.slice(k * per, (k + 1) * per) });
    await startCampaign(ft, tenantId, c.id);
    campaignIds.push(c.id);
  }
  log(`demo: tenant ${tenantId}, ${leads} leads, ${campaigns} campaigns started`);

  // The pipeline the service runs, in this process, for as long as the demo needs it.
  const pipeline = builtInPipeline(ft, config, { smtpConnections: 4 });
  const relay = new OutboxRelay(ft, { log: () => {} });
  const worker = workerFor(ft, pipeline.registry.handlers(), { concurrency: 4, pollIntervalMs: 100, log: () => {} });
  const events: Partial<Record<ReportedEventType, number>> = {};
  let sent = 0;
  try {
    relay.start();
    await worker.start();
    const waitFor = async (what: string, done: () => Promise<boolean>) => {
      while (!(await done())) {
        if (Date.now() > deadline) throw new FivetierError('FT_ERR_DEMO_TIMEOUT', [what, Math.round(timeoutMs / 1000)]);
        await sleep(200);
      }
    };
    await waitFor('the campaigns', async () => {
      const states = await ft.oltp.withTenant(tenantId, async (c) => Promise.all(campaignIds.map((id) => campaignGet(c, id))));
      const done = states.filter((s) => s?.status === 'completed').length;
      options.onProgress?.({ phase: 'sending', done, total: campaigns });
      return done === campaigns;
    });
    const sentIds = await ft.oltp.withTenant(tenantId, (c) => emailIdsWithStatus(c, 'sent', 100_000));
    sent = sentIds.length;
    for (const [i, emailId] of sentIds.entries()) {
      const report = async (type: ReportedEventType, bounce?: 'hard') => {
        await recordDeliveryEvent(ft, tenantId, { emailId, type, bounce });
        events[type] = (events[type] ?? 0) + 1;
      };
      if (i % 20 === 7) await report('bounced', 'hard');
      else {
        await report('delivered');
        if (i % 2 === 0) await report('opened');
        if (i % 5 === 0) await report('clicked');
        if (i % 25 === 3) await report('unsubscribed');
      }
      options.onProgress?.({ phase: 'events', done: i + 1, total: sentIds.length });
    }
    await waitFor('the analytics jobs', async () => {
      const [outbox, open] = await Promise.all([ft.oltp.withTenant(tenantId, (c) => outboxCountOfTenant(c)), ft.queue.withMaintenance((c) => jobsCountOpenOfTenant(c, tenantId))]);
      options.onProgress?.({ phase: 'analytics', done: 0, total: outbox + open });
      return outbox + open === 0;
    });
  } finally {
    await worker.stop(5_000).catch(() => undefined);
    await relay.stop();
    pipeline.close();
  }
  return { tenantId, userId, campaignIds, leads, suppressed, sent, events, durationMs: Math.round(performance.now() - started) };
}
