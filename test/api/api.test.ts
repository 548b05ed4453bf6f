import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { importLeadRows } from '../../src/campaigns/lead-import.js';
import { listLeads } from '../../src/campaigns/resource-reads.js';
import { listEmails } from '../../src/email/emails.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { openTestFivetier } from '../helpers/platform.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { openTestApi, type TestApi } from './api-helpers.js';

describe('the /v1 API', () => {
  let api: TestApi;
  let t: { id: string; key: string };
  beforeAll(async () => {
    api = await openTestApi();
    t = await api.tenant();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('answers 401 without a key, with a malformed or unknown key, and with a revoked key', async () => {
    expect((await api.call(undefined, 'GET', '/v1/templates')).json.code).toBe('FT_ERR_API_KEY_MISSING');
    const bad = await api.call('nonsense', 'GET', '/v1/templates');
    expect([bad.status, bad.json.code]).toEqual([401, 'FT_ERR_API_KEY_INVALID']);
    const unknown = await api.call(`ft_live_${'A'.repeat(43)}`, 'GET', '/v1/templates');
    expect(unknown.status).toBe(401);
    const extra = await api.call(api.operatorKey, 'POST', `/v1/tenants/${t.id}/api-keys`, { name: 'to revoke' });
    expect(extra.status).toBe(201);
    expect(extra.json.key).toMatch(/^ft_live_[A-Za-z0-9_-]{43}$/);
    expect((await api.call(extra.json.key, 'GET', '/v1/templates')).status).toBe(200);
    const revoked = await api.call(api.operatorKey, 'DELETE', `/v1/tenants/${t.id}/api-keys/${extra.json.id}`);
    expect(revoked.status).toBe(200);
    expect((await api.call(extra.json.key, 'GET', '/v1/templates')).status).toBe(401);
    const listed = await api.call(api.operatorKey, 'GET', `/v1/tenants/${t.id}/api-keys`);
    expect(listed.body).not.toContain(extra.json.key);
    expect(listed.json.apiKeys.map((k: { key_prefix: string }) => k.key_prefix)).toContain(extra.json.key.slice(0, 16));
  });

  it('answers 400 naming the field, 404 for unknown routes and ids, 413 past the size limit; never a stack', async () => {
    const missing = await api.call(t.key, 'POST', '/v1/templates', { subject: 's', content: 'c' });
    expect(missing.status).toBe(400);
    expect(missing.json).toMatchObject({ code: 'FT_ERR_INPUT_INVALID', field: 'body.name' });
    const wrong = await api.call(t.key, 'POST', '/v1/emails', { to: 'not an address', body: 'x' });
    expect(wrong.json).toMatchObject({ code: 'FT_ERR_INPUT_INVALID', field: 'body.to' });
    const liquid = await api.call(t.key, 'POST', '/v1/templates', { name: 'bad', subject: 's', content: '{% if %}' });
    expect(liquid.status).toBe(400);
    expect((await api.call(t.key, 'GET', '/v1/nothing-here')).json.code).toBe('FT_ERR_API_NOT_FOUND');
    expect((await api.call(t.key, 'GET', '/v1/campaigns/not-a-uuid')).status).toBe(404);
    const big = await api.call(t.key, 'POST', '/v1/templates', { name: 'big', subject: 's', content: 'x'.repeat(1_100_000) });
    expect([big.status, big.json.code]).toEqual([413, 'FT_ERR_API_TOO_LARGE']);
    for (const res of [missing, wrong, liquid, big]) expect(res.body).not.toMatch(/\bat .*\.(ts|js):\d+/);
  });

  it('answers 409 for a campaign action its state does not allow', async () => {
    const tpl = await api.call(t.key, 'POST', '/v1/templates', { name: 'state', subject: 's', content: 'c' });
    const c = await api.call(t.key, 'POST', '/v1/campaigns', { name: 'state', templateId: tpl.json.id, leadIds: [] });
    expect(c.status).toBe(201);
    const pause = await api.call(t.key, 'POST', `/v1/campaigns/${c.json.id}/pause`);
    expect([pause.status, pause.json.code]).toEqual([409, 'FT_ERR_CAMPAIGN_STATE']);
  });

  it('sends once per Idempotency-Key, also when the retries run at once', async () => {
    const body = { to: 'once@example.com', subject: 'Once', body: 'only once' };
    const key = `send-${Date.now()}`;
    const first = await api.call(t.key, 'POST', '/v1/emails', body, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    const again = await api.call(t.key, 'POST', '/v1/emails', body, { 'idempotency-key': key });
    expect([again.status, again.json.id, again.headers['idempotent-replayed']]).toEqual([200, first.json.id, 'true']);
    const other = await api.call(t.key, 'POST', '/v1/emails', { ...body, body: 'something else' }, { 'idempotency-key': key });
    expect([other.status, other.json.code]).toEqual([409, 'FT_ERR_API_IDEMPOTENCY_KEY_REUSED']);

    const concurrentKey = `${key}-concurrent`;
    const racing = await Promise.all(Array.from({ length: 6 }, () => api.call(t.key, 'POST', '/v1/emails', { ...body, to: 'race@example.com' }, { 'idempotency-key': concurrentKey })));
    expect(racing.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    expect(new Set(racing.map((r) => r.json.id)).size).toBe(1);
    const emails = await listEmails(api.ft, t.id, { limit: 500 });
    expect(emails.filter((e) => e.recipient === 'race@example.com')).toHaveLength(1);
    expect(emails.filter((e) => e.recipient === 'once@example.com')).toHaveLength(1);

    const read = await api.call(t.key, 'GET', `/v1/emails/${first.json.id}`);
    expect(read.json.content.text).toBe('only once');
    expect(read.json).not.toHaveProperty('content_storage_key');
  });

  it('imports leads from JSON and NDJSON, reporting each refused row with its number and field', async () => {
    const json = await api.call(t.key, 'POST', '/v1/leads/import', [{ email: 'j1@example.com' }, { email: 'nope' }, { email: 'j2@example.com', name: 'x'.repeat(300) }]);
    expect(json.status).toBe(200);
    expect(json.json).toMatchObject({ rows: 3, imported: 1, failed: 2 });
    expect(json.json.errors).toEqual([expect.objectContaining({ row: 2, field: 'email' }), expect.objectContaining({ row: 3, field: 'name' })]);
    const nd = await api.call(t.key, 'POST', '/v1/leads/import', '{"email":"n1@example.com"}\nnot json\n{"email":"n2@example.com"}\n', { 'content-type': 'application/x-ndjson' });
    expect(nd.json).toMatchObject({ rows: 3, imported: 2, failed: 1, errors: [expect.objectContaining({ row: 2 })] });
    const broken = await api.call(t.key, 'POST', '/v1/leads/import', 'email,name\nb1@example.com,"unclosed\n', { 'content-type': 'text/csv' });
    expect([broken.status, broken.json.code]).toEqual([400, 'FT_ERR_INPUT_INVALID']);
    expect(broken.json.message).toMatch(/CSV cannot be read.*after 0 rows: 0 imported/);
    const noEmail = await api.call(t.key, 'POST', '/v1/leads/import', 'name\nAda\n', { 'content-type': 'text/csv' });
    expect(noEmail.json).toMatchObject({ rows: 1, imported: 0, failed: 1, errors: [{ row: 1, field: 'email' }] });
  });

  it('stops an import past its row limit with 413, keeping the rows before it', async () => {
    async function* rows() {
      for (let i = 0; i < 12; i++) yield { email: `cap${i}@example.com` };
    }
    await expect(importLeadRows(api.ft, t.id, rows(), { maxRows: 10, batchSize: 4 })).rejects.toMatchObject({ code: 'FT_ERR_API_TOO_LARGE', status: 413, message: expect.stringMatching(/first 10 were read \(10 imported/) });
    const leads = await listLeads(api.ft, t.id, { limit: 500 });
    expect(leads.filter((l) => l.email.startsWith('cap'))).toHaveLength(10);
  });

  it('streams a 100,000-row CSV import: rows are in the database before the upload ends', { timeout: 180_000 }, async () => {
    const tenant = await api.tenant('csv');
    const address = await api.app.listen({ host: '127.0.0.1', port: 0 });
    const total = 100_000;
    let sawRowsMidUpload = false;
    // The upload pauses half way until the first rows are in the database: a server that read the
    // whole body before importing would never get there (and the test would time out).
    async function* csv() {
      yield 'email,name,company\n';
      for (let i = 0; i < total; i++) {
        if (i === total / 2) {
          for (let tries = 0; tries < 600 && !sawRowsMidUpload; tries++) {
            sawRowsMidUpload = (await listLeads(api.ft, tenant.id, { limit: 1 })).length > 0;
            if (!sawRowsMidUpload) await new Promise((r) => setTimeout(r, 100));
          }
        }
        yield i === 7 ? 'broken-address,Seven,"Co"\n' : `lead${i}@example.com,"Lead, ${i}",Co ${i % 10}\n`;
      }
    }
    const result = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${address}/v1/leads/import`, { method: 'POST', headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'text/csv' } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      Readable.from(csv()).pipe(req);
    });
    expect(sawRowsMidUpload).toBe(true);
    expect(result.status, result.body).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({ rows: total, imported: total - 1, failed: 1, errors: [{ row: 8, field: 'email' }] });
    const lead = await api.call(tenant.key, 'GET', '/v1/leads?limit=1');
    expect(lead.json.leads).toHaveLength(1);
  });

  it("lets the operator see and act on every tenant's jobs and queues, and run a consistency report", async () => {
    const op = (method: 'GET' | 'POST', url: string, body?: unknown) => api.call(api.operatorKey, method, url, body);
    const job = await enqueue(api.ft.queue, t.id, { queue: 'default', type: 'test.operator', payload: {} });
    const own = await api.call(t.key, 'GET', '/v1/jobs?status=queued');
    expect(own.json.jobs.map((j: { id: string }) => j.id)).toContain(job!.id);
    const all = await op('GET', `/v1/admin/jobs?tenantId=${t.id}&status=queued`);
    expect(all.json.jobs.map((j: { id: string }) => j.id)).toContain(job!.id);
    const cancelled = await op('POST', `/v1/admin/tenants/${t.id}/jobs/${job!.id}/cancel`);
    expect([cancelled.status, cancelled.json.status]).toEqual([200, 'cancelled']);
    const retry = await op('POST', `/v1/admin/tenants/${t.id}/jobs/${job!.id}/retry`);
    expect([retry.status, retry.json.code]).toEqual([409, 'FT_ERR_QUEUE_JOB_STATE']);
    const queues = await op('GET', '/v1/admin/queues');
    expect(queues.json.queues.find((q: { name: string }) => q.name === 'default')).toBeDefined();
    expect((await op('POST', '/v1/admin/queues/no-such-queue/pause')).status).toBe(404);
    const report = await op('POST', '/v1/admin/consistency-reports', { tenantId: t.id });
    expect(report.status, report.body).toBe(201);
    expect(report.json).toMatchObject({ tenantId: t.id, findings: { I1: { count: 0 } } });
    expect((await op('GET', '/v1/admin/consistency-reports')).status).toBe(200);
  });

  it('serves the OpenAPI document generated from the route schemas, and the docs page', async () => {
    const doc = await api.call(undefined, 'GET', '/docs/json');
    expect(doc.status).toBe(200);
    expect(doc.json.openapi).toMatch(/^3\./);
    for (const path of ['/v1/emails', '/v1/campaigns/{id}/start', '/v1/leads/import', '/v1/tenants/{tenantId}/api-keys']) expect(Object.keys(doc.json.paths)).toContain(path);
    expect(doc.json.paths['/v1/templates'].post.requestBody.content['application/json'].schema.required).toContain('name');
    const page = await api.app.inject({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/swagger/i);
  });
});

describe('rate limits and tiers down', () => {
  it('answers 429 with Retry-After past the per-key limit', async () => {
    const api = await openTestApi({ rateLimit: { max: 4, windowMs: 60_000 } });
    try {
      // two operator requests each (tenant, key): the operator key has its own budget
      const t = await api.tenant();
      const other = await api.tenant();
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push((await api.call(t.key, 'GET', '/v1/templates')).status);
      codes.push((await api.call(t.key, 'GET', '/v1/templates')).status);
      expect(codes).toEqual([200, 200, 200, 200, 429]);
      const limited = await api.call(t.key, 'GET', '/v1/templates');
      expect(limited.json.code).toBe('FT_ERR_API_RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      // another key has its own budget
      expect((await api.call(other.key, 'GET', '/v1/templates')).status).toBe(200);
    } finally {
      await api.close();
    }
  });

  it.skipIf(!inject('redisUrl'))('counts a key across instances in Redis', async () => {
    const one = await openTestApi({ rateLimit: { max: 3, windowMs: 60_000 } });
    const two = await openTestApi({ rateLimit: { max: 3, windowMs: 60_000 } }, one.ft);
    try {
      const t = await one.tenant();
      const codes = [];
      for (const api of [one, two, one, two]) codes.push((await api.call(t.key, 'GET', '/v1/templates')).status);
      expect(codes).toEqual([200, 200, 200, 429]);
    } finally {
      await two.close();
      await one.close();
    }
  });

  it('answers 503 naming the tier when a tier the request needs is down', async () => {
    const proxy = await TcpProxy.forUrl(inject('tierUrls').content);
    const ft = await openTestFivetier({ tiers: { content: { url: proxy.urlFor(inject('tierUrls').content), pool: { connectionTimeoutMillis: 1000 } } } });
    const api = await openTestApi({}, ft);
    try {
      const t = await api.tenant();
      const sent = await api.call(t.key, 'POST', '/v1/emails', { to: 'a@example.com', subject: 's', body: 'b' });
      expect(sent.status).toBe(201);
      proxy.down();
      proxy.cut();
      const read = await api.call(t.key, 'GET', `/v1/emails/${sent.json.id}`);
      expect(read.status, read.body).toBe(503);
      expect(read.json).toMatchObject({ code: 'FT_ERR_TIER_UNAVAILABLE', tier: 'content' });
      const send = await api.call(t.key, 'POST', '/v1/emails', { to: 'a@example.com', subject: 's', body: 'b' });
      expect([send.status, send.json.tier]).toEqual([503, 'content']);
      // what needs no content still answers
      expect((await api.call(t.key, 'GET', '/v1/emails')).status).toBe(200);
    } finally {
      await api.close();
      await ft.close();
      await proxy.close();
    }
  });
});
