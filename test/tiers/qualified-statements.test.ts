import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConsistency } from '../../src/cross-tier/consistency-checker.js';
import { cleanupOrphanedData } from '../../src/cross-tier/orphan-cleanup.js';
import { sweepOrphans } from '../../src/cross-tier/orphan-sweeper.js';
import { relayOutbox } from '../../src/cross-tier/outbox-relay.js';
import { sendEmail } from '../../src/cross-tier/send-email.js';
import { openFivetier, type Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { cancelJob, deleteJob, ensureQueue, getJob, listDeadJobs, listQueues, pauseQueue, queueStats, resumeQueue, retryJob } from '../../src/queue/operator.js';
import { JobWorker } from '../../src/queue/worker.js';
import { recordAdminEvent } from '../../src/tiers/notifications/admin-events.js';
import { jobLogListByJob } from '../../src/tiers/queue/queries/job-logs.js';
import { ROLES, TIER_NAMES, type TierName } from '../../src/types.js';
import { migratedScratchDatabases } from '../helpers/cross-tier.js';
import { newTenant, openTestFivetier, testConfig } from '../helpers/platform.js';
import { waitFor } from '../helpers/poll.js';

/**
 * The probe's attack on the run's migrated databases: inside tenant A's transaction, create a
 * temporary `emails`; then tenant B sends on the same pooled connection (one connection in the
 * pool). The migrations took TEMPORARY away, so the first step is refused, and B's row is where
 * it belongs.
 */
describe('a temporary table created in a tenant transaction', () => {
  let ft: Fivetier;
  beforeAll(async () => {
    ft = await openTestFivetier({ redisUrl: undefined, tiers: { oltp: { pool: { max: 1 } } } });
  });
  afterAll(async () => {
    await ft?.close();
  });

  it("is refused (42501), and the next tenant's send on the same connection lands in public.emails", async () => {
    const [a, b] = [await createTenant(ft), await createTenant(ft)];
    const refused = await ft.oltp.withTenant(a, (c) => c.query('create temporary table emails (like public.emails including defaults)')).catch((e: { code?: string }) => e);
    expect((refused as { code?: string }).code).toBe('42501');
    const sent = await sendEmail(ft, { tenantId: b, recipient: 'b@example.com', subject: 'for B', body: 'B body' });
    const inTable = await ft.oltp.withMaintenance((c) => c.query('select tenant_id, recipient from public.emails where id = $1', [sent.emailId]));
    expect(inTable.rows).toEqual([{ tenant_id: b, recipient: 'b@example.com' }]);
    const visibleToA = await ft.oltp.withTenant(a, (c) => c.query('select count(*)::int as n from emails'));
    expect(visibleToA.rows[0].n).toBe(0);
  });
});

/**
 * Every statement the library builds names its schema (`public.emails`). Proof by a set of
 * scratch databases where fivetier's login roles have an empty search_path, so any unqualified
 * table name fails (42P01), and where the runtime role has TEMPORARY back on OLTP, so a
 * temporary `emails` would capture an unqualified insert on the same pooled connection.
 */
describe('statements the library builds are schema-qualified', () => {
  let scratch: Awaited<ReturnType<typeof migratedScratchDatabases>>;
  let ft: Fivetier;

  beforeAll(async () => {
    scratch = await migratedScratchDatabases('qualified');
    for (const tier of TIER_NAMES) {
      const admin = new pg.Client({ connectionString: scratch.urls[tier] });
      await admin.connect();
      try {
        for (const role of [ROLES.app, ROLES.worker, ROLES.maintenance]) {
          await admin.query(`alter role ${role} in database ${admin.escapeIdentifier(await dbName(admin))} set search_path = ''`);
        }
        if (tier === 'oltp') await admin.query(`grant temporary on database ${admin.escapeIdentifier(await dbName(admin))} to ${ROLES.app}`);
      } finally {
        await admin.end();
      }
    }
    // One runtime connection on OLTP, so the next transaction reuses the previous one's session.
    const tiers = Object.fromEntries(TIER_NAMES.map((t: TierName) => [t, { url: scratch.urls[t], ...(t === 'oltp' ? { pool: { max: 1 } } : {}) }]));
    ft = await openFivetier({ config: testConfig({ tiers, redisUrl: undefined }), migrate: false });
  });

  afterAll(async () => {
    await ft?.close();
    await scratch?.drop();
  });

  it("a temporary `emails` left by tenant A's transaction does not capture tenant B's send on the same connection", async () => {
    const [a, b] = [await createTenant(ft), await createTenant(ft)];
    await ft.oltp.withTenant(a, (c) => c.query('create temporary table emails (like public.emails including defaults)'));
    const sent = await sendEmail(ft, { tenantId: b, recipient: 'b@example.com', subject: 'for B', body: 'B body' });
    const inTable = await ft.oltp.withMaintenance((c) => c.query('select tenant_id from public.emails where id = $1', [sent.emailId]));
    expect(inTable.rows).toEqual([{ tenant_id: b }]);
    // Whatever A's session still holds, it holds none of B's rows.
    const seenByA = await ft.oltp.withTenant(a, (c) => c.query("select count(*)::int as n from pg_catalog.pg_class where relname = 'emails' and relpersistence = 't'").then(async (r) =>
      r.rows[0].n === 0 ? 0 : (await c.query('select count(*)::int as n from pg_temp.emails')).rows[0].n,
    ));
    expect(seenByA).toBe(0);
  });

  it('sends, relays, runs jobs, operates the queue, checks, sweeps and records events with an empty search_path', async () => {
    const tenant = await createTenant(ft);
    const sent = await sendEmail(ft, { tenantId: tenant, recipient: 'q@example.com', subject: 'qualified', body: 'body' });
    expect((await relayOutbox(ft)).moved).toBeGreaterThanOrEqual(1);

    const queue = (await ensureQueue(ft.queue, 'qualified')).name;
    expect((await listQueues(ft.queue)).map((q) => q.name)).toContain(queue);
    const failing = await enqueue(ft.queue, tenant, { queue, type: 'test.fail', maxAttempts: 1 });
    const toCancel = await enqueue(ft.queue, tenant, { queue, type: 'test.never', runAt: new Date(Date.now() + 3_600_000) });
    const worker = new JobWorker(ft, { queues: [queue, 'analytics'], redisUrl: null, pollIntervalMs: 50, rescueIntervalMs: 50, metricsIntervalMs: 50 });
    worker.registerHandler('track_email_sent', async () => {});
    worker.registerHandler('test.fail', async () => {
      throw new Error('fails on purpose');
    });
    await worker.start();
    await waitFor('relayed job completed', async () => (await getJob(ft.queue, sent.jobId))?.status === 'completed', 10_000);
    await waitFor('failing job dead', async () => (await getJob(ft.queue, failing!.id))?.status === 'dead', 10_000);
    await worker.stop();
    expect((await jobLogListByJob(ft.queue.poolFor('worker'), tenant, sent.jobId)).map((l) => l.status)).toEqual(['success']);
    expect((await listDeadJobs(ft.queue, queue)).map((j) => j.id)).toEqual([failing!.id]);
    expect((await retryJob(ft.queue, failing!.id)).status).toBe('queued');
    expect((await cancelJob(ft.queue, toCancel!.id)).status).toBe('cancelled');
    expect((await deleteJob(ft.queue, toCancel!.id)).id).toBe(toCancel!.id);
    await pauseQueue(ft.queue, queue);
    await resumeQueue(ft.queue, queue);
    expect((await queueStats(ft.queue)).length).toBeGreaterThan(0);

    const report = await checkConsistency(ft, { tenantId: tenant, orphanGraceSeconds: 0 });
    expect(report.clean).toBe(true);
    expect(await recordAdminEvent(ft, { eventType: 'test.qualified', severity: 'low', description: 'qualified' }, () => {})).toBeDefined();
    await ft.content.withTenant(tenant, (c) => c.query("insert into public.content_objects (tenant_id, storage_key, content_text) values ($1, 'orphan-qualified-1', 'x')", [tenant]));
    expect((await sweepOrphans(ft, { tenantId: tenant, graceSeconds: 0 })).deleted).toBe(1);
    await expect(cleanupOrphanedData(sent.storageKey, { fivetier: ft, tenantId: tenant })).resolves.toBeDefined();
  });
});

async function createTenant(ft: Fivetier): Promise<string> {
  const id = newTenant();
  await ft.oltp.withTenant(id, (c) => c.query('insert into public.tenants (id) values ($1)', [id]));
  return id;
}

async function dbName(c: pg.Client): Promise<string> {
  return (await c.query<{ db: string }>('select current_database() as db')).rows[0]!.db;
}

