import type { TxClient } from '../../tier-client.js';

/** The idempotency key of one delivery event, as recordEvents stores it. */
export interface ProcessedEventKey {
  tenantId: string;
  eventId: string;
  /** The event's UTC day, `YYYY-MM-DD` (the partition key). */
  day: string;
  eventType: string;
  campaignId: string;
}

/**
 * Store the keys of events not seen before, in the caller's OLAP transaction (tenant set), and
 * return the ids of those it stored. A key that exists, or that a concurrent transaction holds
 * uncommitted, is skipped: ON CONFLICT waits for that transaction and skips it if it commits.
 * Rows must have distinct keys, sorted (one lock order for concurrent batches).
 * Run by recordEvents. Throws what `pg` throws.
 */
export async function processedEventsInsertNew(c: TxClient, rows: readonly ProcessedEventKey[]): Promise<string[]> {
  if (rows.length === 0) return [];
  const res = await c.query<{ event_id: string }>({
    name: 'processedEventsInsertNew',
    text: `insert into public.processed_events (tenant_id, event_id, period_start, event_type, campaign_id)
           select * from unnest($1::uuid[], $2::uuid[], $3::date[], $4::text[], $5::uuid[])
           on conflict (tenant_id, event_id, period_start) do nothing
           returning event_id`,
    values: [rows.map((r) => r.tenantId), rows.map((r) => r.eventId), rows.map((r) => r.day), rows.map((r) => r.eventType), rows.map((r) => r.campaignId)],
  });
  return res.rows.map((r) => r.event_id);
}
