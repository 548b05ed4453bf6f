import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { insertPixel, rewriteLinks, trackEmail } from '../../src/tracking/outgoing.js';
import { GENERATED_SECRETS_FILE, trackingSecrets } from '../../src/tracking/secrets.js';
import { signingKey, signToken, verifyToken, type TrackingClaims } from '../../src/tracking/token.js';
import { checkWebhookSignature, signWebhook } from '../../src/tracking/webhook-signature.js';

const secretA = 'a'.repeat(40);
const secretB = 'b'.repeat(40);
const keyA = signingKey(secretA);
const keyB = signingKey(secretB);
const tenantId = randomUUID();
const emailId = randomUUID();

describe('tracking tokens', () => {
  const click: TrackingClaims = { kind: 'click', tenantId, emailId, url: 'https://example.com/offer?a=1&b=2#x' };

  it('verify to the claims they were signed with, for their own kind only', () => {
    const token = signToken(keyA, click);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(verifyToken([keyA], token, 'click')).toEqual(click);
    expect(verifyToken([keyA], token, 'open')).toBeUndefined();
    expect(verifyToken([keyA], token, 'unsubscribe')).toBeUndefined();
    const open = signToken(keyA, { kind: 'open', tenantId, emailId });
    expect(verifyToken([keyA], open, 'open')).toEqual({ kind: 'open', tenantId, emailId });
    expect(verifyToken([keyA], open, 'click')).toBeUndefined();
  });

  it('refuse any change to any byte, a cut or extended token, and a token of another secret', () => {
    const token = signToken(keyA, click);
    const raw = Buffer.from(token, 'base64url');
    for (let i = 0; i < raw.length; i++) {
      for (const flip of [0x01, 0x80]) {
        const changed = Buffer.from(raw);
        changed[i] = changed[i]! ^ flip;
        expect(verifyToken([keyA], changed.toString('base64url'), 'click'), `byte ${i} ^ ${flip}`).toBeUndefined();
      }
    }
    expect(verifyToken([keyA], token.slice(0, -1), 'click')).toBeUndefined();
    expect(verifyToken([keyA], `${token}A`, 'click')).toBeUndefined();
    expect(verifyToken([keyA], raw.subarray(0, raw.length - 32).toString('base64url'), 'click')).toBeUndefined();
    expect(verifyToken([keyB], token, 'click')).toBeUndefined();
    // A token signed with B but claiming A's key id.
    const forged = Buffer.from(signToken(keyB, click), 'base64url');
    keyA.id.copy(forged, 1);
    expect(verifyToken([keyA, keyB], forged.toString('base64url'), 'click')).toBeUndefined();
  });

  it('swapping the signed URL for another keeps nothing valid (no open redirect)', () => {
    const token = signToken(keyA, click);
    const raw = Buffer.from(token, 'base64url');
    const body = raw.subarray(0, 38);
    const mac = raw.subarray(raw.length - 32);
    const evil = Buffer.concat([body, Buffer.from('https://evil.example/'), mac]).toString('base64url');
    expect(verifyToken([keyA], evil, 'click')).toBeUndefined();
  });

  it('rotate: the old secret still verifies while listed, the new one signs', () => {
    const old = signToken(keyA, click);
    const fresh = signToken(keyB, click);
    expect(verifyToken([keyB, keyA], old, 'click')).toEqual(click);
    expect(verifyToken([keyB, keyA], fresh, 'click')).toEqual(click);
    expect(verifyToken([keyB], old, 'click')).toBeUndefined();
  });

  it('never throw on hostile input', () => {
    for (const bad of [undefined, null, 42, {}, [], '', 'x', '../../etc/passwd', "' or 1=1 --", '\u0000', '\ud800', 'A'.repeat(100_000), '%00', '=' .repeat(60), 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
      expect(verifyToken([keyA], bad, 'click')).toBeUndefined();
    }
  });

  it('refuse to sign what a route could not honour', () => {
    expect(() => signToken(keyA, { kind: 'click', tenantId, emailId, url: 'javascript:alert(1)' })).toThrow(TypeError);
    expect(() => signToken(keyA, { kind: 'click', tenantId, emailId })).toThrow(TypeError);
    expect(() => signToken(keyA, { kind: 'open', tenantId, emailId, url: 'https://example.com/' })).toThrow(TypeError);
    expect(() => signToken(keyA, { kind: 'open', tenantId: 'nope', emailId })).toThrow(TypeError);
  });
});

describe('tracking an outgoing email', () => {
  const config = loadConfig({}, { tracking: { secrets: [secretA], webhookSecrets: [secretB], publicUrl: 'https://t.example.com/' } });

  it('rewrites http(s) links to signed click links, leaves the rest, and adds the pixel before </body>', () => {
    const html = `<html><body><a href="https://example.com/a?x=1&amp;y=2">A</a> <a class='b' href='http://example.com/b'>B</a> <a href="mailto:x@example.com">m</a> <a href="#top">t</a> <a data-href="https://no.example/">d</a></body></html>`;
    const out = trackEmail(config, { tenantId, emailId }, html);
    const hrefs = [...out.html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!);
    expect(hrefs.slice(0, 2).every((h) => h.startsWith('https://t.example.com/v1/t/c/'))).toBe(true);
    expect(hrefs.slice(2)).toEqual(['mailto:x@example.com', '#top', 'https://no.example/']);
    const keys = trackingSecrets(config).tracking;
    expect(verifyToken(keys, hrefs[0]!.split('/').pop(), 'click')?.url).toBe('https://example.com/a?x=1&y=2');
    expect(verifyToken(keys, hrefs[1]!.split('/').pop(), 'click')?.url).toBe('http://example.com/b');
    expect(out.html).toMatch(/<img src="https:\/\/t\.example\.com\/v1\/t\/o\/[A-Za-z0-9_-]+\.gif"[^>]*><\/body><\/html>$/);
    expect(out.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    const unsub = /^<https:\/\/t\.example\.com\/v1\/t\/u\/([A-Za-z0-9_-]+)>$/.exec(out.headers['List-Unsubscribe']!);
    expect(verifyToken(keys, unsub?.[1], 'unsubscribe')).toEqual({ kind: 'unsubscribe', tenantId, emailId });
    // The same email gives the same output: a retried send stores and sends the same body.
    expect(trackEmail(config, { tenantId, emailId }, html)).toEqual(out);
  });

  it('adds the mailto: part when an address is set, and tracks only what the setting says', () => {
    const c = loadConfig({ FIVETIER_TRACKING: 'clicks', FIVETIER_UNSUBSCRIBE_MAILTO: 'unsub@example.com' }, { tracking: { secrets: [secretA], webhookSecrets: [secretB] } });
    const out = trackEmail(c, { tenantId, emailId }, '<p><a href="https://example.com/">x</a></p>');
    expect(out.html).not.toMatch(/<img/);
    expect(out.html).toMatch(/\/v1\/t\/c\//);
    expect(out.headers['List-Unsubscribe']).toMatch(/^<http:\/\/127\.0\.0\.1:8080\/v1\/t\/u\/[A-Za-z0-9_-]+>, <mailto:unsub@example\.com\?subject=unsubscribe%20[A-Za-z0-9_-]+>$/);
    const none = loadConfig({ FIVETIER_TRACKING: 'none' }, { tracking: { secrets: [secretA], webhookSecrets: [secretB] } });
    const plain = trackEmail(none, { tenantId, emailId }, '<p><a href="https://example.com/">x</a></p>');
    expect(plain.html).toBe('<p><a href="https://example.com/">x</a></p>');
    expect(plain.headers['List-Unsubscribe']).toMatch(/\/v1\/t\/u\//);
  });

  it('helpers: the pixel goes at the end without </body>; a URL with non-ASCII is signed percent-encoded', () => {
    expect(insertPixel('<p>x</p>', 'https://t/o.gif')).toBe('<p>x</p><img src="https://t/o.gif" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" />');
    const seen: string[] = [];
    rewriteLinks('<a href="https://example.com/caf\u00e9 x">c</a>', (u) => (seen.push(u), 'https://t/c'));
    expect(seen).toEqual(['https://example.com/caf%C3%A9%20x']);
  });

  it('rejects short secrets and prints none', () => {
    expect(() => loadConfig({ FIVETIER_TRACKING_SECRET: 'short' })).toThrow(/FIVETIER_TRACKING_SECRET: secret 1 of 1 is 5 characters long/);
    expect(() => loadConfig({ FIVETIER_WEBHOOK_SECRET: `${secretA},tiny` })).toThrow(/FIVETIER_WEBHOOK_SECRET: secret 2 of 2/);
    const shown = [inspect(config, { depth: Infinity }), JSON.stringify(config), inspect(trackingSecrets(config), { depth: Infinity }), JSON.stringify(trackingSecrets(config))].join('\n');
    expect(shown).not.toContain(secretA);
    expect(shown).not.toContain(secretB);
  });
});

describe('generated secrets', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fivetier-tracking-secrets-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('are made once into the data folder, mode 0600, and read back by the next configuration', () => {
    const first = trackingSecrets(loadConfig({ FIVETIER_DATA_DIR: join(dataDir, 'data') }));
    const file = join(dataDir, 'data', GENERATED_SECRETS_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'data')).mode & 0o077).toBe(0);
    expect(first.source).toEqual({ tracking: 'generated', webhook: 'generated', file });
    const again = trackingSecrets(loadConfig({ FIVETIER_DATA_DIR: join(dataDir, 'data') }));
    expect(again.tracking[0]!.secret.equals(first.tracking[0]!.secret)).toBe(true);
    expect(again.webhook[0]!.equals(first.webhook[0]!)).toBe(true);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    expect(first.webhook[0]!.toString()).toBe(stored.webhookSecret);
    // A setting wins over the file.
    const set = trackingSecrets(loadConfig({ FIVETIER_DATA_DIR: join(dataDir, 'data'), FIVETIER_TRACKING_SECRET: secretA }));
    expect(set.tracking[0]!.secret.toString()).toBe(secretA);
    expect(set.source.tracking).toBe('setting');
  });

  it('a damaged file stops with a message naming it and no secret', () => {
    const dir = join(dataDir, 'broken');
    trackingSecrets(loadConfig({ FIVETIER_DATA_DIR: dir }));
    const file = join(dir, GENERATED_SECRETS_FILE);
    rmSync(file);
    writeFileSync(file, '{"trackingSecret": 1');
    expect(() => trackingSecrets(loadConfig({ FIVETIER_DATA_DIR: dir }))).toThrow(/tracking-secrets\.json is not valid JSON/);
  });
});

describe('webhook signatures', () => {
  const secrets = [Buffer.from(secretA), Buffer.from(secretB)];
  const body = Buffer.from('{"tenant_id":"x"}');
  const now = new Date('2026-01-01T00:00:00Z');

  it('accept a signature by any configured secret within 5 minutes, and nothing else', () => {
    expect(checkWebhookSignature(secrets, signWebhook(secretA, body, now), body, now)).toBeUndefined();
    expect(checkWebhookSignature(secrets, signWebhook(secretB, body, now), body, new Date(now.getTime() + 299_000))).toBeUndefined();
    expect(checkWebhookSignature(secrets, signWebhook(secretA, body, now), body, new Date(now.getTime() + 301_000))).toBe('expired');
    expect(checkWebhookSignature(secrets, signWebhook(secretA, body, now), body, new Date(now.getTime() - 301_000))).toBe('expired');
    expect(checkWebhookSignature(secrets, signWebhook('c'.repeat(40), body, now), body, now)).toBe('mismatch');
    expect(checkWebhookSignature(secrets, signWebhook(secretA, body, now), Buffer.from('{"tenant_id":"y"}'), now)).toBe('mismatch');
    // The timestamp is signed: moving it breaks the signature.
    const moved = signWebhook(secretA, body, now).replace(/^t=(\d+)/, (_m, t: string) => `t=${Number(t) + 1}`);
    expect(checkWebhookSignature(secrets, moved, body, now)).toBe('mismatch');
    // Rotation on the sender's side: two v1 entries, one good.
    const two = `${signWebhook('c'.repeat(40), body, now)},${signWebhook(secretA, body, now).split(',')[1]}`;
    expect(checkWebhookSignature(secrets, two, body, now)).toBeUndefined();
  });

  it('refuse missing and malformed headers without throwing', () => {
    expect(checkWebhookSignature(secrets, undefined, body, now)).toBe('missing');
    expect(checkWebhookSignature(secrets, '', body, now)).toBe('missing');
    for (const bad of ['t=1', 'v1=00', 't=abc,v1=zz', ['t=1'], 'x'.repeat(5000), `t=${Math.floor(now.getTime() / 1000)},v1=${'0'.repeat(63)}`]) {
      expect(checkWebhookSignature(secrets, bad, body, now)).toBe('malformed');
    }
  });
});
