import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeTable, type Isolation, type RouteEntry } from '../../src/api/server.js';
import type { IsolatedResource } from '../../src/api/isolation.js';
import { createNotification } from '../../src/notifications/in-app.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { openTestApi, type TestApi } from './api-helpers.js';

/**
 * Must-show 1: tenant isolation of the API, derived from the registered route table (not a
 * hand list). Every /v1 route declares how it keeps tenants apart (config.isolation):
 * - `object` routes: tenant B's key on tenant A's object answers 404 and A's object is unchanged;
 * - `listing` routes: each tenant sees its own rows and never the other's;
 * - `operator` routes: a tenant key answers 403, no key 401.
 * A route without a declaration, a route with a URL parameter that is neither `object`,
 * `operator` nor `public`, or an object/listing route of a resource without a fixture here
 * fails the test.
 */

interface Fixture {
  /** The object's id as its routes name it. */
  id: string;
  /** The object as its owner sees it now (compared before and after another tenant's request). */
  read: () => Promise<unknown>;
}

/** Routes the isolation checks cannot cover: no declaration, or an id in the URL that is not declared as such. */
function uncovered(routes: readonly RouteEntry[]): string[] {
  return routes
    .filter((r) => r.url.startsWith('/v1/'))
    .filter((r) => r.isolation === undefined || (r.url.includes(':') && !['object', 'operator', 'public'].includes(r.isolation.kind)))
    .map((r) => `${r.method} ${r.url}`);
}

type Tenant = { id: string; key: string; userId: string; fixtures: Record<IsolatedResource, Fixture> };

describe('API tenant isolation, from the route table', () => {
  let api: TestApi;
  let a: Tenant;
  let b: Tenant;
  let routes: RouteEntry[];

  async function makeTenant(label: string): Promise<Tenant> {
    const { id, key } = await api.tenant(`isolation ${label}`);
    const userId = randomUUID();
    const ok = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
      const res = await api.call(key, method, url, body);
      if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${res.body}`);
      return res.json;
    };
    const template = await ok('POST', '/v1/templates', { name: `t-${label}`, subject: 'Hi {{ name }}', content: 'Hello {{ name }}' });
    await ok('POST', '/v1/leads/import', [{ email: `lead-${label}@example.com`, name: label }]);
    const lead = (await ok('GET', '/v1/leads')).leads[0];
    const campaign = await ok('POST', '/v1/campaigns', { name: `c-${label}`, templateId: template.id, leadIds: [lead.id] });
    const email = await ok('POST', '/v1/emails', { to: `one-${label}@example.com`, subject: 'One', body: `body of ${label}` });
    const address = `blocked-${label}@example.com`;
    await ok('POST', '/v1/suppressions', { address });
    const { notification } = await createNotification(api.ft, id, { userId, type: 'TEST', title: `for ${label}`, message: 'isolation' });
    const job = await enqueue(api.ft.queue, id, { type: 'test.isolation', payload: { label } });
    const get = (url: string) => async () => (await api.call(key, 'GET', url)).json;
    const fixtures: Record<IsolatedResource, Fixture> = {
      template: { id: template.id, read: get(`/v1/templates/${template.id}`) },
      lead: { id: lead.id, read: get(`/v1/leads/${lead.id}`) },
      campaign: { id: campaign.id, read: get(`/v1/campaigns/${campaign.id}`) },
      email: { id: email.id, read: get(`/v1/emails/${email.id}`) },
      suppression: { id: address, read: get('/v1/suppressions?limit=500') },
      notification: { id: notification.id, read: get(`/v1/notifications?userId=${userId}`) },
      job: { id: job!.id, read: get(`/v1/jobs/${job!.id}`) },
    };
    return { id, key, userId, fixtures };
  }

  /** `{userId}` in a declared sample stands for a user of the object's tenant. */
  const fill = <T>(sample: T | undefined, userId: string): T | undefined => (sample === undefined ? undefined : JSON.parse(JSON.stringify(sample).replaceAll('{userId}', userId)));
  const withQuery = (url: string, query: Record<string, string> | undefined) => (query ? `${url}?${new URLSearchParams(query)}` : url);

  beforeAll(async () => {
    api = await openTestApi();
    a = await makeTenant('a');
    b = await makeTenant('b');
    routes = routeTable(api.app).filter((r) => r.url.startsWith('/v1/'));
  });
  afterAll(async () => {
    await api?.close();
  });

  it('finds the /v1 routes in the route table, each with an isolation declaration', () => {
    expect(routes.length).toBeGreaterThan(20);
    expect(uncovered(routes), 'routes without config.isolation, or with a URL parameter not declared object, operator or public').toEqual([]);
  });

  it('catches a route added later without a declaration', async () => {
    const later = await openTestApi({}, api.ft);
    try {
      later.app.get('/v1/widgets/:id', async () => ({}));
      later.app.get('/v1/gadgets/:id', { config: { isolation: { kind: 'tenant' } } }, async () => ({}));
      expect(uncovered(routeTable(later.app))).toEqual(['GET /v1/widgets/:id', 'GET /v1/gadgets/:id']);
    } finally {
      await later.close();
    }
  });

  it("answers 404 to tenant B on each of tenant A's objects, and changes nothing", async () => {
    const objectRoutes = routes.filter((r): r is RouteEntry & { isolation: Extract<Isolation, { kind: 'object' }> } => r.isolation?.kind === 'object');
    expect(objectRoutes.length).toBeGreaterThan(10);
    for (const route of objectRoutes) {
      const { resource, param = 'id', body, query } = route.isolation;
      const fixture = a.fixtures[resource];
      expect(fixture, `a fixture for ${resource} (${route.method} ${route.url})`).toBeDefined();
      expect(route.url, `${route.method} ${route.url} names :${param}`).toContain(`:${param}`);
      const url = withQuery(route.url.replace(`:${param}`, encodeURIComponent(fixture.id)), fill(query, a.userId));
      const before = await fixture.read();
      const res = await api.call(b.key, route.method as 'GET', url, fill(body, a.userId));
      expect(res.status, `${route.method} ${url} with tenant B's key: ${res.body}`).toBe(404);
      expect(res.body).not.toContain(a.id);
      expect(await fixture.read(), `${route.method} ${route.url} changed A's ${resource}`).toEqual(before);
      if (route.method === 'GET') {
        const own = await api.call(a.key, 'GET', url);
        expect(own.status, `${route.method} ${url} with tenant A's own key: ${own.body}`).toBe(200);
      }
    }
  });

  it("lists only the caller's rows on every listing route", async () => {
    const listingRoutes = routes.filter((r): r is RouteEntry & { isolation: Extract<Isolation, { kind: 'listing' }> } => r.isolation?.kind === 'listing');
    expect(listingRoutes.length).toBeGreaterThanOrEqual(7);
    for (const route of listingRoutes) {
      const { resource, query } = route.isolation;
      for (const [me, other] of [[a, b], [b, a]] as const) {
        expect(me.fixtures[resource], `a fixture for ${resource}`).toBeDefined();
        const res = await api.call(me.key, 'GET', withQuery(route.url, fill(query, me.userId)));
        expect(res.status, `${route.url}: ${res.body}`).toBe(200);
        expect(res.body, `${route.url} lists the caller's own ${resource}`).toContain(me.fixtures[resource].id);
        expect(res.body, `${route.url} shows the other tenant's ${resource}`).not.toContain(other.fixtures[resource].id);
        expect(res.body, `${route.url} shows the other tenant's id`).not.toContain(other.id);
        // Even naming the other tenant's user, the caller sees nothing of it.
        const probe = await api.call(me.key, 'GET', withQuery(route.url, fill(query, other.userId)));
        expect(probe.body).not.toContain(other.fixtures[resource].id);
      }
    }
  });

  it('answers 403 to a tenant key and 401 to no key on every operator route', async () => {
    const operatorRoutes = routes.filter((r) => r.isolation?.kind === 'operator');
    expect(operatorRoutes.length).toBeGreaterThan(5);
    for (const route of operatorRoutes) {
      const url = route.url.replace(/:tenantId/g, a.id).replace(/:\w+/g, randomUUID());
      const res = await api.call(b.key, route.method as 'GET', url, route.method === 'GET' ? undefined : {});
      expect(res.status, `${route.method} ${url} with a tenant key: ${res.body}`).toBe(403);
      expect(res.json.code).toBe('FT_ERR_API_FORBIDDEN');
      const anonymous = await api.call(undefined, route.method as 'GET', url);
      expect(anonymous.status).toBe(401);
    }
  });

  it('takes the tenant from the key alone: a tenant id in the request changes nothing', async () => {
    const res = await api.call(b.key, 'POST', '/v1/templates', { name: 'smuggled', subject: 's', content: 'c', tenant_id: a.id, tenantId: a.id });
    expect(res.status).toBe(201);
    expect(res.json.tenant_id).toBe(b.id);
    const listed = await api.call(a.key, 'GET', '/v1/templates?limit=500');
    expect(listed.body).not.toContain('smuggled');
  });

  it("refuses another tenant's ids inside a body as it refuses ids that do not exist", async () => {
    const foreign = await api.call(b.key, 'POST', '/v1/campaigns', { name: 'foreign', templateId: a.fixtures.template.id, leadIds: [] });
    const missing = await api.call(b.key, 'POST', '/v1/campaigns', { name: 'missing', templateId: randomUUID(), leadIds: [] });
    expect([foreign.status, foreign.json]).toEqual([missing.status, missing.json]);
    expect(foreign.status).toBe(400);
    const leads = await api.call(b.key, 'POST', '/v1/campaigns', { name: 'foreign leads', templateId: b.fixtures.template.id, leadIds: [a.fixtures.lead.id] });
    expect(leads.status).toBe(400);
    expect(leads.body).not.toContain(a.id);
  });
});
