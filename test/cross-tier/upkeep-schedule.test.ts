import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureOlapPartitions } from '../../src/analytics/index.js';
import { createNotification, listNotifications } from '../../src/notifications/index.js';
import type { Service } from '../../src/service.js';
import { createTenant, startScratchService } from '../helpers/cross-tier.js';
import { waitFor } from '../helpers/poll.js';

/**
 * The service's scheduled upkeep on its own databases (it works across tenants): retention
 * drops an OLAP partition older than the retention period, and expiry deletes a notification
 * whose time is up, each run logging one line with its counts.
 */
describe('scheduled upkeep in the service', () => {
  let service: Service;
  let stop: () => Promise<void>;
  const lines: string[] = [];

  beforeAll(async () => {
    ({ service, stop } = await startScratchService('upkeep', {
      handlers: {},
      log: (line) => lines.push(line),
      partitionsIntervalMs: 1_000,
      expiryIntervalMs: 500,
    }));
  });
  afterAll(async () => {
    await stop?.();
  });

  it('drops OLAP partitions past retention and deletes expired notifications, logging counts', { timeout: 60_000 }, async () => {
    const ft = service.fivetier;
    const old = await ensureOlapPartitions(ft, { now: new Date('2001-03-15T00:00:00Z'), monthsAhead: 0 });
    const oldNames = old.filter((p) => p.status === 'created').map((p) => p.partition);
    expect(oldNames.length).toBeGreaterThan(0);
    const exists = async (names: string[]) =>
      (await ft.olap.withMaintenance((c) => c.query<{ n: number }>('select count(*)::int as n from pg_class where relname = any($1::text[])', [names]))).rows[0]!.n;
    expect(await exists(oldNames)).toBe(oldNames.length);

    const tenantId = await createTenant(ft);
    const userId = randomUUID();
    await createNotification(ft, tenantId, { userId, type: 'SHORT', title: 'soon gone', message: 'expires', expiresAt: new Date(Date.now() + 1_500) });
    await createNotification(ft, tenantId, { userId, type: 'LONG', title: 'stays', message: 'no expiry' });
    const deletedRows = async () => (await ft.notifications.withMaintenance((c) => c.query<{ n: number }>('select count(*)::int as n from public.notifications where tenant_id = $1', [tenantId]))).rows[0]!.n;

    await waitFor('the old partitions dropped', async () => (await exists(oldNames)) === 0, 20_000);
    await waitFor('the expired notification deleted', async () => (await deletedRows()) === 1, 20_000);
    expect((await listNotifications(ft, tenantId, userId)).notifications.map((n) => n.type)).toEqual(['LONG']);
    expect(lines.some((l) => /^olap partitions: \d+ created, \d+ existing, \d+ overlapping; [1-9]\d* dropped/.test(l))).toBe(true);
    expect(lines.some((l) => /^notification expiry: 1 expired notifications deleted/.test(l))).toBe(true);
  });
});
