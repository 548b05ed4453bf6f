import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import { sendEmailHandler } from '../../src/email/send-job.js';
import { createMailTransport, type MailTransport } from '../../src/email/transport.js';
import { JOB_TYPES } from '../../src/jobs/built-in.js';
import { openFivetier, type Fivetier } from '../../src/platform.js';
import { trackingSecrets } from '../../src/tracking/secrets.js';
import { signToken } from '../../src/tracking/token.js';
import { signWebhook } from '../../src/tracking/webhook-signature.js';
import { TIER_NAMES } from '../../src/types.js';
import { jobContext, oneQueuedEmail } from '../email/deliver-fixture.js';
import { migratedScratchDatabases } from '../helpers/cross-tier.js';
import { testConfig } from '../helpers/platform.js';
import { SmtpSink } from '../helpers/smtp-sink.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * The tracking routes with OLTP down (a real outage: its connections refused through a proxy).
 * Readers still get their image and their redirect (that open or click is lost); an
 * unsubscribe and a webhook answer 503, so the mailbox provider and the sending provider try
 * again, and once OLTP is back the same requests are recorded.
 */
const WEBHOOK_SECRET = 'outage-webhook-secret-0123456789abcdef';
let ft: Fivetier;
let app: FastifyInstance;
let proxy: TcpProxy;
let sink: SmtpSink;
let transport: MailTransport;
let drop: () => Promise<void>;

beforeAll(async () => {
  const scratch = await migratedScratchDatabases('tracking_outage');
  drop = scratch.drop;
  proxy = await TcpProxy.forUrl(scratch.urls.oltp);
  const tiers = Object.fromEntries(TIER_NAMES.map((t) => [t, { url: t === 'oltp' ? proxy.urlFor(scratch.urls.oltp) : scratch.urls[t] }]));
  ft = await openFivetier({ config: testConfig({ tiers, tracking: { publicUrl: 'https://t.example.com', secrets: ['outage-tracking-secret-0123456789abcdef'], webhookSecrets: [WEBHOOK_SECRET] } }), migrate: false });
  sink = await SmtpSink.start();
  transport = createMailTransport({ smtpUrl: sink.url, mailDir: '/nonexistent' });
  app = await buildServer({ fivetier: ft });
});
afterAll(async () => {
  await app?.close();
  transport?.close();
  await sink?.close();
  await ft?.close();
  await proxy?.close();
  await drop?.();
});

describe('tracking routes while OLTP is down', () => {
  it('still serve the pixel and the redirect; unsubscribe and webhooks answer 503, then succeed once OLTP is back', { timeout: 90_000 }, async () => {
    const { tenantId, emailId } = await oneQueuedEmail(ft, 'outage@example.com');
    await sendEmailHandler(ft, { transport, defaultFrom: 'news@example.com' })(jobContext(tenantId, JOB_TYPES.emailSend, { email_id: emailId }));
    const mail = sink.to('outage@example.com')[0]!;
    const pixel = /https:\/\/t\.example\.com(\/v1\/t\/o\/[A-Za-z0-9_-]+\.gif)/.exec(String(mail.html))![1]!;
    const unsubscribe = /https:\/\/t\.example\.com(\/v1\/t\/u\/[A-Za-z0-9_-]+)/.exec(mail.headerLines.find((h) => h.key === 'list-unsubscribe')!.line)![1]!;
    const click = `/v1/t/c/${signToken(trackingSecrets(ft.config).tracking[0]!, { kind: 'click', tenantId, emailId, url: 'https://shop.example.com/' })}`;
    const oneClick = () => app.inject({ method: 'POST', url: unsubscribe, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' });
    const body = JSON.stringify({ tenant_id: tenantId, email_id: emailId, type: 'complaint', event_id: 'esp-outage-1' });
    const webhook = () => app.inject({ method: 'POST', url: '/v1/webhooks/delivery-events', headers: { 'content-type': 'application/json', 'fivetier-signature': signWebhook(WEBHOOK_SECRET, body) }, payload: body });

    proxy.down();
    const image = await app.inject({ method: 'GET', url: pixel });
    expect(image.statusCode).toBe(200);
    expect(image.headers['content-type']).toBe('image/gif');
    const redirect = await app.inject({ method: 'GET', url: click });
    expect(redirect.statusCode).toBe(302);
    expect(redirect.headers.location).toBe('https://shop.example.com/');
    const refused = await oneClick();
    expect(refused.statusCode).toBe(503);
    expect(refused.json().code).toBe('FT_ERR_TIER_UNAVAILABLE');
    const hook = await webhook();
    expect(hook.statusCode).toBe(503);
    expect(hook.json().message).toMatch(/oltp/);

    proxy.up();
    // The tier client notices the tier is back on its own; the provider's retry then succeeds.
    const deadline = Date.now() + 30_000;
    let again = await oneClick();
    while (again.statusCode === 503 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      again = await oneClick();
    }
    expect(again.statusCode).toBe(200);
    expect((await webhook()).statusCode).toBe(200);
    const { rows } = await ft.oltp.withTenant(tenantId, (c) => c.query<{ reason: string }>(`select reason from public.suppressions where address = 'outage@example.com'`));
    expect(rows.map((r) => r.reason)).toEqual(['unsubscribe']);
  });
});
