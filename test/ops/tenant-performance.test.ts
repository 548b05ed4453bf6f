import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantPerformance } from '../../src/ops/tenant-performance.js';
import type { Fivetier } from '../../src/platform.js';
import { newTenant, openTestFivetier } from '../helpers/platform.js';

describe('per-tenant performance', () => {
  let ft: Fivetier;
  beforeAll(async () => {
    ft = await openTestFivetier();
  });
  afterAll(async () => ft?.close());

  it("counts each tenant's transactions per tier and ranks the busiest and the slowest", async () => {
    const busy = newTenant();
    const slow = newTenant();
    for (let i = 0; i < 5; i++) await ft.oltp.withTenant(busy, (c) => c.query('select 1'));
    await ft.notifications.withTenant(busy, (c) => c.query('select 1'));
    await ft.content.withTenant(slow, (c) => c.query('select pg_sleep(0.05)'));
    const top = ft.tenantPerformance.top(100, 'volume');
    const b = top.find((t) => t.tenantId === busy)!;
    expect(b.calls).toBe(6);
    expect(b.byTier).toEqual({ oltp: 5, notifications: 1 });
    const bySlowness = ft.tenantPerformance.top(100, 'latency').map((t) => t.tenantId);
    expect(bySlowness.indexOf(slow)).toBeLessThan(bySlowness.indexOf(busy));
    expect(ft.tenantPerformance.top(100, 'latency').find((t) => t.tenantId === slow)!.maxMs).toBeGreaterThanOrEqual(50);
  });

  it('forgets the tenant seen least recently past its bound', () => {
    const perf = new TenantPerformance(2);
    perf.record('a', 'oltp', 1);
    perf.record('b', 'oltp', 1);
    perf.record('a', 'oltp', 1);
    perf.record('c', 'oltp', 1);
    expect(perf.top(10).map((t) => t.tenantId).sort()).toEqual(['a', 'c']);
  });
});
