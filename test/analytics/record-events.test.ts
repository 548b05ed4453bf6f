import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { analyticsEventId, campaignStats, recordEvent, recordEvents, tenantUsage, type DeliveryEvent } from '../../src/analytics/index.js';
import type { Fivetier } from '../../src/platform.js';
import { newTenant, openTestFivetier } from '../helpers/platform.js';

/**
 * recordEvent / recordEvents against the run's OLAP database: each event is counted once however
 * often and however concurrently it is recorded (I4), and shows in campaignStats at once.
 * Every test works in tenants of its own.
 */

const DAY = '2026-10-10';
const AT = `${DAY}T12:00:00Z`;

function event(tenantId: string, campaignId: string, extra: Partial<DeliveryEvent> = {}): DeliveryEvent {
  return { eventId: randomUUID(), tenantId, type: 'sent', campaignId, occurredAt: AT, ...extra };
}

describe('recordEvent counts each event once', () => {
  let ft: Fivetier;
  let admin: pg.Client;
  let observer: pg.Client;

  beforeAll(async () => {
    ft = await openTestFivetier();
    admin = new pg.Client({ connectionString: inject('tierUrls').olap });
    observer = new pg.Client({ connectionString: inject('tierUrls').olap });
    await Promise.all([admin.connect(), observer.connect()]);
  });
  afterAll(async () => {
    await admin?.end();
    await observer?.end();
    await ft?.close();
  });

  /** Keys stored for a tenant, read as maintenance (across the RLS of the runtime role). */
  async function storedKeys(tenantId: string): Promise<number> {
    const { rows } = await ft.olap.withMaintenance((c) => c.query<{ n: number }>('select count(*)::int as n from public.processed_events where tenant_id = $1', [tenantId]));
    return rows[0]!.n;
  }

  it('shows an event in campaignStats as soon as recordEvent returns', async () => {
    const tenantId = newTenant();
    const campaignId = randomUUID();
    expect(await recordEvent(ft, event(tenantId, campaignId))).toBe(true);
    const stats = await campaignStats(ft, tenantId, campaignId, { from: DAY, to: DAY });
    expect(stats.totals.sent).toBe(1);
    expect(stats.days).toEqual([expect.objectContaining({ day: DAY, sent: 1, delivered: 0 })]);
    expect(stats.updatedAt).toBeInstanceOf(Date);
  });

  it('the same event recorded twice in a row counts once', async () => {
    const tenantId = newTenant();
    const campaignId = randomUUID();
    const e = event(tenantId, campaignId, { leadId: randomUUID(), mailboxId: randomUUID(), stepId: randomUUID() });
    expect(await recordEvent(ft, e)).toBe(true);
    expect(await recordEvent(ft, e)).toBe(false);
    expect((await campaignStats(ft, tenantId, campaignId, { from: DAY, to: DAY })).totals.sent).toBe(1);
    expect((await tenantUsage(ft, tenantId, { month: '2026-10' })).emailsSent).toBe(1);
    expect(await storedKeys(tenantId)).toBe(1);
    // The lead, mailbox and step facts were counted once too.
    const facts = await ft.olap.withTenant(tenantId, (c) =>
      c.query<{ t: string; sent: number }>(
        `select 'lead' as t, sent from public.lead_analytics union all
         select 'mailbox', sent from public.mailbox_analytics union all
         select 'step', sent from public.sequence_step_analytics order by 1`,
      ),
    );
    expect(facts.rows).toEqual([{ t: 'lead', sent: 1 }, { t: 'mailbox', sent: 1 }, { t: 'step', sent: 1 }]);
  });

  it('the same event recorded 10 times at once from separate connections counts once', async () => {
    const tenantId = newTenant();
    const campaignId = randomUUID();
    const e = event(tenantId, campaignId);
    const platforms = await Promise.all(Array.from({ length: 10 }, () => openTestFivetier()));
    try {
      // Hold the key table so that all ten transactions are open and waiting on it, then let
      // them go together: they race for the same key for real.
      await admin.query('begin');
      await admin.query('lock table public.processed_events in access exclusive mode');
      const calls = platforms.map((p) => recordEvent(p, e));
      const deadline = Date.now() + 5_000;
      let waiting: number[] = [];
      while (Date.now() < deadline) {
        // why: a separate connection; inside the locking transaction pg_stat_activity is a snapshot
        const { rows } = await observer.query<{ pid: number }>(
          `select distinct l.pid from pg_locks l join pg_stat_activity a on a.pid = l.pid
            where l.relation = 'public.processed_events'::regclass and not l.granted and a.application_name = 'fivetier:olap:app' and a.datname = current_database()`,
        );
        waiting = rows.map((r) => r.pid);
        if (waiting.length >= 10) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await admin.query('commit');
      expect(new Set(waiting).size).toBe(10);
      const results = await Promise.all(calls);
      expect(results.filter((r) => r).length).toBe(1);
    } finally {
      await admin.query('rollback').catch(() => {});
      await Promise.all(platforms.map((p) => p.close()));
    }
    expect((await campaignStats(ft, tenantId, campaignId, { from: DAY, to: DAY })).totals.sent).toBe(1);
    expect((await tenantUsage(ft, tenantId, { month: '2026-10' })).emailsSent).toBe(1);
    expect(await storedKeys(tenantId)).toBe(1);
  });

  it('overlapping batches recorded concurrently count every distinct event exactly once', async () => {
    const tenantId = newTenant();
    const campaignId = randomUUID();
    const types = ['sent', 'delivered', 'opened', 'clicked', 'replied', 'bounced', 'unsubscribed', 'complaint'] as const;
    const events = Array.from({ length: 200 }, (_, i) => event(tenantId, campaignId, { type: types[i % types.length]!, mailboxId: i % 2 ? randomUUID() : undefined }));
    // Eight batches of 50 events, each overlapping the next by 25, recorded at once.
    const batches = Array.from({ length: 8 }, (_, b) => events.slice(b * 25, b * 25 + 50));
    const results = await Promise.all(batches.map((batch) => recordEvents(ft, batch)));
    expect(results.reduce((n, r) => n + r.recorded, 0)).toBe(200);
    expect(results.reduce((n, r) => n + r.recorded + r.duplicates, 0)).toBe(batches.flat().length);
    const { totals } = await campaignStats(ft, tenantId, campaignId, { from: DAY, to: DAY });
    expect(totals).toEqual({ sent: 25, delivered: 25, opened_tracked: 25, clicked_tracked: 25, replied: 25, bounced: 25, unsubscribed: 25, spam_complaints: 25 });
    // Recording all of them again changes nothing.
    expect(await recordEvents(ft, events)).toEqual({ recorded: 0, duplicates: 200 });
    expect((await campaignStats(ft, tenantId, campaignId, { from: DAY, to: DAY })).totals).toEqual(totals);
  });

  it('a batch of several tenants counts each in its own tenant, and a key twice in one batch once', async () => {
    const [a, b] = [newTenant(), newTenant()];
    const campaignId = randomUUID();
    const repeated = event(a, campaignId);
    const result = await recordEvents(ft, [repeated, event(b, campaignId), repeated, event(a, campaignId, { occurredAt: '2026-10-11T08:00:00Z' })]);
    expect(result).toEqual({ recorded: 3, duplicates: 1 });
    const statsA = await campaignStats(ft, a, campaignId, { from: DAY, to: '2026-10-11' });
    expect(statsA.days.map((d) => [d.day, d.sent])).toEqual([[DAY, 1], ['2026-10-11', 1]]);
    expect(statsA.totals.sent).toBe(2);
    expect((await campaignStats(ft, b, campaignId, { from: DAY, to: '2026-10-11' })).totals.sent).toBe(1);
    // Another tenant asking for the same campaign id sees nothing of theirs.
    expect((await campaignStats(ft, newTenant(), campaignId, { from: DAY, to: '2026-10-11' })).days).toEqual([]);
  });

  it('a transaction that fails after storing the key leaves neither key nor counts: the retry counts the event', async () => {
    const tenantId = newTenant();
    const campaignId = randomUUID();
    await recordEvent(ft, event(tenantId, campaignId));
    // The counter at its maximum: the next increment overflows and the whole transaction fails.
    await ft.olap.withMaintenance((c) => c.query('update public.campaign_analytics set sent = 2147483647 where tenant_id = $1', [tenantId]));
    const e = event(tenantId, campaignId);
    await expect(recordEvent(ft, e)).rejects.toThrow(/out of range/);
    expect(await storedKeys(tenantId)).toBe(1);
    await ft.olap.withMaintenance((c) => c.query('update public.campaign_analytics set sent = 1 where tenant_id = $1', [tenantId]));
    expect(await recordEvent(ft, e)).toBe(true);
    expect((await campaignStats(ft, tenantId, campaignId, { from: DAY, to: DAY })).totals.sent).toBe(2);
  });

  it('tenantUsage counts sent emails of the month only', async () => {
    const tenantId = newTenant();
    const campaignId = randomUUID();
    await recordEvents(ft, [
      event(tenantId, campaignId, { occurredAt: '2026-08-31T23:59:59Z' }),
      event(tenantId, campaignId, { occurredAt: '2026-09-01T00:00:00Z' }),
      event(tenantId, campaignId, { occurredAt: '2026-09-30T23:59:59Z' }),
      event(tenantId, campaignId, { occurredAt: '2026-09-15T10:00:00Z', type: 'delivered' }),
    ]);
    expect(await tenantUsage(ft, tenantId, { month: '2026-09' })).toEqual(expect.objectContaining({ tenantId, month: '2026-09', emailsSent: 2 }));
    expect((await tenantUsage(ft, tenantId, { month: new Date('2026-08-05T00:00:00Z') })).emailsSent).toBe(1);
    expect(await tenantUsage(ft, tenantId, { month: '2026-07' })).toEqual({ tenantId, month: '2026-07', emailsSent: 0, updatedAt: null });
  });

  it('analyticsEventId derives the same uuid from the same name', () => {
    const jobId = randomUUID();
    expect(analyticsEventId(`${jobId}:sent`)).toBe(analyticsEventId(`${jobId}:sent`));
    expect(analyticsEventId(`${jobId}:sent`)).not.toBe(analyticsEventId(`${jobId}:delivered`));
    expect(analyticsEventId('x')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('bad input is a clear FT_ERR_INPUT_INVALID naming the field, and writes nothing', () => {
  let ft: Fivetier;
  beforeAll(async () => {
    ft = await openTestFivetier();
  });
  afterAll(async () => ft?.close());

  const tenantId = newTenant();
  const campaignId = randomUUID();
  const cases: Array<[string, Partial<Record<keyof DeliveryEvent, unknown>>, RegExp]> = [
    ['a non-uuid event id', { eventId: 'job-1' }, /^eventId must be a uuid/],
    ['a non-uuid tenant', { tenantId: 'acme' }, /^tenantId must be a uuid/],
    ['an unknown type', { type: 'open' }, /^type must be one of sent, delivered/],
    ['no campaign', { campaignId: undefined }, /^campaignId must be a uuid/],
    ['a bad lead id', { leadId: 42 }, /^leadId must be a uuid/],
    ['a bad mailbox id', { mailboxId: '' }, /^mailboxId must be a uuid/],
    ['a bad step id', { stepId: 'step-1' }, /^stepId must be a uuid/],
    ['no time', { occurredAt: undefined }, /^occurredAt must be a Date or an ISO 8601 time/],
    ['an invalid time', { occurredAt: 'yesterday' }, /^occurredAt must be a Date or an ISO 8601 time/],
    ['a time far ahead', { occurredAt: new Date(Date.now() + 3 * 86_400_000) }, /^occurredAt must lie between/],
  ];
  it.each(cases)('recordEvent with %s', async (_name, change, message) => {
    const bad = { ...event(tenantId, campaignId), ...change } as DeliveryEvent;
    await expect(recordEvent(ft, bad)).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID', message: expect.stringMatching(message) });
  });

  it('recordEvents names the bad event by index and writes none of the batch', async () => {
    const good = event(tenantId, campaignId);
    await expect(recordEvents(ft, [good, { ...event(tenantId, campaignId), campaignId: 'c-1' }])).rejects.toMatchObject({
      code: 'FT_ERR_INPUT_INVALID',
      message: expect.stringMatching(/^events\[1\]\.campaignId must be a uuid, got "c-1"/),
    });
    await expect(recordEvents(ft, [null as unknown as DeliveryEvent])).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID', message: expect.stringMatching(/^events\[0\] must be an object/) });
    await expect(recordEvents(ft, 'x' as unknown as DeliveryEvent[])).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID' });
    await expect(recordEvents(ft, new Array(10_001).fill(good))).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID', message: expect.stringMatching(/at most 10000 per call/) });
    expect((await campaignStats(ft, tenantId, campaignId, { from: DAY, to: DAY })).days).toEqual([]);
  });

  it('campaignStats and tenantUsage check their arguments', async () => {
    const range = { from: DAY, to: DAY };
    await expect(campaignStats(ft, 'acme', campaignId, range)).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID', message: expect.stringMatching(/^tenantId/) });
    await expect(campaignStats(ft, tenantId, 'c', range)).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID', message: expect.stringMatching(/^campaignId/) });
    await expect(campaignStats(ft, tenantId, campaignId, { from: '2026-02-30', to: DAY })).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID', message: expect.stringMatching(/^from must be a UTC day/) });
    await expect(campaignStats(ft, tenantId, campaignId, { from: DAY, to: '2026-10-09' })).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID', message: expect.stringMatching(/^to \(2026-10-09\) must not be before from/) });
    await expect(campaignStats(ft, tenantId, campaignId, { from: '2020-01-01', to: DAY })).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID', message: expect.stringMatching(/spans \d+ days/) });
    await expect(tenantUsage(ft, tenantId, { month: '2026-13' })).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID', message: expect.stringMatching(/^month must be a UTC month/) });
  });
});
