import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import { getContent } from '../../src/content/index.js';
import { createCampaign, createTemplate, importLeads, startCampaign } from '../../src/campaigns/campaigns.js';
import { processCampaignHandler } from '../../src/campaigns/process-campaign.js';
import { sendEmailHandler } from '../../src/email/send-job.js';
import { createMailTransport, type MailTransport } from '../../src/email/transport.js';
import { JOB_TYPES } from '../../src/jobs/built-in.js';
import type { Fivetier } from '../../src/platform.js';
import { trackingSecrets } from '../../src/tracking/secrets.js';
import { signingKey, signToken } from '../../src/tracking/token.js';
import { signWebhook } from '../../src/tracking/webhook-signature.js';
import { jobContext } from '../email/deliver-fixture.js';
import { createTenant, openScratchFivetier } from '../helpers/cross-tier.js';
import { SmtpSink } from '../helpers/smtp-sink.js';

/**
 * The public tracking routes and the delivery-event webhook (issue 10, must-show 5), on a real
 * platform: an email sent through email.send and a real SMTP server carries the pixel, the
 * tracked links and the RFC 8058 headers; following them records the events through the
 * delivery-event library; tampered tokens, unsigned click URLs and unsigned webhooks are refused
 * and record nothing.
 */
const PUBLIC = 'https://track.example.com';
const TRACKING_SECRET = 'tracking-secret-for-the-tracking-test-0001';
const WEBHOOK_SECRET = 'webhook-secret-for-the-tracking-test-00001';

let ft: Fivetier;
let drop: () => Promise<void>;
let sink: SmtpSink;
let transport: MailTransport;
let app: FastifyInstance;

beforeAll(async () => {
  ({ ft, drop } = await openScratchFivetier('tracking', { redisUrl: undefined, tracking: { publicUrl: PUBLIC, secrets: [TRACKING_SECRET], webhookSecrets: [WEBHOOK_SECRET] } }));
  sink = await SmtpSink.start();
  transport = createMailTransport({ smtpUrl: sink.url, mailDir: '/nonexistent' });
  app = await buildServer({ fivetier: ft });
});
afterAll(async () => {
  await app?.close();
  transport?.close();
  await sink?.close();
  await ft?.close();
  await drop?.();
});

/** One campaign email to `recipient`, sent through email.send to the SMTP sink. */
async function sentEmail(recipient: string): Promise<{ tenantId: string; emailId: string; html: string; headers: Map<string, string> }> {
  const tenantId = await createTenant(ft);
  const template = await createTemplate(ft, tenantId, {
    name: 't',
    subject: 'Offer for {{ name }}',
    content: '<html><body><p>Dear {{ name }}, see <a href="https://shop.example.com/offer?who={{ name }}&amp;x=1">the offer</a> or <a href="mailto:help@example.com">write</a>.</p></body></html>',
  });
  const leadIds = await importLeads(ft, tenantId, [{ email: recipient, name: 'Ada' }]);
  const campaign = await createCampaign(ft, tenantId, { name: 'c', templateId: template.id, leadIds });
  await startCampaign(ft, tenantId, campaign.id);
  await processCampaignHandler(ft)(jobContext(tenantId, JOB_TYPES.campaignProcess, { campaign_id: campaign.id }));
  const { rows } = await ft.oltp.withTenant(tenantId, (c) => c.query<{ id: string }>('select id from public.emails where campaign_id = $1', [campaign.id]));
  const emailId = rows[0]!.id;
  await sendEmailHandler(ft, { transport, defaultFrom: 'news@example.com' })(jobContext(tenantId, JOB_TYPES.emailSend, { email_id: emailId }));
  const mail = sink.to(recipient).at(-1)!;
  // The raw header lines, unfolded (mailparser turns List-* headers into objects of its own).
  const headers = new Map(mail.headerLines.map((h) => [h.key, h.line.slice(h.line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim()]));
  return { tenantId, emailId, html: String(mail.html), headers };
}

/** The path (and query) of a public URL, for app.inject. */
const pathOf = (url: string) => url.slice(PUBLIC.length);

/**
 * The delivery events recorded for an email, by type: its `delivery.event` outbox rows, one per
 * analytics event id (a repeat writes another row with the same id, which OLAP counts once).
 */
async function eventsOf(tenantId: string, emailId: string): Promise<string[]> {
  const { rows } = await ft.oltp.withTenant(tenantId, (c) =>
    c.query<{ type: string }>(
      `select payload->>'type' as type from public.outbox where job_type = $1 and payload->>'email_id' = $2 group by payload->>'type', payload->>'event_id' order by min(created_at)`,
      [JOB_TYPES.deliveryEvent, emailId],
    ),
  );
  return rows.map((r) => r.type);
}

async function suppression(tenantId: string, address: string): Promise<string | undefined> {
  const { rows } = await ft.oltp.withTenant(tenantId, (c) => c.query<{ reason: string }>('select reason from public.suppressions where address = $1', [address]));
  return rows[0]?.reason;
}

/** A token string with one character changed (still base64url). */
const tamper = (token: string, at: number) => token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);

describe('an email sent by the pipeline', () => {
  it('carries the open pixel, tracked links and the one-click unsubscribe headers', { timeout: 60_000 }, async () => {
    const { tenantId, emailId, html, headers } = await sentEmail('headers@example.com');
    expect(html).toMatch(new RegExp(`<img src="${PUBLIC}/v1/t/o/[A-Za-z0-9_-]+\\.gif"[^>]*></body>`));
    expect(html).toMatch(new RegExp(`<a href="${PUBLIC}/v1/t/c/[A-Za-z0-9_-]+">the offer</a>`));
    expect(html).toContain('<a href="mailto:help@example.com">');
    expect(html).not.toContain('shop.example.com');
    expect(headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(headers.get('list-unsubscribe')).toMatch(new RegExp(`^<${PUBLIC}/v1/t/u/[A-Za-z0-9_-]+>$`));
    // The content tier keeps the body as rendered; tracking is added to the message only.
    const { rows } = await ft.oltp.withTenant(tenantId, (c) => c.query<{ key: string }>('select content_storage_key as key from public.emails where id = $1', [emailId]));
    const stored = (await getContent(ft, tenantId, rows[0]!.key))?.content_html;
    expect(stored).toContain('<a href="https://shop.example.com/offer?who=Ada&amp;x=1">the offer</a>');
    expect(stored).not.toContain('/v1/t/');
  });
});

describe('the open pixel', () => {
  it('answers a 1x1 GIF and records the open once; a bad token gets the GIF and records nothing', { timeout: 60_000 }, async () => {
    const { tenantId, emailId, html } = await sentEmail('open@example.com');
    const pixel = /<img src="([^"]+)"/.exec(html)![1]!;
    const first = await app.inject({ method: 'GET', url: pathOf(pixel) });
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toBe('image/gif');
    expect(first.rawPayload.subarray(0, 6).toString()).toBe('GIF89a');
    expect(first.headers['cache-control']).toMatch(/no-store/);
    await app.inject({ method: 'GET', url: pathOf(pixel) });
    expect(await eventsOf(tenantId, emailId)).toEqual(['opened']);

    const token = /\/v1\/t\/o\/([A-Za-z0-9_-]+)\.gif/.exec(pixel)![1]!;
    const other = await sentEmail('open2@example.com');
    for (const bad of [`/v1/t/o/${tamper(token, 20)}.gif`, '/v1/t/o/nonsense.gif', '/v1/t/o/', `/v1/t/o/${token.slice(0, -2)}.gif`]) {
      const res = await app.inject({ method: 'GET', url: bad });
      expect(res.statusCode, bad).toBe(200);
      expect(res.headers['content-type']).toBe('image/gif');
    }
    expect(await eventsOf(other.tenantId, other.emailId)).toEqual([]);
    expect(await eventsOf(tenantId, emailId)).toEqual(['opened']);
  });
});

describe('a click', () => {
  it('redirects to the signed URL only, and records the click', { timeout: 60_000 }, async () => {
    const { tenantId, emailId, html } = await sentEmail('click@example.com');
    const link = /<a href="([^"]+)">the offer/.exec(html)![1]!;
    const res = await app.inject({ method: 'GET', url: pathOf(link) });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('https://shop.example.com/offer?who=Ada&x=1');
    expect(await eventsOf(tenantId, emailId)).toEqual(['clicked']);
    // Followed again: another redirect, still one click (unique per email).
    expect((await app.inject({ method: 'GET', url: pathOf(link) })).statusCode).toBe(302);
    expect(await eventsOf(tenantId, emailId)).toEqual(['clicked']);
  });

  it('refuses a tampered token, a URL signed by another secret, a token of another kind, and an appended target', { timeout: 60_000 }, async () => {
    const { tenantId, emailId, html, headers } = await sentEmail('refuse@example.com');
    const token = /\/v1\/t\/c\/([A-Za-z0-9_-]+)"/.exec(html)![1]!;
    const openToken = /\/v1\/t\/o\/([A-Za-z0-9_-]+)\.gif/.exec(html)![1]!;
    const unsubToken = /\/v1\/t\/u\/([A-Za-z0-9_-]+)/.exec(headers.get('list-unsubscribe')!)![1]!;
    const forged = signToken(signingKey('someone-else-s-secret-of-enough-length'), { kind: 'click', tenantId, emailId, url: 'https://evil.example/' });
    const cases = [
      `/v1/t/c/${tamper(token, 10)}`,
      `/v1/t/c/${tamper(token, token.length - 3)}`,
      `/v1/t/c/${forged}`,
      `/v1/t/c/${openToken}`,
      `/v1/t/c/${unsubToken}`,
      `/v1/t/c/${token}?url=https://evil.example/`.replace('?', '/'),
      `/v1/t/c/?url=https://evil.example/`,
      `/v1/t/c/https://evil.example/`,
      `/v1/t/c/${Buffer.from('https://evil.example/').toString('base64url')}`,
    ];
    for (const url of cases) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, url).toBeLessThan(500);
      expect(res.headers.location, url).toBeUndefined();
    }
    expect((await app.inject({ method: 'GET', url: `/v1/t/c/${forged}` })).json().code).toBe('FT_ERR_TRACKING_TOKEN_INVALID');
    // A query string is not part of the token: the redirect goes to the signed URL regardless.
    const withQuery = await app.inject({ method: 'GET', url: `/v1/t/c/${token}?url=https://evil.example/` });
    expect(withQuery.statusCode).toBe(302);
    expect(withQuery.headers.location).toBe('https://shop.example.com/offer?who=Ada&x=1');
    expect(await eventsOf(tenantId, emailId)).toEqual(['clicked']);
  });
});

describe('one-click unsubscribe', () => {
  it('GET shows a confirmation and changes nothing; POST List-Unsubscribe=One-Click suppresses the address', { timeout: 60_000 }, async () => {
    const { tenantId, emailId, headers } = await sentEmail('unsub@example.com');
    const url = /(https:[^>"]+\/v1\/t\/u\/[A-Za-z0-9_-]+)/.exec(headers.get('list-unsubscribe')!)![1]!;
    const page = await app.inject({ method: 'GET', url: pathOf(url) });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('<form method="post">');
    expect(await suppression(tenantId, 'unsub@example.com')).toBeUndefined();

    const noBody = await app.inject({ method: 'POST', url: pathOf(url), headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'x=1' });
    expect(noBody.statusCode).toBe(400);
    const tampered = await app.inject({ method: 'POST', url: pathOf(url).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' });
    expect(tampered.statusCode).toBe(404);
    expect(await suppression(tenantId, 'unsub@example.com')).toBeUndefined();

    // What a mailbox provider sends (RFC 8058 section 3.2).
    const done = await app.inject({ method: 'POST', url: pathOf(url), headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' });
    expect(done.statusCode).toBe(200);
    expect(await suppression(tenantId, 'unsub@example.com')).toBe('unsubscribe');
    expect(await eventsOf(tenantId, emailId)).toEqual(['unsubscribed']);
    // Again, as multipart: still 200, still one suppression.
    const boundary = 'xyz';
    const multipart = `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`;
    const again = await app.inject({ method: 'POST', url: pathOf(url), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, payload: multipart });
    expect(again.statusCode).toBe(200);
  });
});

describe('the delivery-event webhook', () => {
  const post = (payload: string, signature?: string) =>
    app.inject({ method: 'POST', url: '/v1/webhooks/delivery-events', headers: { 'content-type': 'application/json', ...(signature ? { 'fivetier-signature': signature } : {}) }, payload });

  it('refuses unsigned, badly signed and stale requests with 401 and records nothing', { timeout: 60_000 }, async () => {
    const { tenantId, emailId } = await sentEmail('unsigned@example.com');
    const body = JSON.stringify({ tenant_id: tenantId, email_id: emailId, type: 'bounced', bounce: 'hard', event_id: 'esp-1' });
    const cases: [string | undefined, string][] = [
      [undefined, 'missing'],
      ['t=1,v1=abc', 'malformed'],
      [signWebhook('not-the-webhook-secret-but-long-enough', body), 'mismatch'],
      [signWebhook(WEBHOOK_SECRET, `${body} `), 'mismatch'],
      [signWebhook(WEBHOOK_SECRET, body, new Date(Date.now() - 10 * 60_000)), 'expired'],
      [signWebhook(TRACKING_SECRET, body), 'mismatch'],
    ];
    for (const [signature, why] of cases) {
      const res = await post(body, signature);
      expect(res.statusCode, why).toBe(401);
      expect(res.json().code).toBe('FT_ERR_WEBHOOK_SIGNATURE');
      expect(res.json().message).toContain(why);
    }
    expect(await eventsOf(tenantId, emailId)).toEqual([]);
    expect(await suppression(tenantId, 'unsigned@example.com')).toBeUndefined();
  });

  it('records a signed hard bounce and a complaint, once each, and answers per event', { timeout: 60_000 }, async () => {
    const a = await sentEmail('bounce@example.com');
    const b = await sentEmail('complaint@example.com');
    const body = JSON.stringify({
      events: [
        { tenant_id: a.tenantId, email_id: a.emailId, type: 'bounced', bounce: 'hard', event_id: 'esp-b1', occurred_at: new Date().toISOString() },
        { tenant_id: b.tenantId, email_id: b.emailId, type: 'complaint', event_id: 'esp-c1' },
        { tenant_id: a.tenantId, email_id: b.emailId, type: 'complaint', event_id: 'esp-c2' }, // b's email under a's tenant: no such email there
      ],
    });
    const res = await post(body, signWebhook(WEBHOOK_SECRET, body));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().results.map((r: { outcome: string }) => r.outcome)).toEqual(['recorded', 'recorded', 'unknown_email']);
    const { rows } = await ft.oltp.withTenant(a.tenantId, (c) => c.query('select status from public.emails where id = $1', [a.emailId]));
    expect(rows[0].status).toBe('bounced');
    expect(await suppression(a.tenantId, 'bounce@example.com')).toBe('bounce');
    expect(await suppression(b.tenantId, 'complaint@example.com')).toBe('complaint');
    // The provider retries the same delivery: accepted again, the events stay one each.
    const retry = await post(body, signWebhook(WEBHOOK_SECRET, body));
    expect(retry.statusCode).toBe(200);
    expect(await eventsOf(a.tenantId, a.emailId)).toEqual(['bounced']);
    expect(await eventsOf(b.tenantId, b.emailId)).toEqual(['complaint']);
  });

  it('answers 400 naming the field for a signed but malformed body, recording nothing', { timeout: 60_000 }, async () => {
    const a = await sentEmail('malformed@example.com');
    for (const body of [
      '{',
      '[]',
      JSON.stringify({ events: [] }),
      JSON.stringify({ tenant_id: a.tenantId, email_id: a.emailId, type: 'bounced' }),
      JSON.stringify({ events: [{ tenant_id: a.tenantId, email_id: a.emailId, type: 'complaint' }, { tenant_id: 'x', email_id: a.emailId, type: 'complaint' }] }),
      JSON.stringify({ tenant_id: a.tenantId, email_id: a.emailId, type: 'exploded' }),
    ]) {
      const res = await post(body, signWebhook(WEBHOOK_SECRET, body));
      expect(res.statusCode, body).toBe(400);
      expect(res.json().code).toBe('FT_ERR_INPUT_INVALID');
    }
    expect(await eventsOf(a.tenantId, a.emailId)).toEqual([]);
  });

  it('uses the secrets the service resolved (nothing generated when both are set)', () => {
    expect(trackingSecrets(ft.config).source).toEqual({ tracking: 'setting', webhook: 'setting' });
  });
});

describe('rate limits', () => {
  it('never refuse a tracking link (image proxies fetch for many readers from one address); the webhook is limited like the API', { timeout: 60_000 }, async () => {
    const limited = await buildServer({ fivetier: ft, rateLimit: { max: 2, windowMs: 60_000 } });
    try {
      const { html } = await sentEmail('limits@example.com');
      const pixel = pathOf(/<img src="([^"]+)"/.exec(html)![1]!);
      const link = pathOf(/<a href="([^"]+)">the offer/.exec(html)![1]!);
      for (let i = 0; i < 5; i++) {
        expect((await limited.inject({ method: 'GET', url: pixel })).statusCode).toBe(200);
        expect((await limited.inject({ method: 'GET', url: link })).statusCode).toBe(302);
      }
      const codes = [];
      for (let i = 0; i < 3; i++) codes.push((await limited.inject({ method: 'POST', url: '/v1/webhooks/delivery-events', headers: { 'content-type': 'application/json' }, payload: '{}' })).statusCode);
      expect(codes).toEqual([401, 401, 429]);
    } finally {
      await limited.close();
    }
  });
});
