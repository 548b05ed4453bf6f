import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import { opsSnapshot, type OpsSnapshot } from '../../src/ops/ops-snapshot.js';
import { TIER_NAMES } from '../../src/types.js';
import { openTestApi, type TestApi } from '../api/api-helpers.js';
import { recordMaintenanceRun } from '../../src/lifecycle/maintenance-runs.js';
import { openScratchFivetier } from '../helpers/cross-tier.js';
import { newTenant } from '../helpers/platform.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const DASHBOARD_URLS = ['/dashboard', '/dashboard/dashboard.js', '/dashboard/uplot.js', '/dashboard/uplot.css', '/dashboard/data.json'];

/** The dashboard's routes over HTTP (the browser test drives the page itself). */
describe('GET /dashboard', () => {
  let api: TestApi;
  let asOperator: { authorization: string };
  beforeAll(async () => {
    api = await openTestApi();
    asOperator = { authorization: `Bearer ${api.operatorKey}` };
  });
  afterAll(async () => {
    await api?.close();
  });

  it('serves the page, its script and the chart library from the service itself', async () => {
    const page = await api.app.inject({ method: 'GET', url: '/dashboard', headers: asOperator });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    // No CDN: every script and stylesheet comes from this service.
    const sources = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(sources.sort()).toEqual(['/dashboard/dashboard.js', '/dashboard/uplot.css', '/dashboard/uplot.js']);
    for (const url of sources) {
      const res = await api.app.inject({ method: 'GET', url, headers: asOperator });
      expect(res.statusCode, url).toBe(200);
      expect(res.body.length, url).toBeGreaterThan(100);
    }
    expect((await api.app.inject({ method: 'GET', url: '/dashboard/uplot.js', headers: asOperator })).body).toContain('uPlot');
  });

  it('answers a snapshot: every tier, pools, queue, outbox, maintenance and top tenants', async () => {
    const { ft } = api;
    const tenant = newTenant();
    await ft.oltp.withTenant(tenant, (c) => c.query('select 1'));
    const res = await api.app.inject({ method: 'GET', url: '/dashboard/data.json', headers: asOperator });
    expect(res.statusCode).toBe(200);
    const s = res.json() as OpsSnapshot;
    expect(s.tiers.map((t) => t.tier)).toEqual([...TIER_NAMES]);
    for (const t of s.tiers) {
      expect(t).toMatchObject({ status: 'up', circuit: 'closed' });
      expect(t.pool.max).toBe(ft.tiers[t.tier].config.pool.max);
    }
    expect(s.queue).toMatchObject({ ready: expect.any(Number), deadLetters: expect.any(Number) });
    expect(s.outbox).toMatchObject({ backlog: expect.any(Number), oldestAgeSeconds: expect.any(Number) });
    expect(s.topTenants.byVolume.some((t) => t.tenantId === tenant)).toBe(true);
    // A platform without a service: no alert evaluation, no leadership, no Redis here.
    expect(s.alerts).toBeNull();
    expect(s.instance.leader).toBeNull();
    expect(JSON.stringify(s)).not.toMatch(/postgres(ql)?:\/\//);
  });

  it('shows the maintenance another instance ran: the last recorded run of each task, the consistency check with its findings', async () => {
    // A platform of its own: the recorded runs are one row per task, shared by whoever runs it.
    const { ft, drop } = await openScratchFivetier('dashboard-runs');
    const other = await openTestApi({}, ft);
    try {
      const snapshot = async () => (await other.app.inject({ method: 'GET', url: '/dashboard/data.json', headers: { authorization: `Bearer ${other.operatorKey}` } })).json() as OpsSnapshot;
      const before = await opsSnapshot(ft); // not through the route, which keeps a snapshot for a second
      expect(before.recorded).toEqual([]);
      expect(before.consistency).toEqual({ lastRun: null, findings: null });

      // As the leading instance records them (this process ran neither).
      const checkedAt = new Date(Date.now() - 60_000);
      await recordMaintenanceRun(ft, 'consistency-check', checkedAt, false, { clean: false, findings: { I1: 2, I2: 0, I3: 1 } });
      await recordMaintenanceRun(ft, 'orphan-sweep', checkedAt, true, { deleted: 3 });
      const s = await snapshot();
      expect(s.maintenance.map((r) => r.task)).not.toContain('consistency check');
      expect(s.recorded).toEqual([
        { task: 'consistency-check', startedAt: checkedAt.toISOString(), endedAt: expect.any(String), ok: false, summary: { clean: false, findings: { I1: 2, I2: 0, I3: 1 } } },
        { task: 'orphan-sweep', startedAt: checkedAt.toISOString(), endedAt: expect.any(String), ok: true, summary: { deleted: 3 } },
      ]);
      expect(s.consistency).toEqual({ lastRun: { task: 'consistency check', startedAt: checkedAt.toISOString(), endedAt: expect.any(String), result: 'ok' }, findings: { I1: 2, I3: 1 } });
    } finally {
      await other.close();
      await drop();
    }
  });

  describe('operator only', () => {
    const get = (url: string, authorization?: string) => api.app.inject({ method: 'GET', url, headers: authorization ? { authorization } : {} });

    it('without credentials: 401 asking for Basic auth, on the page and everything under it', async () => {
      for (const url of DASHBOARD_URLS) {
        const res = await get(url);
        expect(res.statusCode, url).toBe(401);
        expect(res.headers['www-authenticate'], url).toBe('Basic realm="fivetier dashboard", charset="UTF-8"');
        expect(res.json(), url).toMatchObject({ code: 'FT_ERR_API_KEY_MISSING' });
        expect(res.body, url).not.toContain('"tiers"');
      }
    });

    it('a wrong key, as bearer or as Basic password: 401', async () => {
      const wrong = `${api.operatorKey.slice(0, -1)}x`;
      for (const authorization of [`Bearer ${wrong}`, basic('operator', wrong), basic(api.operatorKey, 'x'), 'Basic !!!notbase64', `Token ${api.operatorKey}`]) {
        const res = await get('/dashboard/data.json', authorization);
        expect(res.statusCode, authorization).toBe(401);
        expect(res.headers['www-authenticate'], authorization).toMatch(/^Basic realm="fivetier dashboard"/);
        expect(res.body).not.toContain(api.operatorKey);
      }
    });

    it("a tenant's API key does not open it", async () => {
      const { key } = await api.tenant();
      // The key works where it belongs ...
      expect((await api.call(key, 'GET', '/v1/templates')).status).toBe(200);
      // ... and not here, as bearer nor as Basic password.
      for (const authorization of [`Bearer ${key}`, basic('tenant', key)]) {
        for (const url of DASHBOARD_URLS) expect((await get(url, authorization)).statusCode, `${url} ${authorization.split(' ')[0]}`).toBe(401);
      }
    });

    it('the operator key opens it, as bearer or as the Basic password with any user name', async () => {
      for (const authorization of [`Bearer ${api.operatorKey}`, `bearer  ${api.operatorKey}`, basic('admin', api.operatorKey), basic('', api.operatorKey)]) {
        for (const url of DASHBOARD_URLS) expect((await get(url, authorization)).statusCode, `${url} ${authorization.slice(0, 12)}`).toBe(200);
      }
    });

    it('/health and /metrics stay open for probes and Prometheus', async () => {
      expect((await get('/health')).statusCode).toBe(200);
      expect((await get('/metrics')).statusCode).toBe(200);
    });

    it('a service without an operator key keeps the dashboard closed: 403 to every key', async () => {
      const app = await buildServer({ fivetier: api.ft });
      try {
        for (const authorization of [undefined, `Bearer ${api.operatorKey}`, basic('x', api.operatorKey)]) {
          const res = await app.inject({ method: 'GET', url: '/dashboard', headers: authorization ? { authorization } : {} });
          expect(res.statusCode).toBe(403);
          expect(res.json()).toMatchObject({ code: 'FT_ERR_API_FORBIDDEN', message: expect.stringContaining('FIVETIER_OPERATOR_KEY') });
        }
      } finally {
        await app.close();
      }
    });
  });
});
