import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFivetierError } from '../../src/errors/codes.js';
import { unreadNotifications } from '../../src/notifications/in-app.js';
import { notifyCampaignCompleted, notifyQuotaThreshold, quotaThresholdReached } from '../../src/notifications/producers.js';
import type { Fivetier } from '../../src/platform.js';
import { newTenant, openTestFivetier } from '../helpers/platform.js';

/** The current month as 'YYYY-MM' (UTC), so the quota notifications are not expired at birth. */
const thisMonth = () => new Date().toISOString().slice(0, 7);

async function rowsOf(ft: Fivetier, tenant: string) {
  const { rows } = await ft.notifications.withMaintenance((c) =>
    c.query('select user_id, type, dedup_key, priority, data, expires_at from public.notifications where tenant_id = $1 order by type, user_id', [tenant]),
  );
  return rows;
}

describe('notification producers', () => {
  let ft: Fivetier;
  beforeAll(async () => {
    ft = await openTestFivetier();
  });
  afterAll(async () => {
    await ft?.close();
  });

  it('quota: below 80% nothing; 80% and 100% each notify every user once, however often called', async () => {
    const tenant = newTenant();
    const users = [randomUUID(), randomUUID()];
    const month = thisMonth();
    const call = (used: number) => notifyQuotaThreshold(ft, tenant, { userIds: users, month, used, quota: 1000 });

    expect(await call(799)).toEqual({ threshold: null, created: 0, notificationIds: [] });
    expect(await rowsOf(ft, tenant)).toEqual([]);

    const at80 = await call(800);
    expect([at80.threshold, at80.created]).toEqual([80, 2]);
    for (const used of [800, 850, 999]) expect(await call(used)).toMatchObject({ threshold: 80, created: 0 });

    const at100 = await call(1000);
    expect([at100.threshold, at100.created]).toEqual([100, 2]);
    for (const used of [1000, 1500]) expect(await call(used)).toMatchObject({ threshold: 100, created: 0 });

    const rows = await rowsOf(ft, tenant);
    expect(rows.map((r) => [r.type, r.dedup_key, r.priority])).toEqual([
      ['QUOTA_REACHED', `quota:${month}:100`, 'urgent'],
      ['QUOTA_REACHED', `quota:${month}:100`, 'urgent'],
      ['QUOTA_WARNING', `quota:${month}:80`, 'high'],
      ['QUOTA_WARNING', `quota:${month}:80`, 'high'],
    ]);
    expect(rows[0].data).toEqual({ month, used: 1000, quota: 1000, threshold: 100 });
    // They stay until the following month ends.
    const [y, m] = month.split('-').map(Number) as [number, number];
    expect(rows[0].expires_at.getTime()).toBe(Date.UTC(y, m + 1, 1));
    expect((await unreadNotifications(ft, tenant, users[0]!)).map((n) => n.type)).toEqual(['QUOTA_REACHED', 'QUOTA_WARNING']);
  });

  it('quota: 10 concurrent calls at 80%, then 10 at 100%, notify each user once per threshold', async () => {
    const tenant = newTenant();
    const users = [randomUUID(), randomUUID(), randomUUID()];
    const month = thisMonth();
    for (const used of [80, 100]) {
      const results = await Promise.all(Array.from({ length: 10 }, () => notifyQuotaThreshold(ft, tenant, { userIds: users, month, used, quota: 100 })));
      expect(results.reduce((sum, r) => sum + r.created, 0)).toBe(users.length);
      expect(new Set(results.map((r) => r.threshold))).toEqual(new Set([used]));
    }
    const rows = await rowsOf(ft, tenant);
    const perUserAndType = new Map<string, number>();
    for (const r of rows) perUserAndType.set(`${r.user_id} ${r.type}`, (perUserAndType.get(`${r.user_id} ${r.type}`) ?? 0) + 1);
    expect(perUserAndType.size).toBe(users.length * 2);
    expect([...perUserAndType.values()].every((n) => n === 1)).toBe(true);
    // Another month is another key.
    expect((await notifyQuotaThreshold(ft, tenant, { userIds: users, month: '2999-01', used: 100, quota: 100 })).created).toBe(users.length);
  });

  it('quota: a month whose notifications would be expired already notifies nothing', async () => {
    const tenant = newTenant();
    expect(await notifyQuotaThreshold(ft, tenant, { userIds: [randomUUID()], month: '2020-01', used: 100, quota: 100 })).toEqual({ threshold: 100, created: 0, notificationIds: [] });
    expect(await rowsOf(ft, tenant)).toEqual([]);
  });

  it('the threshold arithmetic is exact at the edges', () => {
    expect([quotaThresholdReached(0, 10), quotaThresholdReached(7, 10), quotaThresholdReached(8, 10), quotaThresholdReached(9, 10), quotaThresholdReached(10, 10), quotaThresholdReached(11, 10)]).toEqual([null, null, 80, 80, 100, 100]);
    expect([quotaThresholdReached(79_999_999, 100_000_000), quotaThresholdReached(80_000_000, 100_000_000)]).toEqual([null, 80]);
  });

  it('campaign completed: once per campaign and user, also when its job runs twice at once', async () => {
    const tenant = newTenant();
    const users = [randomUUID(), randomUUID()];
    const campaignId = randomUUID();
    const done = { campaignId, name: 'Spring <sale> & more', userIds: users, sent: 197, failed: 1, suppressed: 2 };
    const [first, second] = await Promise.all([notifyCampaignCompleted(ft, tenant, done), notifyCampaignCompleted(ft, tenant, done)]);
    expect(first.created + second.created).toBe(2);
    expect((await notifyCampaignCompleted(ft, tenant, done)).created).toBe(0);
    const [n] = await unreadNotifications(ft, tenant, users[1]!);
    expect(n).toMatchObject({
      type: 'CAMPAIGN_COMPLETED',
      title: 'Campaign "Spring <sale> & more" completed',
      message: '197 sent, 1 failed, 2 suppressed.',
      data: { campaignId, sent: 197, failed: 1, suppressed: 2 },
      dedup_key: `campaign-completed:${campaignId}`,
    });
    expect(n!.expires_at!.getTime()).toBeGreaterThan(Date.now() + 89 * 86_400_000);
    // Another campaign notifies again.
    expect((await notifyCampaignCompleted(ft, tenant, { ...done, campaignId: randomUUID() })).created).toBe(2);
  });

  it('bad input is FT_ERR_INPUT_INVALID, before anything is written', async () => {
    const tenant = newTenant();
    const u = [randomUUID()];
    const month = thisMonth();
    const cases: Array<() => Promise<unknown>> = [
      () => notifyQuotaThreshold(ft, tenant, { userIds: u, month: '2026-13', used: 1, quota: 1 }),
      () => notifyQuotaThreshold(ft, tenant, { userIds: u, month: 'November', used: 1, quota: 1 }),
      () => notifyQuotaThreshold(ft, tenant, { userIds: u, month, used: -1, quota: 1 }),
      () => notifyQuotaThreshold(ft, tenant, { userIds: u, month, used: 1, quota: 0 }),
      () => notifyQuotaThreshold(ft, tenant, { userIds: u, month, used: 1.5, quota: 10 }),
      () => notifyQuotaThreshold(ft, tenant, { userIds: [], month, used: 10, quota: 10 }),
      () => notifyQuotaThreshold(ft, tenant, { userIds: [], month, used: 1, quota: 10 }), // below 80%: still checked
      () => notifyQuotaThreshold(ft, tenant, { userIds: ['admin'], month, used: 10, quota: 10 }),
      () => notifyCampaignCompleted(ft, tenant, { campaignId: 'c-1', name: 'x', userIds: u, sent: 1, failed: 0, suppressed: 0 }),
      () => notifyCampaignCompleted(ft, tenant, { campaignId: randomUUID(), name: '', userIds: u, sent: 1, failed: 0, suppressed: 0 }),
      () => notifyCampaignCompleted(ft, tenant, { campaignId: randomUUID(), name: 'x', userIds: u, sent: Number.NaN, failed: 0, suppressed: 0 }),
    ];
    for (const call of cases) {
      const err = await call().then(() => undefined, (e: unknown) => e);
      expect(isFivetierError(err, 'FT_ERR_INPUT_INVALID'), String(err)).toBe(true);
    }
    expect(await rowsOf(ft, tenant)).toEqual([]);
  });
});
