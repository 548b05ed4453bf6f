/**
 * Campaigns as a tenant drives them: templates, leads, the campaign itself, start, pause, and
 * the suppression list. Each call is one OLTP transaction as the tenant; starting a campaign
 * queues its `campaign.process` job through the outbox in that same transaction.
 */
import { createHash } from 'node:crypto';
import { compileTemplate } from '../email/render.js';
import { FivetierError } from '../errors/codes.js';
import { BUILT_IN_JOBS, JOB_TYPES } from '../jobs/built-in.js';
import type { Fivetier } from '../platform.js';
import { campaignGet, campaignInsert, campaignLeadsInsert, campaignSetStatusIf, type CampaignRow } from '../tiers/oltp/queries/campaigns.js';
import { leadsUpsert } from '../tiers/oltp/queries/leads.js';
import { outboxInsert } from '../tiers/oltp/queries/outbox.js';
import { suppressionAdd } from '../tiers/oltp/queries/suppressions.js';
import { templateInsert, type TemplateRow } from '../tiers/oltp/queries/templates.js';
import type { TxClient } from '../tiers/tier-client.js';
import { isUuid } from '../types.js';

export type { CampaignRow } from '../tiers/oltp/queries/campaigns.js';

/** Leads per `importLeads` call. */
export const LEADS_PER_CALL_MAX = 10_000;

/** A mail address as the platform accepts it: one @, no spaces or angle brackets, at most 254 characters. */
const ADDRESS = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[^\s@<>()",;:]+$/;

function invalid(message: string): FivetierError {
  return new FivetierError('FT_ERR_INPUT_INVALID', [message]);
}

export function checkAddress(field: string, address: unknown): string {
  if (typeof address !== 'string' || address.length > 254 || !ADDRESS.test(address)) throw invalid(`${field} must be an email address, got ${JSON.stringify(address)?.slice(0, 80)}`);
  return address;
}

/** sha256 of the lower-cased address: the suppression list's key. */
export function addressHash(address: string): Buffer {
  return createHash('sha256').update(address.toLowerCase(), 'utf8').digest();
}

/** Create a template; its Liquid is checked first. Throws FT_ERR_INPUT_INVALID naming the part. */
export async function createTemplate(ft: Fivetier, tenantId: string, t: { name: string; subject: string; content: string }): Promise<TemplateRow> {
  if (typeof t.name !== 'string' || t.name === '' || t.name.length > 100) throw invalid('name must be 1..100 characters');
  if (typeof t.subject !== 'string' || t.subject.length > 255) throw invalid('subject must be at most 255 characters');
  if (typeof t.content !== 'string') throw invalid('content must be a string');
  compileTemplate(t);
  return ft.oltp.withTenant(tenantId, (c) => templateInsert(c, { tenantId, ...t }));
}

/** Add or update leads by address; returns their ids in order. Throws FT_ERR_INPUT_INVALID naming the row and field. */
export async function importLeads(ft: Fivetier, tenantId: string, leads: ReadonlyArray<{ email: string; name?: string; company?: string }>): Promise<string[]> {
  if (!Array.isArray(leads) || leads.length === 0 || leads.length > LEADS_PER_CALL_MAX) throw invalid(`leads must be 1..${LEADS_PER_CALL_MAX} rows`);
  const rows = leads.map((l, i) => ({
    email: checkAddress(`leads[${i}].email`, l?.email),
    name: optionalText(`leads[${i}].name`, l.name, 200),
    company: optionalText(`leads[${i}].company`, l.company, 200),
  }));
  return ft.oltp.withTenant(tenantId, (c) => leadsUpsert(c, tenantId, rows));
}

function optionalText(field: string, v: unknown, max: number): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length > max) throw invalid(`${field} must be a string of at most ${max} characters`);
  return v;
}

/** Create a draft campaign of a template for the given leads. */
export async function createCampaign(ft: Fivetier, tenantId: string, k: { name: string; templateId: string; fromAddress?: string; leadIds: readonly string[] }): Promise<CampaignRow> {
  if (typeof k.name !== 'string' || k.name === '' || k.name.length > 200) throw invalid('name must be 1..200 characters');
  if (!isUuid(k.templateId)) throw invalid('templateId must be a uuid');
  const from = k.fromAddress === undefined ? null : checkAddress('fromAddress', k.fromAddress);
  if (!Array.isArray(k.leadIds) || !k.leadIds.every(isUuid)) throw invalid('leadIds must be uuids');
  return ft.oltp.withTenant(tenantId, async (c) => {
    const campaign = await campaignInsert(c, { tenantId, name: k.name, templateId: k.templateId, fromAddress: from });
    for (let i = 0; i < k.leadIds.length; i += LEADS_PER_CALL_MAX) await campaignLeadsInsert(c, tenantId, campaign.id, k.leadIds.slice(i, i + LEADS_PER_CALL_MAX));
    return campaign;
  });
}

/**
 * Start (or resume) a campaign: draft, scheduled or paused -> sending, and its
 * `campaign.process` job, in one transaction. Throws FT_ERR_CAMPAIGN_STATE when it is sending or
 * completed already, FT_ERR_CAMPAIGN_NOT_FOUND for another tenant's or no campaign.
 */
export async function startCampaign(ft: Fivetier, tenantId: string, campaignId: string): Promise<CampaignRow> {
  return changeStatus(ft, tenantId, campaignId, ['draft', 'scheduled', 'paused'], 'sending', async (c, before) => {
    const def = BUILT_IN_JOBS.get(JOB_TYPES.campaignProcess)!;
    await outboxInsert(c, { tenantId, queueName: def.queue, jobType: def.type, payload: { campaign_id: campaignId, resume: before.status === 'paused' }, priority: def.priority, runAt: new Date() });
  });
}

/** Pause a sending campaign: no new email goes out until it is started again. */
export async function pauseCampaign(ft: Fivetier, tenantId: string, campaignId: string): Promise<CampaignRow> {
  return changeStatus(ft, tenantId, campaignId, ['sending'], 'paused');
}

async function changeStatus(ft: Fivetier, tenantId: string, campaignId: string, from: CampaignRow['status'][], to: CampaignRow['status'], also?: (c: TxClient, before: CampaignRow) => Promise<void>): Promise<CampaignRow> {
  if (!isUuid(campaignId)) throw invalid('campaign id must be a uuid');
  return ft.oltp.withTenant(tenantId, async (c) => {
    const before = await campaignGet(c, campaignId, true);
    if (!before) throw new FivetierError('FT_ERR_CAMPAIGN_NOT_FOUND', [campaignId]);
    const after = await campaignSetStatusIf(c, campaignId, from, to);
    if (!after) throw new FivetierError('FT_ERR_CAMPAIGN_STATE', [campaignId, before.status, from.join(' or ')]);
    await also?.(c, before);
    return after;
  });
}

/** Put an address on the tenant's suppression list. Returns whether it was new. */
export async function suppressAddress(ft: Fivetier, tenantId: string, address: string, reason: 'bounce' | 'complaint' | 'unsubscribe' | 'manual'): Promise<boolean> {
  checkAddress('address', address);
  if (!['bounce', 'complaint', 'unsubscribe', 'manual'].includes(reason)) throw invalid(`reason must be bounce, complaint, unsubscribe or manual, got ${JSON.stringify(reason)}`);
  return ft.oltp.withTenant(tenantId, (c) => suppressionAdd(c, { tenantId, addressHash: addressHash(address), address: address.toLowerCase(), reason }));
}
