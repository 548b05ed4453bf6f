import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { suppressAddress } from '../../src/campaigns/campaigns.js';
import { sendEmailHandler } from '../../src/email/send-job.js';
import { sendEmailOnce } from '../../src/email/send-once.js';
import { createMailTransport, type MailTransport } from '../../src/email/transport.js';
import { JOB_TYPES } from '../../src/jobs/built-in.js';
import type { Fivetier } from '../../src/platform.js';
import { createTenant } from '../helpers/cross-tier.js';
import { openTestFivetier } from '../helpers/platform.js';
import { jobContext } from './deliver-fixture.js';

/**
 * email.send on single sends with the embedded default's transport (.eml files): the stored body
 * goes out as given, once however often the job runs; a suppressed address and a body that is
 * gone send nothing, and only a sent email queues its tracking.
 */
describe('email.send on single sends, into .eml files', () => {
  let ft: Fivetier;
  let dir: string;
  let transport: MailTransport;
  const send = (tenantId: string, emailId: string) => sendEmailHandler(ft, { transport, defaultFrom: 'hello@example.com' })(jobContext(tenantId, JOB_TYPES.emailSend, { email_id: emailId }));
  const status = async (tenantId: string, id: string) => (await ft.oltp.withTenant(tenantId, (c) => c.query<{ status: string }>('select status from public.emails where id = $1', [id]))).rows[0]!.status;
  const trackRows = async (tenantId: string) =>
    (await ft.oltp.withTenant(tenantId, (c) => c.query<{ payload: unknown }>("select payload from public.outbox where job_type = 'track_email_sent' order by created_at"))).rows.map((r) => r.payload);

  beforeAll(async () => {
    ft = await openTestFivetier();
    dir = mkdtempSync(join(tmpdir(), 'single-eml-'));
    transport = createMailTransport({ mailDir: dir });
  });
  afterAll(async () => {
    transport?.close();
    await ft?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the stored body once; suppressed and bodiless emails send nothing', async () => {
    const tenantId = await createTenant(ft);
    const tag = randomUUID().slice(0, 8);
    const { emailId } = await sendEmailOnce(ft, { tenantId, recipient: `eve-${tag}@example.com`, subject: 'Plain', body: 'Line one\nLine <two>' });
    await send(tenantId, emailId);
    await send(tenantId, emailId); // a second run finds it sent
    expect(await status(tenantId, emailId)).toBe('sent');
    expect(readdirSync(dir).filter((f) => f.startsWith(emailId))).toEqual([`${emailId}.eml`]);
    const eml = readFileSync(join(dir, `${emailId}.eml`), 'utf8');
    expect(eml).toMatch(/Subject: Plain/);
    expect(eml).toMatch(/Line one\r?\nLine <two>/); // the text part, as given
    expect(eml).toContain('Line &lt;two&gt;'); // the HTML part, escaped
    expect(await trackRows(tenantId)).toEqual([{ email_ids: [emailId] }]);

    const suppressed = `sam-${tag}@example.com`;
    await suppressAddress(ft, tenantId, suppressed, 'unsubscribe');
    const s = await sendEmailOnce(ft, { tenantId, recipient: suppressed, subject: 'No', body: 'not sent' });
    await send(tenantId, s.emailId);
    expect(await status(tenantId, s.emailId)).toBe('suppressed');

    const g = await sendEmailOnce(ft, { tenantId, recipient: `gus-${tag}@example.com`, subject: 'Gone', body: 'erased' });
    const key = (await ft.oltp.withTenant(tenantId, (c) => c.query<{ k: string }>('select content_storage_key as k from public.emails where id = $1', [g.emailId]))).rows[0]!.k;
    await ft.content.withTenant(tenantId, (c) => c.query('delete from public.content_objects where storage_key = $1', [key])); // erased or expired
    await send(tenantId, g.emailId);
    expect(await status(tenantId, g.emailId)).toBe('failed');

    expect(readdirSync(dir).filter((f) => f.endsWith('.eml'))).toHaveLength(1);
    expect(await trackRows(tenantId)).toEqual([{ email_ids: [emailId] }]);
  });
});
