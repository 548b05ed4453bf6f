import type { TxClient } from '../../tier-client.js';

/** A row of `campaigns` as the pipeline reads it. */
export interface CampaignRow {
  tenant_id: string;
  id: string;
  name: string;
  status: 'draft' | 'scheduled' | 'sending' | 'completed' | 'paused';
  template_id: string | null;
  from_address: string | null;
  fanout_after: string | null;
  fanout_done: boolean;
  started_at: Date | null;
  completed_at: Date | null;
  created_at: Date;
}

/** Insert a draft campaign in the caller's tenant transaction. Throws on SQL errors. */
export async function campaignInsert(c: TxClient, row: { tenantId: string; name: string; templateId: string; fromAddress: string | null }): Promise<CampaignRow> {
  const { rows } = await c.query<CampaignRow>({
    name: 'campaignInsert',
    text: `insert into public.campaigns (tenant_id, name, template_id, from_address) values ($1, $2, $3, $4) returning *`,
    values: [row.tenantId, row.name, row.templateId, row.fromAddress],
  });
  return rows[0]!;
}

/** Add leads to a campaign (ids of the tenant's leads; others fail the foreign key). Returns how many were new. */
export async function campaignLeadsInsert(c: TxClient, tenantId: string, campaignId: string, leadIds: readonly string[]): Promise<number> {
  const res = await c.query({
    name: 'campaignLeadsInsert',
    text: `insert into public.campaign_leads (tenant_id, campaign_id, lead_id)
           select $1, $2, l from unnest($3::uuid[]) as l on conflict do nothing`,
    values: [tenantId, campaignId, leadIds],
  });
  return res.rowCount ?? 0;
}

/** One campaign of the tenant, optionally locked (FOR UPDATE) for a status change or a fan-out batch. */
export async function campaignGet(c: TxClient, id: string, lock = false): Promise<CampaignRow | undefined> {
  const { rows } = await c.query<CampaignRow>({
    name: lock ? 'campaignGetForUpdate' : 'campaignGet',
    text: `select * from public.campaigns where id = $1${lock ? ' for update' : ''}`,
    values: [id],
  });
  return rows[0];
}

/** Move a campaign to `to` if it is in one of `from`; undefined when it was not. */
export async function campaignSetStatusIf(c: TxClient, id: string, from: readonly string[], to: CampaignRow['status']): Promise<CampaignRow | undefined> {
  const { rows } = await c.query<CampaignRow>({
    name: 'campaignSetStatusIf',
    text: `update public.campaigns set status = $3::text, updated_at = now(),
             started_at = case when $3::text = 'sending' then coalesce(started_at, now()) else started_at end
           where id = $1 and status = any($2::text[]) returning *`,
    values: [id, from, to],
  });
  return rows[0];
}

/** Record how far the fan-out got (the last lead id done) and whether it is finished. */
export async function campaignFanoutAdvance(c: TxClient, id: string, after: string | null, done: boolean): Promise<void> {
  await c.query({
    name: 'campaignFanoutAdvance',
    text: `update public.campaigns set fanout_after = coalesce($2, fanout_after), fanout_done = $3, updated_at = now() where id = $1`,
    values: [id, after, done],
  });
}

/**
 * sending -> completed when the fan-out is done and no email of the campaign waits (queued or
 * sending). Returns the campaign with its outcome counts when this call completed it, undefined
 * otherwise (not done yet, or completed already). Run after each email outcome commits.
 */
export async function campaignCompleteIfDone(c: TxClient, id: string): Promise<(CampaignRow & { sent: number; failed: number; suppressed: number }) | undefined> {
  const { rows } = await c.query<CampaignRow & { sent: number; failed: number; suppressed: number }>({
    name: 'campaignCompleteIfDone',
    text: `with done as (
             update public.campaigns k set status = 'completed', completed_at = now(), updated_at = now()
              where k.id = $1 and k.status = 'sending' and k.fanout_done
                and not exists (select 1 from public.emails e
                                 where e.tenant_id = k.tenant_id and e.campaign_id = k.id and e.status in ('queued', 'sending'))
             returning k.*)
           select d.*,
                  (select count(*) from public.emails e where e.tenant_id = d.tenant_id and e.campaign_id = d.id and e.status in ('sent', 'delivered'))::int as sent,
                  (select count(*) from public.emails e where e.tenant_id = d.tenant_id and e.campaign_id = d.id and e.status in ('failed', 'bounced'))::int as failed,
                  (select count(*) from public.emails e where e.tenant_id = d.tenant_id and e.campaign_id = d.id and e.status = 'suppressed')::int as suppressed
             from done d`,
    values: [id],
  });
  return rows[0];
}

/** Outcome counts of a campaign's emails, by status. */
export async function campaignEmailCounts(c: TxClient, id: string): Promise<Record<string, number>> {
  const { rows } = await c.query<{ status: string; n: number }>({
    name: 'campaignEmailCounts',
    text: `select status, count(*)::int as n from public.emails where campaign_id = $1 group by status`,
    values: [id],
  });
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
