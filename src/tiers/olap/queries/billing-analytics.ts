import type { TxClient } from '../../tier-client.js';

/** Emails sent to add to one tenant's daily usage row. */
export interface SentDelta { tenantId: string; day: string; emailsSent: number }

/**
 * Add sent emails to the daily usage rows (period_end = period_start + 1), in the caller's OLAP
 * transaction (tenant set). Rows must have distinct days, sorted. Run by recordEvents.
 * Throws what `pg` throws.
 */
export async function billingAnalyticsAddSent(c: TxClient, rows: readonly SentDelta[]): Promise<number> {
  if (rows.length === 0) return 0;
  const res = await c.query({
    name: 'billingAnalyticsAddSent',
    text: `insert into public.billing_analytics as t (tenant_id, period_start, period_end, emails_sent)
           select k.tenant_id, k.day, k.day + 1, k.sent from unnest($1::uuid[], $2::date[], $3::integer[]) as k(tenant_id, day, sent)
           on conflict (tenant_id, period_start, period_end) do update
             set emails_sent = t.emails_sent + excluded.emails_sent, updated_at = now()`,
    values: [rows.map((r) => r.tenantId), rows.map((r) => r.day), rows.map((r) => r.emailsSent)],
  });
  return res.rowCount ?? 0;
}

/**
 * Emails one tenant sent in the daily rows of [from, to) (UTC days), and when those rows last
 * changed (null when there are none). Run by tenantUsage. Throws what `pg` throws.
 */
export async function billingAnalyticsEmailsSent(c: TxClient, tenantId: string, from: string, to: string): Promise<{ emailsSent: number; updatedAt: Date | null }> {
  const { rows } = await c.query<{ emails_sent: string; updated_at: Date | null }>({
    name: 'billingAnalyticsEmailsSent',
    text: `select coalesce(sum(emails_sent), 0)::bigint as emails_sent, max(updated_at) as updated_at
             from public.billing_analytics
            where tenant_id = $1 and period_start >= $2::date and period_start < $3::date
              and period_end = period_start + 1`,
    values: [tenantId, from, to],
  });
  return { emailsSent: Number(rows[0]!.emails_sent), updatedAt: rows[0]!.updated_at };
}
