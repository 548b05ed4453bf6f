import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignStats } from '../../src/analytics/index.js';
import { createCampaign, createTemplate, importLeads, startCampaign } from '../../src/campaigns/campaigns.js';
import { KNOWN_ENV, loadConfig } from '../../src/config/config.js';
import { startService, type Service } from '../../src/service.js';
import { GENERATED_SECRETS_FILE, trackingSecrets } from '../../src/tracking/secrets.js';
import { signWebhook } from '../../src/tracking/webhook-signature.js';
import { TIER_NAMES } from '../../src/types.js';
import { createTenant, migratedScratchDatabases } from '../helpers/cross-tier.js';
import { testRolePassword } from '../helpers/platform.js';
import { SmtpSink } from '../helpers/smtp-sink.js';
import { registeredRoutes, snapshotTiers } from './fuzz-surface.js';

/**
 * Issue 10, must-show 4: no secret of the running service is readable in plain text in any
 * tier or in the service's log. The secrets come from the service itself: every secret-named
 * value of its configuration (tracking and webhook secrets, role password, operator key), the
 * secret files of its data folder (generated secrets), and every API key the API hands out
 * during the test (when the API has a route that issues them). The service works for a while
 * first, so that every tier holds data: a campaign sent through the pipeline, opens, clicks,
 * an unsubscribe, signed and unsigned webhooks, failing requests; the analytics jobs ran.
 *
 * Every row of every table of all five tiers is read as JSON (text, json and bytea columns
 * included: bytea shows as hex), and searched for each secret as text, hex, base64 and base64url.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'fivetier-secrets-scan-'));
const log: string[] = [];
const answers: string[] = [];
let service: Service;
let sink: SmtpSink;
let drop: () => Promise<void>;

async function within<T>(ms: number, read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}

/** A request to the running service over HTTP; its answer is kept for the scan unless `scan` is false. */
async function call(method: string, path: string, init: { headers?: Record<string, string>; body?: string; scan?: boolean } = {}): Promise<Response> {
  const res = await fetch(`${service.address}${path}`, { method, redirect: 'manual', headers: init.headers, body: init.body });
  const text = await res.clone().text();
  if (init.scan !== false) answers.push(`${res.status} ${JSON.stringify([...res.headers])} ${text}`);
  return res;
}

/** Every string under a secret-sounding name in `value` (the real values, not the printed view). */
function secretValues(value: unknown, name = ''): string[] {
  if (typeof value === 'string') return /secret|password|key/i.test(name) && value.length >= 8 ? [value] : [];
  if (Array.isArray(value)) return value.flatMap((v) => secretValues(v, name));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => secretValues(v, k));
  return [];
}

/** The values held by the private files of the data folder (generated secrets, keys), JSON or plain. */
function dataFolderSecrets(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const stat = lstatSync(path);
    if (!stat.isFile() || name.endsWith('.log') || stat.size > 4_096) return [];
    expect(`${name} ${(stat.mode & 0o777).toString(8)}`).toBe(`${name} 600`);
    const text = readFileSync(path, 'utf8').trim();
    try {
      return secretValues(JSON.parse(text), 'secret');
    } catch {
      return [text];
    }
  });
}

beforeAll(async () => {
  sink = await SmtpSink.start();
  const scratch = await migratedScratchDatabases('secrets_scan');
  drop = scratch.drop;
  // With an operator key when this version of the API has one (it issues the API keys below).
  const operatorKey = `ft_op_${'k'.repeat(40)}`;
  const env = KNOWN_ENV.includes('FIVETIER_OPERATOR_KEY') ? { FIVETIER_OPERATOR_KEY: operatorKey } : {};
  const config = loadConfig(env, {
    tiers: Object.fromEntries(TIER_NAMES.map((t) => [t, { url: scratch.urls[t] }])),
    rolePassword: testRolePassword(),
    http: { port: 0 },
    mail: { smtpUrl: sink.url, from: 'news@example.com' },
    embedded: { dataDir },
    // No tracking or webhook secret set: the service generates them into the data folder.
  });
  service = await startService({ config, log: (line) => log.push(line), worker: { concurrency: 4, pollIntervalMs: 100 } });
}, 180_000);
afterAll(async () => {
  await service?.stop();
  await sink?.close();
  await drop?.();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('secrets of the running service', () => {
  it('are in no tier and no log line, after the service used every one of them', { timeout: 180_000 }, async () => {
    const ft = service.fivetier;
    const resolved = trackingSecrets(ft.config);
    expect(resolved.source).toEqual({ tracking: 'generated', webhook: 'generated', file: join(dataDir, GENERATED_SECRETS_FILE) });

    // API keys, when this API issues them: one for a tenant, used well and badly.
    const apiKeys: string[] = [];
    const tenantId = await createTenant(ft);
    const issue = registeredRoutes(service.http).find((r) => /^\/v1\/tenants\/:[^/]+\/api-keys$/.test(r.url) && r.methods.includes('POST'));
    const operatorKey = secretValues(ft.config).find((s) => s.startsWith('ft_op_'));
    if (issue && operatorKey) {
      const res = await call('POST', issue.url.replace(/:[^/]+/, tenantId), { headers: { authorization: `Bearer ${operatorKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'scan' }), scan: false }); // the one answer that shows the key, by design
      expect(res.status).toBe(201);
      const key = ((await res.json()) as { key: string }).key;
      apiKeys.push(key);
      await call('GET', '/v1/templates', { headers: { authorization: `Bearer ${key}` } });
      await call('GET', '/v1/templates', { headers: { authorization: `Bearer ${key}x` } });
      await call('POST', '/v1/templates', { headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{"name":' });
    }

    // An API with an operator key issues keys: then this test must have covered one.
    expect(apiKeys).toHaveLength(KNOWN_ENV.includes('FIVETIER_OPERATOR_KEY') ? 1 : 0);

    // A campaign through the pipeline: three emails with tracking, then what readers and the provider do.
    const template = await createTemplate(ft, tenantId, { name: 't', subject: 'Hi {{ name }}', content: '<p>Hi {{ name }}, <a href="https://shop.example.com/?q=1">shop</a></p>' });
    const leadIds = await importLeads(ft, tenantId, ['open', 'unsub', 'bounce'].map((n) => ({ email: `${n}@example.com`, name: n })));
    const campaign = await createCampaign(ft, tenantId, { name: 'scan', templateId: template.id, leadIds });
    await startCampaign(ft, tenantId, campaign.id);
    await within(60_000, async () => sink.messages.length, (n) => n >= 3);
    expect(sink.messages).toHaveLength(3);
    const mailOf = (who: string) => sink.to(`${who}@example.com`)[0]!;
    const pathIn = (text: string, kind: 'o' | 'c' | 'u') => new RegExp(`https?://[^/]+(/v1/t/${kind}/[A-Za-z0-9_-]+(?:\\.gif)?)`).exec(text)![1]!;
    const open = mailOf('open');
    expect((await call('GET', pathIn(String(open.html), 'o'))).status).toBe(200);
    expect((await call('GET', pathIn(String(open.html), 'c'))).status).toBe(302);
    expect((await call('GET', `${pathIn(String(open.html), 'c')}x`)).status).toBe(404);
    const unsubHeader = mailOf('unsub').headerLines.find((h) => h.key === 'list-unsubscribe')!.line;
    expect((await call('GET', pathIn(unsubHeader, 'u'))).status).toBe(200);
    expect((await call('POST', pathIn(unsubHeader, 'u'), { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' })).status).toBe(200);
    const { rows } = await ft.oltp.withTenant(tenantId, (c) => c.query<{ id: string }>(`select id from public.emails where recipient = 'bounce@example.com'`));
    const body = JSON.stringify({ tenant_id: tenantId, email_id: rows[0]!.id, type: 'bounced', bounce: 'hard', event_id: 'esp-1' });
    const webhookSecret = resolved.webhook[0]!.toString();
    const post = (signature?: string) => call('POST', '/v1/webhooks/delivery-events', { headers: { 'content-type': 'application/json', ...(signature ? { 'fivetier-signature': signature } : {}) }, body });
    expect((await post(signWebhook(webhookSecret, body))).status).toBe(200);
    expect((await post()).status).toBe(401);
    expect((await post(signWebhook(`${webhookSecret}x`, body))).status).toBe(401);
    expect((await post(signWebhook(webhookSecret, body, new Date(Date.now() - 3_600_000)))).status).toBe(401);

    // The events reach OLAP through the outbox, the relay and the delivery.event jobs.
    const today = new Date().toISOString().slice(0, 10);
    const stats = await within(60_000, () => campaignStats(ft, tenantId, campaign.id, { from: today, to: today }), (s) => s.totals.sent >= 3 && s.totals.opened_tracked >= 1 && s.totals.clicked_tracked >= 1 && s.totals.unsubscribed >= 1 && s.totals.bounced >= 1);
    expect(stats.totals).toMatchObject({ sent: 3, opened_tracked: 1, clicked_tracked: 1, unsubscribed: 1, bounced: 1 });

    // The secrets, from the service.
    const secrets = [...new Set([...secretValues(ft.config), ...dataFolderSecrets(dataDir), ...resolved.tracking.map((k) => k.secret.toString()), ...resolved.webhook.map((b) => b.toString()), ...apiKeys])];
    expect(secrets).toContain(webhookSecret);
    expect(secrets.length).toBeGreaterThanOrEqual(2);
    const forms = (s: string) => {
      const b = Buffer.from(s, 'utf8');
      return [s, b.toString('hex'), b.toString('base64'), b.toString('base64url')];
    };

    const tiers = await snapshotTiers(ft);
    // The scan sees what it should: the address, the hashed address (bytea, as hex), the token-bearing body.
    const all = Object.values(tiers).flat().join('\n');
    expect(all).toContain('bounce@example.com');
    expect(all).toMatch(/\\\\x[0-9a-f]{64}/);
    expect(Object.keys(tiers).some((t) => t.startsWith('olap:'))).toBe(true);
    for (const [table, rowsOf] of Object.entries(tiers)) {
      const text = rowsOf.join('\n');
      for (const secret of secrets) for (const form of forms(secret)) expect(text.includes(form), `a secret (as ${form === secret ? 'text' : 'an encoding'}) in ${table}`).toBe(false);
    }
    const places: [string, string][] = [
      ['the service log', log.join('\n')],
      ['the answers of the API', answers.join('\n')],
      ['the emails sent', sink.messages.map((m) => `${m.headerLines.map((h) => h.line).join('\n')}\n${String(m.html)}`).join('\n')],
    ];
    expect(log.length).toBeGreaterThan(3);
    // Start-up says where the generated secrets are, never what they are.
    expect(log.join('\n')).toContain(`not set: using the secret generated into ${join(dataDir, GENERATED_SECRETS_FILE)}`);
    for (const [where, text] of places) for (const secret of secrets) for (const form of forms(secret)) expect(text.includes(form), `a secret in ${where}`).toBe(false);
  });
});
