import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileTemplate, renderEmail } from '../../src/email/render.js';
import { createMailTransport } from '../../src/email/transport.js';
import { SmtpSink } from '../helpers/smtp-sink.js';

describe('email templates', () => {
  it("escape the recipient's variables in the body, and keep the subject to one line", async () => {
    const t = compileTemplate({ subject: 'Hi {{ name }}', content: '<p>Hello {{ name }} from {{ company }}</p>' });
    const out = await renderEmail(t, { name: '<script>alert(1)</script>', company: 'A & B "Co"' });
    expect(out.html).toBe('<p>Hello &lt;script&gt;alert(1)&lt;/script&gt; from A &amp; B &#34;Co&#34;</p>');
    const injected = await renderEmail(compileTemplate({ subject: 'Hi {{ name }}', content: '' }), { name: 'x\r\nBcc: victim@example.com' });
    expect(injected.subject).toBe('Hi x Bcc: victim@example.com');
  });

  it('refuse a template that does not parse, naming the part', () => {
    expect(() => compileTemplate({ subject: 'ok', content: '{% if name %}unclosed' })).toThrow(/template content/);
    expect(() => compileTemplate({ subject: '{{ name | no_such_filter }}', content: '' })).toThrow(/template subject/);
  });

  it('read only the variables given, never their prototype', async () => {
    const out = await renderEmail(compileTemplate({ subject: '', content: '[{{ name.constructor }}][{{ missing }}]' }), { name: 'Ada' });
    expect(out.html).toBe('[][]');
  });
});

describe('the mail transport', () => {
  let sink: SmtpSink;
  const dir = mkdtempSync(`${tmpdir()}/fivetier-mail-`);
  beforeAll(async () => {
    sink = await SmtpSink.start();
  });
  afterAll(async () => {
    await sink?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers over SMTP with a Message-ID derived from the email id', async () => {
    const transport = createMailTransport({ smtpUrl: sink.url, mailDir: dir });
    try {
      const id = randomUUID();
      const delivery = await transport.send({ id, from: 'sender@example.com', to: 'ada@example.com', subject: 'Hi', html: '<p>caf\u00e9</p>', headers: { 'List-Unsubscribe': '<https://example.com/u>' } });
      expect(delivery.accepted).toEqual(['ada@example.com']);
      const [mail] = sink.to('ada@example.com');
      expect(mail?.messageId).toBe(`<${id}@fivetier>`);
      expect(String(mail?.html).trim()).toBe('<p>caf\u00e9</p>');
      expect(mail?.headerLines.find((h) => h.key === 'list-unsubscribe')?.line).toBe('List-Unsubscribe: <https://example.com/u>');
    } finally {
      transport.close();
    }
  });

  it('without SMTP, writes one private .eml file per email, named by its id', async () => {
    const transport = createMailTransport({ mailDir: `${dir}/eml` });
    const id = randomUUID();
    await transport.send({ id, from: 'sender@example.com', to: 'bob@example.com', subject: 'Hi', html: '<p>x</p>' });
    expect(readdirSync(`${dir}/eml`)).toEqual([`${id}.eml`]);
    expect(statSync(`${dir}/eml/${id}.eml`).mode & 0o077).toBe(0);
    expect(readFileSync(`${dir}/eml/${id}.eml`, 'utf8')).toMatch(/^To: bob@example.com$/m);
    await expect(transport.send({ id: '../escape', from: 'a@example.com', to: 'b@example.com', subject: '', html: '' })).rejects.toThrow(/uuid/);
  });
});
