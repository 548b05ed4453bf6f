/**
 * Dashboard and API reads of the OLAP aggregates. No operational path may call these (DESIGN.md
 * section 7: with OLAP down everything operational keeps working); a send decides nothing on
 * what they return.
 */
import { FivetierError } from '../errors/codes.js';
import type { Fivetier } from '../platform.js';
import { billingAnalyticsEmailsSent } from '../tiers/olap/queries/billing-analytics.js';
import { campaignAnalyticsDays } from '../tiers/olap/queries/campaign-analytics.js';
import { METRIC_COLUMNS, type MetricCounts } from '../tiers/olap/queries/fact-metrics.js';
import { isUuid } from '../types.js';
import { describe, toUtcDay, toUtcMonth, utcDay, utcMonthStart } from './utc-days.js';

/** The longest range campaignStats answers in one call, in days. */
export const CAMPAIGN_STATS_MAX_DAYS = 400;

/** A campaign's counters over a range of UTC days. */
export interface CampaignStats {
  tenantId: string;
  campaignId: string;
  /** First and last UTC day of the range, both included. */
  from: string;
  to: string;
  totals: MetricCounts;
  /** Days with any counter, oldest first; days without rows are absent. */
  days: Array<MetricCounts & { day: string }>;
  /** When the newest of those rows last changed; null when there are none. Dashboards show it. */
  updatedAt: Date | null;
}

/** One tenant's usage in a UTC month, to compare with its plan's monthly quota. */
export interface TenantUsage {
  tenantId: string;
  /** `YYYY-MM`. */
  month: string;
  emailsSent: number;
  updatedAt: Date | null;
}

function checkUuid(value: unknown, field: string): string {
  if (!isUuid(value)) throw new FivetierError('FT_ERR_INPUT_INVALID', [`${field} must be a uuid, got ${describe(value)}`]);
  return value.toLowerCase();
}

/**
 * Totals and per-day rows of one campaign over the UTC days `from`..`to` (both included;
 * `YYYY-MM-DD` or Dates). Reads only the partitions of those days. Throws FT_ERR_INPUT_INVALID
 * naming the bad argument, FT_ERR_TIER_UNAVAILABLE when OLAP is down (show "analytics
 * unavailable").
 */
export async function campaignStats(ft: Pick<Fivetier, 'olap'>, tenantId: string, campaignId: string, range: { from: string | Date; to: string | Date }): Promise<CampaignStats> {
  const tenant = checkUuid(tenantId, 'tenantId');
  const campaign = checkUuid(campaignId, 'campaignId');
  const from = toUtcDay(range?.from, 'from');
  const to = toUtcDay(range?.to, 'to');
  const days = (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1;
  if (days < 1) throw new FivetierError('FT_ERR_INPUT_INVALID', [`to (${to}) must not be before from (${from})`]);
  if (days > CAMPAIGN_STATS_MAX_DAYS) throw new FivetierError('FT_ERR_INPUT_INVALID', [`from..to spans ${days} days; at most ${CAMPAIGN_STATS_MAX_DAYS}`]);
  const rows = await ft.olap.withTenant(tenant, (c) => campaignAnalyticsDays(c, tenant, campaign, from, to));
  const totals = Object.fromEntries(METRIC_COLUMNS.map((m) => [m, 0])) as MetricCounts;
  let updatedAt: Date | null = null;
  const perDay = rows.map((r) => {
    const counts = Object.fromEntries(METRIC_COLUMNS.map((m) => [m, r[m]])) as MetricCounts;
    for (const m of METRIC_COLUMNS) totals[m] += r[m];
    if (!updatedAt || r.updated_at > updatedAt) updatedAt = r.updated_at;
    return { day: r.day, ...counts };
  });
  return { tenantId: tenant, campaignId: campaign, from, to, totals, days: perDay, updatedAt };
}

/**
 * Emails one tenant sent in a UTC month (`YYYY-MM` or a Date; default: the current month), from
 * the daily usage rows. The caller compares it with the plan's `max_emails_per_month` (OLTP).
 * Throws FT_ERR_INPUT_INVALID naming the bad argument, FT_ERR_TIER_UNAVAILABLE when OLAP is down.
 */
export async function tenantUsage(ft: Pick<Fivetier, 'olap'>, tenantId: string, options: { month?: string | Date } = {}): Promise<TenantUsage> {
  const tenant = checkUuid(tenantId, 'tenantId');
  const start = options.month === undefined ? utcMonthStart(new Date()) : toUtcMonth(options.month, 'month');
  const from = utcDay(start);
  const to = utcDay(utcMonthStart(start, 1));
  const usage = await ft.olap.withTenant(tenant, (c) => billingAnalyticsEmailsSent(c, tenant, from, to));
  return { tenantId: tenant, month: from.slice(0, 7), ...usage };
}
