/**
 * Recording delivery events into the OLAP aggregates, each exactly once (invariant I4).
 *
 * Per tenant, one OLAP transaction stores the events' idempotency keys (processed_events) and,
 * for the keys it stored, adds to the daily facts. A key already there, or being stored by a
 * concurrent transaction, makes ON CONFLICT skip that event (after waiting for the other
 * transaction to commit), so an event recorded twice, or by ten callers at once, counts once;
 * if the transaction rolls back, neither the key nor the counts stay.
 */
import { FivetierError } from '../errors/codes.js';
import type { Fivetier } from '../platform.js';
import { billingAnalyticsAddSent, type SentDelta } from '../tiers/olap/queries/billing-analytics.js';
import { METRIC_COLUMNS, type MetricCounts } from '../tiers/olap/queries/fact-metrics.js';
import {
  campaignAnalyticsAdd,
  leadAnalyticsAdd,
  mailboxAnalyticsAdd,
  sequenceStepAnalyticsAdd,
  type CampaignDelta,
  type LeadDelta,
  type MailboxDelta,
  type StepDelta,
} from '../tiers/olap/queries/fact-upserts.js';
import { processedEventsInsertNew } from '../tiers/olap/queries/processed-events.js';
import type { TxClient } from '../tiers/tier-client.js';
import { EVENT_COUNTER, checkEvent, type CheckedEvent, type DeliveryEvent } from './events.js';

/** What recordEvents did. */
export interface RecordResult {
  /** Events counted by this call. */
  recorded: number;
  /** Events skipped because they were counted before (or twice in this call). */
  duplicates: number;
}

/** The most events one recordEvents call takes. */
export const RECORD_BATCH_MAX = 10_000;
/** Attempts at one tenant's transaction when PostgreSQL breaks a deadlock by aborting it. */
const DEADLOCK_ATTEMPTS = 3;

/**
 * Record one delivery event. Returns true if this call counted it, false if it was counted
 * before. Throws FT_ERR_INPUT_INVALID naming the bad field, FT_ERR_TIER_UNAVAILABLE when OLAP
 * is down (the caller's job retries: the event is still counted once).
 *
 * @example
 * await recordEvent(ft, { eventId: analyticsEventId(`${job.id}:sent`), tenantId, type: 'sent',
 *   campaignId, leadId, mailboxId, stepId, occurredAt: new Date() });
 */
export async function recordEvent(ft: Pick<Fivetier, 'olap'>, event: DeliveryEvent): Promise<boolean> {
  const result = await recordChecked(ft, [checkEvent(event)]);
  return result.recorded === 1;
}

/**
 * Record many delivery events: one OLAP transaction per tenant in the batch, tenants one after
 * another. Validates every event before writing any. Throws FT_ERR_INPUT_INVALID naming the bad
 * field (`events[3].campaignId`), FT_ERR_TIER_UNAVAILABLE when OLAP is down; a failure after
 * some tenants' transactions committed leaves those counted, and recording the whole batch
 * again counts only the rest.
 */
export async function recordEvents(ft: Pick<Fivetier, 'olap'>, events: readonly DeliveryEvent[]): Promise<RecordResult> {
  if (!Array.isArray(events)) throw new FivetierError('FT_ERR_INPUT_INVALID', ['events must be an array']);
  if (events.length > RECORD_BATCH_MAX) throw new FivetierError('FT_ERR_INPUT_INVALID', [`events: at most ${RECORD_BATCH_MAX} per call, got ${events.length}`]);
  const now = Date.now();
  return recordChecked(ft, events.map((e, i) => checkEvent(e, `events[${i}].`, now)));
}

/** Group checked events by tenant and record each tenant's events in one transaction. */
async function recordChecked(ft: Pick<Fivetier, 'olap'>, events: readonly CheckedEvent[]): Promise<RecordResult> {
  const byTenant = new Map<string, Map<string, CheckedEvent>>();
  let duplicates = 0;
  for (const e of events) {
    const mine = byTenant.get(e.tenantId) ?? new Map<string, CheckedEvent>();
    byTenant.set(e.tenantId, mine);
    // why: one key twice in a batch is one event; the first report of it stands
    if (mine.has(e.eventId)) duplicates++;
    else mine.set(e.eventId, e);
  }
  let recorded = 0;
  for (const [tenantId, mine] of byTenant) {
    const batch = [...mine.values()].sort((a, b) => compare(a.eventId, b.eventId));
    const counted = await withDeadlockRetry(() => ft.olap.withTenant(tenantId, (c) => recordTenantBatch(c, batch), { ownStatementsOnly: true }));
    recorded += counted;
    duplicates += batch.length - counted;
  }
  return { recorded, duplicates };
}

/** Store the batch's new keys and add those events to the facts. Returns how many were new. */
async function recordTenantBatch(c: TxClient, batch: readonly CheckedEvent[]): Promise<number> {
  const stored = new Set(
    await processedEventsInsertNew(
      c,
      batch.map((e) => ({ tenantId: e.tenantId, eventId: e.eventId, day: e.day, eventType: e.type, campaignId: e.campaignId })),
    ),
  );
  const fresh = batch.filter((e) => stored.has(e.eventId));
  if (fresh.length === 0) return 0;
  // Always in this table order, rows sorted by key: concurrent batches lock rows in one order.
  await campaignAnalyticsAdd(c, sumBy(fresh, (e) => [e.campaignId, e.day], (e): CampaignDelta => ({ tenantId: e.tenantId, campaignId: e.campaignId, day: e.day, companyId: e.companyId, counts: zero() })));
  await leadAnalyticsAdd(c, sumBy(fresh.filter((e) => e.leadId), (e) => [e.leadId!, e.campaignId, e.day], (e): LeadDelta => ({ tenantId: e.tenantId, leadId: e.leadId!, campaignId: e.campaignId, day: e.day, counts: zero() })));
  await mailboxAnalyticsAdd(c, sumBy(fresh.filter((e) => e.mailboxId), (e) => [e.mailboxId!, e.day], (e): MailboxDelta => ({ tenantId: e.tenantId, mailboxId: e.mailboxId!, day: e.day, companyId: e.companyId, counts: zero() })));
  await sequenceStepAnalyticsAdd(c, sumBy(fresh.filter((e) => e.stepId), (e) => [e.stepId!, e.day], (e): StepDelta => ({ tenantId: e.tenantId, stepId: e.stepId!, day: e.day, campaignId: e.campaignId, companyId: e.companyId, counts: zero() })));
  await billingAnalyticsAddSent(c, sentByDay(fresh));
  return fresh.length;
}

/** One row per key (sorted by key) with the events' counters summed into it. */
function sumBy<R extends { counts: MetricCounts }>(events: readonly CheckedEvent[], key: (e: CheckedEvent) => string[], row: (e: CheckedEvent) => R): R[] {
  const rows = new Map<string, R>();
  for (const e of events) {
    const k = key(e).join('|');
    let r = rows.get(k);
    if (!r) rows.set(k, (r = row(e)));
    r.counts[EVENT_COUNTER[e.type]] += 1;
  }
  return [...rows.entries()].sort((a, b) => compare(a[0], b[0])).map(([, r]) => r);
}

/** Emails sent per UTC day (usage), sorted by day. */
function sentByDay(events: readonly CheckedEvent[]): SentDelta[] {
  const days = new Map<string, SentDelta>();
  for (const e of events) {
    if (e.type !== 'sent') continue;
    const d = days.get(e.day) ?? { tenantId: e.tenantId, day: e.day, emailsSent: 0 };
    d.emailsSent += 1;
    days.set(e.day, d);
  }
  return [...days.values()].sort((a, b) => compare(a.day, b.day));
}

function zero(): MetricCounts {
  return Object.fromEntries(METRIC_COLUMNS.map((m) => [m, 0])) as MetricCounts;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Run `fn` again when PostgreSQL aborted it to break a deadlock (40P01). Whatever the aborted
 * attempt wrote was rolled back, so the retry counts each event once all the same.
 */
async function withDeadlockRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= DEADLOCK_ATTEMPTS || (err as { code?: unknown }).code !== '40P01') throw err;
    }
  }
}
