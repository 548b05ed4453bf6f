/**
 * Reads of a tenant's campaign resources (templates, leads, campaigns, suppressions) for the API
 * and other callers: keyset pages and single rows. Each is one OLTP transaction as the tenant,
 * so another tenant's id finds nothing. Throws FT_ERR_INPUT_INVALID for a bad page,
 * FT_ERR_TIER_UNAVAILABLE when OLTP is down.
 */
import { FivetierError } from '../errors/codes.js';
import type { Fivetier } from '../platform.js';
import { campaignGet, campaignEmailCounts, type CampaignRow } from '../tiers/oltp/queries/campaigns.js';
import {
  campaignList,
  leadGet,
  leadList,
  suppressionList,
  suppressionRemove,
  templateGet,
  templateList,
  type LeadRow,
  type Page,
  type SuppressionRow,
} from '../tiers/oltp/queries/resource-reads.js';
import type { TemplateRow } from '../tiers/oltp/queries/templates.js';
import { tenantActivePlan } from '../tiers/oltp/queries/tenants.js';
import { isUuid } from '../types.js';
import { addressHash } from './campaigns.js';

export type { LeadRow, SuppressionRow } from '../tiers/oltp/queries/resource-reads.js';

/** The most rows one page holds. */
export const PAGE_LIMIT_MAX = 500;
export const PAGE_LIMIT_DEFAULT = 50;

/** A page request checked: `after` a uuid or absent, `limit` 1..PAGE_LIMIT_MAX. */
export function pageOf(options: { after?: string | null; limit?: number } = {}): Page {
  const limit = options.limit ?? PAGE_LIMIT_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_LIMIT_MAX) throw new FivetierError('FT_ERR_INPUT_INVALID', [`limit must be an integer 1..${PAGE_LIMIT_MAX}`]);
  const after = options.after ?? null;
  if (after !== null && !isUuid(after)) throw new FivetierError('FT_ERR_INPUT_INVALID', ['after must be a uuid (the last id of the previous page)']);
  return { after, limit };
}

/** A single read by id: undefined for an id that is not a uuid, as for one that does not exist. */
async function byId<T>(ft: Fivetier, tenantId: string, id: string, read: (c: Parameters<Parameters<Fivetier['oltp']['withTenant']>[1]>[0], id: string) => Promise<T | undefined>): Promise<T | undefined> {
  if (!isUuid(id)) return undefined;
  return ft.oltp.withTenant(tenantId, (c) => read(c, id));
}

export function listTemplates(ft: Fivetier, tenantId: string, page: { after?: string | null; limit?: number } = {}): Promise<TemplateRow[]> {
  const p = pageOf(page);
  return ft.oltp.withTenant(tenantId, (c) => templateList(c, p));
}

export function getTemplate(ft: Fivetier, tenantId: string, id: string): Promise<TemplateRow | undefined> {
  return byId(ft, tenantId, id, templateGet);
}

export function listLeads(ft: Fivetier, tenantId: string, page: { after?: string | null; limit?: number } = {}): Promise<LeadRow[]> {
  const p = pageOf(page);
  return ft.oltp.withTenant(tenantId, (c) => leadList(c, p));
}

export function getLead(ft: Fivetier, tenantId: string, id: string): Promise<LeadRow | undefined> {
  return byId(ft, tenantId, id, leadGet);
}

export function listCampaigns(ft: Fivetier, tenantId: string, page: { after?: string | null; limit?: number } = {}): Promise<CampaignRow[]> {
  const p = pageOf(page);
  return ft.oltp.withTenant(tenantId, (c) => campaignList(c, p));
}

/** A campaign with its emails counted by status (OLTP: the truth, unlike the OLAP stats). */
export function getCampaign(ft: Fivetier, tenantId: string, id: string): Promise<(CampaignRow & { emails: Record<string, number> }) | undefined> {
  return byId(ft, tenantId, id, async (c, campaignId) => {
    const campaign = await campaignGet(c, campaignId);
    return campaign && { ...campaign, emails: await campaignEmailCounts(c, campaignId) };
  });
}

/** The tenant's suppressions; `after` is the `cursor` of the previous page's last row. */
export async function listSuppressions(ft: Fivetier, tenantId: string, page: { after?: string | null; limit?: number } = {}): Promise<Array<SuppressionRow & { cursor: string }>> {
  const { limit } = pageOf({ limit: page.limit });
  const after = page.after ?? null;
  if (after !== null && !/^[0-9a-f]{64}$/.test(after)) throw new FivetierError('FT_ERR_INPUT_INVALID', ['after must be the cursor of the previous page']);
  const rows = await ft.oltp.withTenant(tenantId, (c) => suppressionList(c, { after: after === null ? null : Buffer.from(after, 'hex'), limit }));
  return rows.map(({ address_hash, ...r }) => ({ ...r, cursor: address_hash.toString('hex') }));
}

/** Take an address off the tenant's suppression list; whether it was on it. */
export function removeSuppression(ft: Fivetier, tenantId: string, address: string): Promise<boolean> {
  return ft.oltp.withTenant(tenantId, (c) => suppressionRemove(c, addressHash(address)));
}

/** The monthly email quota of the tenant's active plan (null: none). */
export async function tenantQuota(ft: Fivetier, tenantId: string): Promise<{ quota: number | null; slug: string | null }> {
  const plan = await ft.oltp.withTenant(tenantId, (c) => tenantActivePlan(c));
  return { quota: plan?.max_emails_per_month ?? null, slug: plan?.slug ?? null };
}
