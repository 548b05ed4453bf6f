/**
 * Keyset listings and single reads of a tenant's resources, for the API. Each runs in the
 * caller's tenant transaction, so row-level security confines it to that tenant whatever id it
 * is given. Listings go by id: `after` is the last id of the previous page (null: from the start).
 */
import type { TxClient } from '../../tier-client.js';
import type { CampaignRow } from './campaigns.js';
import type { TemplateRow } from './templates.js';

export interface Page {
  after: string | null;
  limit: number;
}

export interface LeadRow {
  tenant_id: string;
  id: string;
  email: string;
  name: string | null;
  company: string | null;
  status: string;
  created_at: Date;
  updated_at: Date;
}

export interface EmailRow {
  tenant_id: string;
  id: string;
  campaign_id: string | null;
  lead_id: string | null;
  recipient: string;
  subject: string | null;
  status: string;
  content_storage_key: string | null;
  sent_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface SuppressionRow {
  address: string | null;
  reason: string;
  created_at: Date;
}

const TEMPLATE = 'tenant_id, id, name, subject, content, created_at, updated_at';
const LEAD = 'tenant_id, id, email, name, company, status, created_at, updated_at';
const EMAIL = 'tenant_id, id, campaign_id, lead_id, recipient, subject, status, content_storage_key, sent_at, created_at, updated_at';

export async function templateList(c: TxClient, page: Page): Promise<TemplateRow[]> {
  const { rows } = await c.query<TemplateRow>({
    name: 'templateList',
    text: `select ${TEMPLATE} from public.templates where ($1::uuid is null or id > $1) order by id limit $2`,
    values: [page.after, page.limit],
  });
  return rows;
}

export async function templateGet(c: TxClient, id: string): Promise<TemplateRow | undefined> {
  const { rows } = await c.query<TemplateRow>({ name: 'templateGet', text: `select ${TEMPLATE} from public.templates where id = $1`, values: [id] });
  return rows[0];
}

export async function leadList(c: TxClient, page: Page): Promise<LeadRow[]> {
  const { rows } = await c.query<LeadRow>({
    name: 'leadList',
    text: `select ${LEAD} from public.leads where ($1::uuid is null or id > $1) order by id limit $2`,
    values: [page.after, page.limit],
  });
  return rows;
}

export async function leadGet(c: TxClient, id: string): Promise<LeadRow | undefined> {
  const { rows } = await c.query<LeadRow>({ name: 'leadGet', text: `select ${LEAD} from public.leads where id = $1`, values: [id] });
  return rows[0];
}

export async function campaignList(c: TxClient, page: Page): Promise<CampaignRow[]> {
  const { rows } = await c.query<CampaignRow>({
    name: 'campaignList',
    text: `select * from public.campaigns where ($1::uuid is null or id > $1) order by id limit $2`,
    values: [page.after, page.limit],
  });
  return rows;
}

export async function emailList(c: TxClient, page: Page & { campaignId: string | null }): Promise<EmailRow[]> {
  const { rows } = await c.query<EmailRow>({
    name: 'emailList',
    text: `select ${EMAIL} from public.emails where ($1::uuid is null or id > $1) and ($3::uuid is null or campaign_id = $3) order by id limit $2`,
    values: [page.after, page.limit, page.campaignId],
  });
  return rows;
}

export async function emailGet(c: TxClient, id: string): Promise<EmailRow | undefined> {
  const { rows } = await c.query<EmailRow>({ name: 'emailGet', text: `select ${EMAIL} from public.emails where id = $1`, values: [id] });
  return rows[0];
}

/** The tenant's suppressions, by address hash (`after`: the last hash, hex). */
export async function suppressionList(c: TxClient, page: { after: Buffer | null; limit: number }): Promise<Array<SuppressionRow & { address_hash: Buffer }>> {
  const { rows } = await c.query<SuppressionRow & { address_hash: Buffer }>({
    name: 'suppressionList',
    text: `select address_hash, address, reason, created_at from public.suppressions
            where ($1::bytea is null or address_hash > $1) order by address_hash limit $2`,
    values: [page.after, page.limit],
  });
  return rows;
}

/** Take an address off the tenant's suppression list; whether it was on it. */
export async function suppressionRemove(c: TxClient, addressHash: Buffer): Promise<boolean> {
  const res = await c.query({ name: 'suppressionRemove', text: `delete from public.suppressions where address_hash = $1`, values: [addressHash] });
  return res.rowCount === 1;
}

/** Tenants, by id (run as fivetier_maintenance: the operator's view across tenants). */
export async function tenantList(c: TxClient, page: Page): Promise<Array<{ id: string; name: string; created_at: Date }>> {
  const { rows } = await c.query<{ id: string; name: string; created_at: Date }>({
    name: 'tenantList',
    text: `select id, name, created_at from public.tenants where ($1::uuid is null or id > $1) order by id limit $2`,
    values: [page.after, page.limit],
  });
  return rows;
}

/** One tenant (run as fivetier_maintenance, or in that tenant's transaction). */
export async function tenantGet(c: TxClient, id: string): Promise<{ id: string; name: string; created_at: Date } | undefined> {
  const { rows } = await c.query<{ id: string; name: string; created_at: Date }>({ name: 'tenantGet', text: `select id, name, created_at from public.tenants where id = $1`, values: [id] });
  return rows[0];
}
