import { createCampaign, createTemplate, importLeads, startCampaign } from '../../src/campaigns/campaigns.js';
import { processCampaignHandler } from '../../src/campaigns/process-campaign.js';
import { JOB_TYPES } from '../../src/jobs/built-in.js';
import type { Fivetier } from '../../src/platform.js';
import type { JobContext } from '../../src/queue/worker.js';
import { createTenant } from '../helpers/cross-tier.js';

/** A job context for running a handler directly, outside a worker. */
export function jobContext(tenantId: string, type: string, payload: unknown): JobContext {
  return { id: '1', tenantId, queue: 'direct', type, payload, priority: 100, attempt: 1, signal: new AbortController().signal };
}

/**
 * A tenant with a one-lead campaign fanned out: one email `queued` to `recipient`, its email.send
 * job not yet enqueued (no relay runs), so the test decides who sends it and how often.
 */
export async function oneQueuedEmail(ft: Fivetier, recipient: string): Promise<{ tenantId: string; emailId: string }> {
  const tenantId = await createTenant(ft);
  const template = await createTemplate(ft, tenantId, { name: 't', subject: 'Hello {{ name }}', content: '<p>Dear {{ name }}</p>' });
  const leadIds = await importLeads(ft, tenantId, [{ email: recipient, name: 'Ada', company: 'AE' }]);
  const campaign = await createCampaign(ft, tenantId, { name: 'c', templateId: template.id, leadIds });
  await startCampaign(ft, tenantId, campaign.id);
  await processCampaignHandler(ft)(jobContext(tenantId, JOB_TYPES.campaignProcess, { campaign_id: campaign.id }));
  const { rows } = await ft.oltp.withTenant(tenantId, (c) => c.query<{ id: string }>('select id from public.emails where campaign_id = $1', [campaign.id]));
  if (rows.length !== 1) throw new Error(`expected one email, found ${rows.length}`);
  return { tenantId, emailId: rows[0]!.id };
}

/** The email's status and the number of `track_email_sent` outbox rows that report it. */
export async function emailOutcome(ft: Fivetier, tenantId: string, emailId: string): Promise<{ status: string; tracked: number }> {
  return ft.oltp.withTenant(tenantId, async (c) => {
    const e = await c.query<{ status: string }>('select status from public.emails where id = $1', [emailId]);
    const o = await c.query<{ n: number }>(`select count(*)::int as n from public.outbox where job_type = $1 and (payload->'email_ids' ? $2 or payload->>'email_id' = $2)`, [JOB_TYPES.trackEmailSent, emailId]);
    return { status: e.rows[0]!.status, tracked: o.rows[0]!.n };
  });
}
