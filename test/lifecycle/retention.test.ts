import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { utcDay, utcMonthStart } from '../../src/analytics/utc-days.js';
import { sendEmail } from '../../src/cross-tier/send-email.js';
import { runRetention, type RetentionReport } from '../../src/lifecycle/retention.js';
import { createNotification } from '../../src/notifications/in-app.js';
import type { Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { olapEnsurePartition } from '../../src/tiers/olap/queries/partitions.js';
import { recordAdminEvent } from '../../src/tiers/notifications/admin-events.js';
import { createTenant, openScratchFivetier } from '../helpers/cross-tier.js';
import { exitCode, spawnCli } from '../helpers/processes.js';

/**
 * Retention over seeded old data (issue 12, must-show 4): for every rule, the keys a dry run
 * lists are exactly the rows a real run with the same `asOf` removes, no more and no fewer (rows
 * just inside each cut-off stay), and `fivetier check` reports the tiers consistent afterwards.
 * Scratch databases of its own: retention works across tenants.
 */
const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY);

/** Every key of every table retention reads, as `rule -> keys`. */
async function keysOf(ft: Fivetier): Promise<Record<string, Set<string>>> {
  const keys = (rows: Array<{ k: string }>) => new Set(rows.map((r) => r.k));
  const q = async (tier: Fivetier['oltp'], sql: string) => keys((await tier.withMaintenance((c) => c.query<{ k: string }>(sql))).rows);
  return {
    'queue.job_logs': await q(ft.queue, `select tenant_id || '/' || id as k from public.job_logs`),
    'queue.completed_jobs': await q(ft.queue, `select tenant_id || '/' || id as k from public.jobs where status in ('completed', 'cancelled')`),
    'queue.dead_jobs': await q(ft.queue, `select tenant_id || '/' || id as k from public.jobs where status = 'dead'`),
    'notifications.expired': await q(ft.notifications, `select tenant_id || '/' || id as k from public.notifications`),
    'notifications.admin_events': await q(ft.notifications, `select tenant_id || '/' || id as k from public.admin_system_events`),
    'content.expired': await q(ft.content, `select tenant_id || '/' || storage_key as k from public.content_objects`),
    'oltp.idempotency_keys': await q(ft.oltp, `select tenant_id || '/' || key as k from public.send_idempotency_keys`),
    'olap.partitions': await q(ft.olap, `select p.relname || '/' || c.relname as k from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent where c.relkind in ('r', 'p')`),
  };
}

describe('retention', () => {
  let ft: Fivetier;
  let env: Record<string, string>;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    ({ ft, env, drop } = await openScratchFivetier('retention'));
  });
  afterAll(async () => drop?.());

  it('removes exactly what its dry run listed, rule by rule, and leaves the tiers consistent', { timeout: 120_000 }, async () => {
    const tenants = [await createTenant(ft), await createTenant(ft)];
    for (const tenantId of tenants) {
      // Queue: jobs finished or dead at various ages, and logs at various ages.
      const job = async (status: 'completed' | 'cancelled' | 'dead', days: number, logDays: number[]) => {
        const row = await enqueue(ft.queue, tenantId, { type: 'custom.retained', payload: { n: randomUUID() } });
        await ft.queue.withMaintenance(async (c) => {
          await c.query(
            `update public.jobs set status = $3::text, updated_at = $4::timestamptz, completed_at = case when $3::text = 'completed' then $4::timestamptz end, failed_at = case when $3::text = 'dead' then $4::timestamptz end
              where tenant_id = $1 and id = $2`,
            [tenantId, row!.id, status, ago(days)],
          );
          for (const d of logDays) await c.query(`insert into public.job_logs (tenant_id, job_id, status, message, attempt, created_at) values ($1, $2, 'success', 'ok', 1, $3)`, [tenantId, row!.id, ago(d)]);
        });
      };
      await job('completed', 200, [200, 30]); // goes; its old log by the log rule, its recent one with it
      await job('completed', 170, [170]); // stays (6 months); its log goes (90 days)
      await job('cancelled', 190, []); // goes
      await job('dead', 400, [400]); // goes
      await job('dead', 300, [10]); // stays (1 year)
      await job('completed', 1, [1]); // stays

      // Notifications: expired and not; admin events old and recent.
      const note = (expiresAt: Date | undefined) => createNotification(ft, tenantId, { userId: randomUUID(), type: 'TEST', title: 't', message: 'm', expiresAt });
      await note(ago(1));
      await note(ago(30));
      await note(new Date(Date.now() + DAY));
      await note(undefined);
      for (const days of [400, 380, 100]) {
        const id = await recordAdminEvent(ft, { eventType: 'test.event', severity: 'low', description: 'aged', tenantId });
        await ft.notifications.withMaintenance((c) => c.query('update public.admin_system_events set created_at = $3 where tenant_id = $1 and id = $2', [tenantId, id, ago(days)]));
      }

      // Content: expired and unreferenced (goes), expired but its email is still there (stays: I1), not expired.
      const sent: Array<Awaited<ReturnType<typeof sendEmail>>> = [];
      for (let i = 0; i < 3; i++) sent.push(await sendEmail(ft, { tenantId, recipient: `r${i}@example.com`, subject: 's', body: `body ${i}` }));
      await ft.content.withMaintenance((c) => c.query('update public.content_objects set expires_at = $2 where tenant_id = $1 and storage_key = any($3)', [tenantId, ago(1), [sent[0]!.storageKey, sent[1]!.storageKey]]));
      await ft.oltp.withMaintenance((c) => c.query('delete from public.emails where tenant_id = $1 and id = $2', [tenantId, sent[0]!.emailId]));

      // OLTP: send idempotency keys 10 days old (goes) and 3 days old (stays).
      for (const days of [10, 3]) {
        await ft.oltp.withMaintenance((c) =>
          c.query('insert into public.send_idempotency_keys (tenant_id, key, request_hash, email_id, storage_key, created_at) values ($1, $2, $3, $4, $5, $6)', [tenantId, `key-${days}`, Buffer.alloc(32), randomUUID(), `k-${randomUUID()}`, ago(days)]),
        );
      }
    }
    // OLAP: a partition 30 months old (goes), one 12 months old (stays).
    for (const months of [-30, -12]) {
      const from = utcMonthStart(new Date(), months);
      await ft.olap.withMaintenance((c) => olapEnsurePartition(c, 'campaign_analytics', utcDay(from), utcDay(utcMonthStart(new Date(), months + 1))));
    }

    const before = await keysOf(ft);
    const asOf = new Date();
    const progress: string[] = [];
    const plan = await runRetention(ft, { dryRun: true, asOf, batchSize: 2, onProgress: (p) => progress.push(p.rule) });
    expect(await keysOf(ft)).toEqual(before); // a dry run changes nothing
    const done: RetentionReport = await runRetention(ft, { asOf, batchSize: 2 });
    const after = await keysOf(ft);

    const expected: Record<string, number> = {
      'queue.job_logs': 2 * 3, // 200, 170 and 400 days old, per tenant
      'queue.completed_jobs': 2 * 2,
      'queue.dead_jobs': 2,
      'notifications.expired': 2 * 2,
      'notifications.admin_events': 2 * 2,
      'content.expired': 2,
      'oltp.idempotency_keys': 2,
      'olap.partitions': 1,
    };
    const related = plan.rules.reduce((a, r) => a + r.related, 0);
    for (const r of plan.rules) {
      const gone = [...before[r.rule]!].filter((k) => !after[r.rule]!.has(k)).sort();
      if (r.rule === 'queue.job_logs') {
        // Logs also go with their jobs (the jobs' rules count those as related).
        expect(gone).toEqual(expect.arrayContaining(r.ids));
        expect(gone.length).toBe(r.ids.length + related);
      } else expect([r.rule, [...r.ids].sort()], r.rule).toEqual([r.rule, gone]);
      expect([r.rule, r.count], r.rule).toEqual([r.rule, expected[r.rule]]);
      const real = done.rules.find((x) => x.rule === r.rule)!;
      expect([r.rule, real.count, real.related], r.rule).toEqual([r.rule, r.count, r.related]);
    }
    // The recent log of the 200-day-old job went with it, in both reports.
    expect(plan.rules.find((r) => r.rule === 'queue.completed_jobs')!.related).toBe(2);
    expect(plan.total).toBe(done.total);
    expect(new Set(progress).size).toBe(plan.rules.length);
    // Nothing more to go.
    expect((await runRetention(ft, { dryRun: true, asOf })).total).toBe(0);

    const check = spawnCli(['check', '--no-progress'], env);
    expect(await exitCode(check), check.output()).toBe(0);
    expect(check.output()).toMatch(/^clean$/m);
  });

  it('refuses bad options with FT_ERR_INPUT_INVALID', async () => {
    await expect(runRetention(ft, { batchSize: 0 })).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID' });
    await expect(runRetention(ft, { rules: ['queue.nope' as never] })).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID' });
    await expect(runRetention(ft, { settings: { jobLogsDays: 0 } })).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID' });
    await expect(runRetention(ft, { tenantId: 'x' })).rejects.toMatchObject({ code: 'FT_ERR_TENANT_INVALID' });
  });
});
