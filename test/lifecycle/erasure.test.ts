import { createHash, randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { recordEvent } from '../../src/analytics/record-events.js';
import { addressHash, createCampaign, createTemplate, importLeads, startCampaign, suppressAddress } from '../../src/campaigns/campaigns.js';
import { getContent } from '../../src/content/read.js';
import { checkConsistency } from '../../src/cross-tier/consistency-checker.js';
import { DatabaseTransaction } from '../../src/cross-tier/database-transaction.js';
import { newStorageKey } from '../../src/cross-tier/storage-key.js';
import { recordDeliveryEvent } from '../../src/email/delivery-events.js';
import { eraseRecipient, eraseTenant } from '../../src/lifecycle/erasure.js';
import { createNotification } from '../../src/notifications/in-app.js';
import type { Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { recordAdminEvent } from '../../src/tiers/notifications/admin-events.js';
import { SYSTEM_TENANT_ID, type TierName } from '../../src/types.js';
import { createTenant, openScratchFivetier } from '../helpers/cross-tier.js';
import { testRedisPrefix } from '../helpers/platform.js';
import { spawnScript, waitForOutput } from '../helpers/processes.js';
import { scanRedis, scanTiers, tenantRowsEverywhere, type Hit } from './scan.js';

/**
 * Right to erasure (issue 12, must-show 2 and 3). Each recipient gets what the platform writes
 * for one: a lead in a campaign, emails with bodies, headers and an attachment in the content
 * tier, jobs whose payloads and logs name it, a delivery event, a suppression, per-lead OLAP
 * facts, notifications and admin events and an audit note that mention it, and BullMQ entries
 * in Redis (a dispatched copy of its job, and a job a script added with the address in its
 * data). The checks read every text, JSON and bytea column of every table of every tier as the
 * admin, and every Redis key, driven by the catalog, not by a list of what erasure touches.
 */
const redisUrl = inject('redisUrl');

interface Seeded {
  leadId: string;
  emailIds: string[];
  jobId: string;
}

async function seedRecipient(ft: Fivetier, tenantId: string, address: string, prefix: string): Promise<Seeded> {
  const [leadId] = await importLeads(ft, tenantId, [{ email: address, name: 'Ada' }]);
  const template = await createTemplate(ft, tenantId, { name: `t-${address}`, subject: 'Hello {{ name }}', content: '<p>Dear {{ name }}</p>' });
  const campaign = await createCampaign(ft, tenantId, { name: `c-${address}`, templateId: template.id, leadIds: [leadId!] });
  await startCampaign(ft, tenantId, campaign.id);

  // An email with its body, headers and an attachment, as the campaign pipeline writes them.
  const storageKey = newStorageKey();
  const tx = new DatabaseTransaction({ fivetier: ft, tenantId });
  const email = await tx.insertOLTP<{ id: string }>('emails', { tenant_id: tenantId, campaign_id: campaign.id, lead_id: leadId, recipient: address, subject: 'Hello Ada', content_storage_key: storageKey, status: 'sent' });
  await tx.insertContent('content_objects', { tenant_id: tenantId, storage_key: storageKey, content_html: `<p>Dear Ada (${address})</p>`, content_text: `Dear Ada (${address})`, headers: { To: address, Subject: 'Hello Ada' } });
  await tx.insertContent('attachments', { tenant_id: tenantId, parent_storage_key: storageKey, filename: 'card.vcf', mime_type: 'text/vcard', size_bytes: 40, content: Buffer.from(`BEGIN:VCARD\nEMAIL:${address}\nEND:VCARD`) });
  await tx.insertQueue('job_queue', { job_type: 'track_email_sent', payload: { email_id: email.id }, scheduled_at: new Date() });
  await tx.commit();
  await recordDeliveryEvent(ft, tenantId, { emailId: email.id, type: 'unsubscribed' });
  await suppressAddress(ft, tenantId, address, 'unsubscribe');

  // A job whose payload holds the address, and a failed attempt whose error names it.
  const job = await enqueue(ft.queue, tenantId, { type: 'custom.welcome', payload: { to: address, email_id: email.id } });
  await ft.queue.withMaintenance(async (c) => {
    await c.query(`update public.jobs set status = 'dead', failed_at = now(), attempts = 1, last_error = $3 where tenant_id = $1 and id = $2`, [tenantId, job!.id, `550 5.1.1 <${address}>: mailbox unavailable`]);
    await c.query(`insert into public.job_logs (tenant_id, job_id, status, message, attempt) values ($1, $2, 'failed', $3, 1)`, [tenantId, job!.id, `550 5.1.1 <${address}>: mailbox unavailable`]);
  });

  await recordEvent(ft, { eventId: randomUUID(), tenantId, type: 'sent', campaignId: campaign.id, leadId: leadId!, occurredAt: new Date() });
  await createNotification(ft, tenantId, { userId: randomUUID(), type: 'BOUNCE', title: `Bounce from ${address}`, message: `${address} unsubscribed`, data: { address } });
  await recordAdminEvent(ft, { eventType: 'delivery.rejected', severity: 'low', description: `relay refused ${address}`, details: { address } });
  await ft.olap.withMaintenance((c) =>
    c.query(`insert into public.admin_audit_log (tenant_id, admin_user_id, action, resource_type, resource_id, notes, old_values) values ($1, $2, 'export', 'lead', $3, $4, $5)`, [
      tenantId,
      SYSTEM_TENANT_ID,
      leadId,
      `exported lead ${address}`,
      JSON.stringify({ email: address }),
    ]),
  );

  if (redisUrl) {
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    const q = new Queue('email-sending', { connection: redis, prefix });
    // A fivetier copy of the recipient's job, and an entry a script added the plain BullMQ way.
    await q.add('custom.welcome', { t: tenantId, i: job!.id }, { jobId: `${tenantId}_${job!.id}_0` });
    await q.add('script.import', { to: address, note: 'added by hand' });
    await q.close();
    redis.disconnect();
  }
  return { leadId: leadId!, emailIds: [email.id], jobId: job!.id };
}

/** Per table and column, the rows holding `needle`, as a comparable map. */
const asMap = (hits: Hit[]) => Object.fromEntries(hits.map((h) => [`${h.tier}.${h.table}.${h.column}`, h.rows]));

describe('erasing a recipient address', () => {
  let ft: Fivetier;
  let urls: Record<TierName, string>;
  let env: Record<string, string>;
  let drop: () => Promise<void>;
  const prefix = testRedisPrefix();

  beforeAll(async () => {
    ({ ft, urls, env, drop } = await openScratchFivetier('erase', { redisUrl: redisUrl || undefined }));
  });
  afterAll(async () => drop?.());

  it('removes the address from every tier and Redis, keeps the suppression as a hash, leaves other recipients alone, and finishes after a crash', { timeout: 120_000 }, async () => {
    const tenantId = await createTenant(ft);
    const tag = randomUUID().slice(0, 8);
    const victim = `Ada.Victim-${tag}@Example.com`;
    const other = `grace-${tag}@example.com`;
    await seedRecipient(ft, tenantId, victim, prefix);
    const kept = await seedRecipient(ft, tenantId, other, prefix);
    // A third recipient's email that copies the victim: it stays, without the victim's address.
    const ccKey = newStorageKey();
    const cc = new DatabaseTransaction({ fivetier: ft, tenantId });
    const ccEmail = await cc.insertOLTP<{ id: string }>('emails', { tenant_id: tenantId, recipient: `bob-${tag}@example.com`, subject: 'Minutes', content_storage_key: ccKey, status: 'sent' });
    await cc.insertContent('content_objects', { tenant_id: tenantId, storage_key: ccKey, content_html: `<p>Bob, see ${victim} in Cc.</p>`, headers: { To: `bob-${tag}@example.com`, Cc: victim } });
    await cc.commit();

    // The seed reached every tier, and Redis.
    const before = await scanTiers(urls, victim);
    expect(new Set(before.map((h) => h.tier))).toEqual(new Set(['oltp', 'content', 'olap', 'queue', 'notifications']));
    const otherBefore = asMap(await scanTiers(urls, other));
    if (redisUrl) expect((await scanRedis(redisUrl, victim)).length).toBeGreaterThan(0);

    // A first run is killed before its OLTP step: queue, Redis, notifications and OLAP are done, OLTP and content not.
    const child = spawnScript('test/lifecycle/fixtures/erase-child.ts', ['address', tenantId, victim, 'oltp', prefix], { ...env, ...(redisUrl ? { QUEUE_REDIS_URL: redisUrl } : {}) });
    await waitForOutput(child, /paused before oltp/);
    child.kill('SIGKILL');
    expect((await child.ended).signal).toBe('SIGKILL');
    const pending = await ft.oltp.withMaintenance((c) => c.query('select step, kind from public.erasures where tenant_id = $1', [tenantId]));
    expect(pending.rows).toEqual([{ step: 'oltp', kind: 'address' }]);
    const midway = await scanTiers(urls, victim);
    expect(midway.some((h) => h.tier === 'oltp')).toBe(true);
    expect(midway.some((h) => h.tier === 'queue' || h.tier === 'notifications')).toBe(false);

    // The second run resumes and finishes.
    const report = await eraseRecipient(ft, tenantId, victim.toUpperCase(), { redisPrefix: prefix });
    expect(report.resumedAt).toBe('oltp');
    expect(report.counts['oltp.emails']).toBe(1);
    expect(report.counts['oltp.leads']).toBe(1);
    expect(report.counts['content.kept_referenced']).toBe(1);
    expect(report.counts['content.bodies_redacted']).toBe(1);

    expect(await scanTiers(urls, victim)).toEqual([]);
    if (redisUrl) expect(await scanRedis(redisUrl, victim)).toEqual([]);
    if (redisUrl) expect(await scanRedis(redisUrl, `${tenantId}_${kept.jobId}`)).toContain(`${prefix}:email-sending:${tenantId}_${kept.jobId}_0`);

    // Other recipients: every row that named them still does.
    expect(asMap(await scanTiers(urls, other))).toEqual(otherBefore);
    // The copied email keeps its content, redacted, and every key still resolves (I1).
    const ccRow = await ft.oltp.withMaintenance((c) => c.query('select content_storage_key from public.emails where tenant_id = $1 and id = $2', [tenantId, ccEmail.id]));
    expect(ccRow.rows).toEqual([{ content_storage_key: ccKey }]);
    const ccContent = await getContent(ft, tenantId, ccKey);
    expect(ccContent?.content_html).toBe('<p>Bob, see [erased] in Cc.</p>');
    expect(ccContent?.headers).toEqual({ To: `bob-${tag}@example.com`, Cc: '[erased]' });
    expect((await checkConsistency(ft, { tenantId, record: false })).findings.I1.count).toBe(0);

    // The suppression survives as the hash alone; the erasure is audited by hash, without the address.
    const supp = await ft.oltp.withMaintenance((c) => c.query('select address_hash, address from public.suppressions where tenant_id = $1 order by address nulls first', [tenantId]));
    expect(supp.rows).toEqual([
      { address_hash: addressHash(victim), address: null },
      { address_hash: addressHash(other), address: other },
    ]);
    const audit = await ft.olap.withMaintenance((c) => c.query(`select action, resource_type, resource_id from public.admin_audit_log where tenant_id = $1 and action = 'erase'`, [tenantId]));
    expect(audit.rows).toEqual([{ action: 'erase', resource_type: 'recipient', resource_id: addressHash(victim).toString('hex') }]);
    const left = await ft.oltp.withMaintenance((c) => c.query('select count(*)::int as n from public.erasures where tenant_id = $1', [tenantId]));
    expect(left.rows[0].n).toBe(0);

    // A later request is an erasure of its own: it finds nothing left, and is audited as a request of its own.
    await eraseRecipient(ft, tenantId, victim, { redisPrefix: prefix });
    expect((await ft.olap.withMaintenance((c) => c.query(`select count(*)::int as n from public.admin_audit_log where tenant_id = $1 and action = 'erase'`, [tenantId]))).rows[0].n).toBe(2);
  });

  it('refuses a bad address or tenant with FT_ERR_INPUT_INVALID / FT_ERR_TENANT_INVALID', async () => {
    await expect(eraseRecipient(ft, randomUUID(), 'not an address')).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID' });
    await expect(eraseRecipient(ft, 'nope', 'a@example.com')).rejects.toMatchObject({ code: 'FT_ERR_TENANT_INVALID' });
    await expect(eraseTenant(ft, SYSTEM_TENANT_ID)).rejects.toMatchObject({ code: 'FT_ERR_TENANT_INVALID' });
  });
});

describe('erasing a tenant', () => {
  let ft: Fivetier;
  let urls: Record<TierName, string>;
  let env: Record<string, string>;
  let drop: () => Promise<void>;
  const prefix = testRedisPrefix();

  beforeAll(async () => {
    ({ ft, urls, env, drop } = await openScratchFivetier('erase_tenant', { redisUrl: redisUrl || undefined }));
  });
  afterAll(async () => drop?.());

  it('leaves no row with its id in any tier, nor a Redis key, keeps the other tenant, and finishes after a crash', { timeout: 120_000 }, async () => {
    const doomed = await createTenant(ft);
    const survivor = await createTenant(ft);
    const tag = randomUUID().slice(0, 8);
    await seedRecipient(ft, doomed, `one-${tag}@example.com`, prefix);
    await seedRecipient(ft, doomed, `two-${tag}@example.com`, prefix);
    await seedRecipient(ft, survivor, `three-${tag}@example.com`, prefix);
    // A member of the doomed tenant only, whose user row holds personal data.
    await ft.oltp.withMaintenance(async (c) => {
      const u = await c.query(`insert into public.users (email, name) values ($1, 'Only Here') returning id`, [`member-${tag}@example.com`]);
      await c.query(`insert into public.tenant_users (tenant_id, user_id, email) values ($1, $2, $3)`, [doomed, u.rows[0].id, `member-${tag}@example.com`]);
    });

    const before = await tenantRowsEverywhere(urls, doomed);
    expect(new Set(before.map((h) => h.tier))).toEqual(new Set(['oltp', 'content', 'olap', 'queue', 'notifications']));
    const survivorBefore = asMap(await tenantRowsEverywhere(urls, survivor));

    const child = spawnScript('test/lifecycle/fixtures/erase-child.ts', ['tenant', doomed, 'content', prefix], { ...env, ...(redisUrl ? { QUEUE_REDIS_URL: redisUrl } : {}) });
    await waitForOutput(child, /paused before content/);
    child.kill('SIGKILL');
    await child.ended;
    // Killed between OLTP and content: the content left behind is an orphan, never a dangling key.
    expect((await tenantRowsEverywhere(urls, doomed)).map((h) => `${h.tier}.${h.table}`).sort()).toEqual(['content.attachments', 'content.content_bodies', 'content.content_objects', 'oltp.erasures']);

    const report = await eraseTenant(ft, doomed, { redisPrefix: prefix });
    expect(report.resumedAt).toBe('content');
    expect(await tenantRowsEverywhere(urls, doomed)).toEqual([]);
    expect(await scanTiers(urls, doomed)).toEqual([]);
    expect(await scanTiers(urls, `member-${tag}@example.com`)).toEqual([]);
    if (redisUrl) expect(await scanRedis(redisUrl, doomed)).toEqual([]);
    expect(asMap(await tenantRowsEverywhere(urls, survivor))).toEqual(survivorBefore);

    const hash = createHash('sha256').update(doomed).digest('hex');
    const audit = await ft.olap.withMaintenance((c) => c.query(`select tenant_id, resource_type from public.admin_audit_log where resource_id = $1`, [hash]));
    expect(audit.rows).toEqual([{ tenant_id: SYSTEM_TENANT_ID, resource_type: 'tenant' }]);
  });
});
