import type { TxClient } from '../../tier-client.js';
import type { MetricCounts } from './fact-metrics.js';

/** One day of one campaign's counters. */
export interface CampaignDayRow extends MetricCounts {
  /** The UTC day, `YYYY-MM-DD`. */
  day: string;
  updated_at: Date;
}

/**
 * The per-day rows of one campaign for the UTC days $3..$4 (both included), by day.
 * Exported so the partition-pruning test explains the very statement campaignStats runs.
 * why: the bounds are plain comparisons on period_start, the partition key, so the planner
 * reads only the partitions of those days.
 */
export const CAMPAIGN_DAYS_SQL = `select to_char(period_start, 'YYYY-MM-DD') as day, sent, delivered, opened_tracked, clicked_tracked,
         replied, bounced, unsubscribed, spam_complaints, updated_at
    from public.campaign_analytics
   where tenant_id = $1 and campaign_id = $2 and period_start >= $3::date and period_start <= $4::date
   order by period_start`;

/** Run by campaignStats in the tenant's OLAP transaction. Throws what `pg` throws. */
export async function campaignAnalyticsDays(c: TxClient, tenantId: string, campaignId: string, from: string, to: string): Promise<CampaignDayRow[]> {
  // why: unnamed, so every run is planned with its own dates and pruned at plan time
  const { rows } = await c.query<CampaignDayRow>({ text: CAMPAIGN_DAYS_SQL, values: [tenantId, campaignId, from, to] });
  return rows;
}
