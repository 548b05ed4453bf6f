import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignStats } from '../../src/analytics/index.js';
import { trackEmailSentHandler } from '../../src/analytics/track-job.js';
import { JOB_TYPES } from '../../src/jobs/built-in.js';
import { listNotifications } from '../../src/notifications/index.js';
import type { Fivetier } from '../../src/platform.js';
import type { JobContext } from '../../src/queue/worker.js';
import { tenantUserInvite } from '../../src/tiers/oltp/queries/users.js';
import { createTenant } from '../helpers/cross-tier.js';
import { openTestFivetier } from '../helpers/platform.js';
import { joinedUser } from '../helpers/tenant-users.js';

/**
 * The track_email_sent handler against real OLTP, OLAP and Notifications databases: a sent
 * email counts once however often its job runs, and the plan's monthly quota warns the
 * tenant's joined users once at 80% and once at 100%.
 */
const QUOTA = 5;

describe('track_email_sent', () => {
  let ft: Fivetier;
  let tenantId: string;
  let ownerId: string;
  let invitedId: string;
  const campaignId = randomUUID();

  beforeAll(async () => {
    ft = await openTestFivetier();
    tenantId = await createTenant(ft);
    const planId = randomUUID();
    await ft.oltp.withMaintenance((c) =>
      c.query("insert into public.plans (id, name, slug, max_emails_per_month) values ($1, 'Tiny', $2, $3)", [planId, `tiny-${planId}`, QUOTA]),
    );
    await ft.oltp.withTenant(tenantId, (c) => c.query("insert into public.subscriptions (tenant_id, plan_id, status) values ($1, $2, 'active')", [tenantId, planId]));
    ownerId = await joinedUser(ft, tenantId, `owner-${planId.slice(0, 8)}@example.com`);
    // why: an invitation not yet accepted must not be told about the tenant's usage
    invitedId = await ft.oltp.withTenant(tenantId, (c) => tenantUserInvite(c, `invited-${planId.slice(0, 8)}@example.com`));
  });
  afterAll(async () => {
    await ft?.close();
  });

  async function sentEmail(): Promise<string> {
    const id = randomUUID();
    await ft.oltp.withTenant(tenantId, (c) =>
      c.query("insert into public.emails (id, tenant_id, campaign_id, lead_id, recipient, status, sent_at) values ($1, $2, $3, $4, 'x@example.com', 'sent', now())", [id, tenantId, campaignId, randomUUID()]),
    );
    return id;
  }

  const handler = () => trackEmailSentHandler(ft);
  const run = (emailId: string) =>
    handler()({
      id: randomUUID(),
      tenantId,
      queue: 'analytics',
      type: JOB_TYPES.trackEmailSent,
      payload: { email_id: emailId, campaign_id: campaignId, lead_id: null, event_id: emailId },
      priority: 150,
      attempt: 1,
      signal: new AbortController().signal,
    } satisfies JobContext);
  const sent = async () => {
    const today = new Date().toISOString().slice(0, 10);
    return (await campaignStats(ft, tenantId, campaignId, { from: today, to: today })).totals.sent;
  };
  const notified = async (userId: string) => (await listNotifications(ft, tenantId, userId)).notifications.map((n) => n.type).sort();

  it('counts a sent email once when its job runs twice, and warns once at 80% and once at 100%', async () => {
    const emails: string[] = [];
    for (let i = 0; i < 3; i++) emails.push(await sentEmail());
    for (const e of emails) await run(e);
    await run(emails[0]!); // the same email's job again
    await Promise.all([run(emails[1]!), run(emails[1]!)]); // and twice at once
    expect(await sent()).toBe(3);
    expect(await notified(ownerId)).toEqual([]); // 60%

    emails.push(await sentEmail());
    await run(emails[3]!);
    await run(emails[3]!);
    expect(await sent()).toBe(4);
    expect(await notified(ownerId)).toEqual(['QUOTA_WARNING']); // 80%, once

    emails.push(await sentEmail());
    await Promise.all([run(emails[4]!), run(emails[4]!)]);
    await run(emails[2]!);
    expect(await sent()).toBe(5);
    expect(await notified(ownerId)).toEqual(['QUOTA_REACHED', 'QUOTA_WARNING']); // 100%, once
    expect(await notified(invitedId)).toEqual([]);
  });

  it('refuses a payload without an email id', async () => {
    const bad = handler()({ id: randomUUID(), tenantId, queue: 'analytics', type: JOB_TYPES.trackEmailSent, payload: { campaign_id: campaignId }, priority: 150, attempt: 1, signal: new AbortController().signal });
    await expect(bad).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID' });
  });
});
