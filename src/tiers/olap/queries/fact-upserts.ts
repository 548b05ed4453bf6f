/**
 * Upserts that add delivery counters to the daily fact rows. One function per statement; each
 * runs in the caller's OLAP transaction with the tenant set (RLS), takes rows with distinct keys
 * sorted by key (so concurrent batches lock rows in one order), and returns the rows written.
 * Run by recordEvents. Each throws what `pg` throws.
 */
import type { TxClient } from '../../tier-client.js';
import { METRIC_COLUMNS, factUpsertSql, type MetricCounts } from './fact-metrics.js';

/** Counters to add to one day of one campaign. */
export interface CampaignDelta { tenantId: string; campaignId: string; day: string; companyId: string | null; counts: MetricCounts }
/** Counters to add to one day of one mailbox (email account). */
export interface MailboxDelta { tenantId: string; mailboxId: string; day: string; companyId: string | null; counts: MetricCounts }
/** Counters to add to one day of one lead within one campaign. */
export interface LeadDelta { tenantId: string; leadId: string; campaignId: string; day: string; counts: MetricCounts }
/** Counters to add to one day of one sequence step. */
export interface StepDelta { tenantId: string; stepId: string; day: string; campaignId: string; companyId: string | null; counts: MetricCounts }

const countArrays = (rows: readonly { counts: MetricCounts }[]): number[][] => METRIC_COLUMNS.map((m) => rows.map((r) => r.counts[m]));

const CAMPAIGN_SQL = factUpsertSql('campaign_analytics', [{ name: 'tenant_id', type: 'uuid' }, { name: 'campaign_id', type: 'uuid' }, { name: 'period_start', type: 'date' }], ['company_id']);
const MAILBOX_SQL = factUpsertSql('mailbox_analytics', [{ name: 'tenant_id', type: 'uuid' }, { name: 'mailbox_id', type: 'uuid' }, { name: 'period_start', type: 'date' }], ['company_id']);
const LEAD_SQL = factUpsertSql('lead_analytics', [{ name: 'tenant_id', type: 'uuid' }, { name: 'lead_id', type: 'uuid' }, { name: 'campaign_id', type: 'uuid' }, { name: 'period_start', type: 'date' }], []);
// why: campaign_id is not part of the step's key; it is kept like company_id (a step has one campaign)
const STEP_SQL = factUpsertSql('sequence_step_analytics', [{ name: 'tenant_id', type: 'uuid' }, { name: 'step_id', type: 'uuid' }, { name: 'period_start', type: 'date' }], ['campaign_id', 'company_id']);

export async function campaignAnalyticsAdd(c: TxClient, rows: readonly CampaignDelta[]): Promise<number> {
  if (rows.length === 0) return 0;
  const res = await c.query({
    name: 'campaignAnalyticsAdd',
    text: CAMPAIGN_SQL,
    values: [rows.map((r) => r.tenantId), rows.map((r) => r.campaignId), rows.map((r) => r.day), rows.map((r) => r.companyId), ...countArrays(rows)],
  });
  return res.rowCount ?? 0;
}

export async function mailboxAnalyticsAdd(c: TxClient, rows: readonly MailboxDelta[]): Promise<number> {
  if (rows.length === 0) return 0;
  const res = await c.query({
    name: 'mailboxAnalyticsAdd',
    text: MAILBOX_SQL,
    values: [rows.map((r) => r.tenantId), rows.map((r) => r.mailboxId), rows.map((r) => r.day), rows.map((r) => r.companyId), ...countArrays(rows)],
  });
  return res.rowCount ?? 0;
}

export async function leadAnalyticsAdd(c: TxClient, rows: readonly LeadDelta[]): Promise<number> {
  if (rows.length === 0) return 0;
  const res = await c.query({
    name: 'leadAnalyticsAdd',
    text: LEAD_SQL,
    values: [rows.map((r) => r.tenantId), rows.map((r) => r.leadId), rows.map((r) => r.campaignId), rows.map((r) => r.day), ...countArrays(rows)],
  });
  return res.rowCount ?? 0;
}

export async function sequenceStepAnalyticsAdd(c: TxClient, rows: readonly StepDelta[]): Promise<number> {
  if (rows.length === 0) return 0;
  const res = await c.query({
    name: 'sequenceStepAnalyticsAdd',
    text: STEP_SQL,
    values: [rows.map((r) => r.tenantId), rows.map((r) => r.stepId), rows.map((r) => r.day), rows.map((r) => r.campaignId), rows.map((r) => r.companyId), ...countArrays(rows)],
  });
  return res.rowCount ?? 0;
}
