import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { sendEmail } from '../../src/cross-tier/send-email.js';
import type { HealthReport } from '../../src/ops/health.js';
import type { OpsSnapshot } from '../../src/ops/ops-snapshot.js';
import type { Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { SYSTEM_TENANT_ID, type TierName } from '../../src/types.js';
import { PrivateRedis } from '../helpers/redis-server.js';
import { getJson, NOTE_JOB, startOpsService } from './ops-harness.js';
import { waitFor } from '../helpers/poll.js';

/**
 * The queue tier's Redis (a redis-server of the test's own) stopped, or frozen (SIGSTOP: it
 * accepts connections and answers nothing), while the service runs with traffic: jobs keep
 * running (workers dispatch from PostgreSQL alone), `/health` and the dashboard show Redis down,
 * the `redis_down` alert fires once; when Redis returns the workers go back to it without a
 * restart and every job completes.
 */
export async function redisDegradation(mode: 'refuse' | 'blackhole', env: { direct: Fivetier; proxied: Record<TierName, string> }): Promise<void> {
  const { direct } = env;
  const redis = await PrivateRedis.start();
  const lines: string[] = [];
  const operator = randomUUID();
  const noteUser = randomUUID();
  const startedAt = new Date();
  const svc = await startOpsService(env.proxied, { lines, redisUrl: redis.url, alerts: { operatorUserIds: [operator] }, worker: { redisPingMs: 300 } });
  const ft = svc.fivetier;
  const notes: string[] = [];
  const sent: string[] = [];
  const failures: string[] = [];
  let running = true;
  try {
    const tenantId = (await createTenant(ft, { name: `redis ${mode}` })).id;
    const traffic = (async () => {
      while (running) {
        const id = randomUUID();
        try {
          // Neither enqueueing nor sending touches Redis, up or down.
          await enqueue(ft.queue, tenantId, { id, type: NOTE_JOB, payload: { userId: noteUser } });
          notes.push(id);
          sent.push((await sendEmail(ft, { tenantId, recipient: 'r@example.com', body: `b ${id}` })).emailId);
        } catch (err) {
          failures.push((err as Error).message);
        }
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    await waitFor('redis dispatch', () => svc.worker?.mode === 'redis', 15_000);
    await waitFor('jobs through Redis', () => completed(direct, tenantId, notes.slice(0, 3)), 15_000);

    if (mode === 'refuse') await redis.stop();
    else redis.freeze();
    await waitFor('/health to show Redis down', async () => (await getJson<HealthReport>(svc, '/health')).body.redis?.status === 'down', 10_000);
    const health = await getJson<HealthReport>(svc, '/health');
    expect(health.body.status).toBe('degraded');
    expect((await getJson<OpsSnapshot>(svc, '/dashboard/data.json')).body.redis).toEqual({ status: 'down' });
    await waitFor('postgres dispatch', () => svc.worker?.mode === 'postgres', 15_000);
    await waitFor('the redis_down alert', async () => (await alertEvents(direct, startedAt)).length === 1, 10_000);
    // Jobs enqueued while Redis is down run all the same.
    const during = notes.length;
    await waitFor('jobs enqueued during the outage', () => notes.length >= during + 3, 10_000);
    await waitFor('jobs run during the outage', () => completed(direct, tenantId, notes.slice(during, during + 3)), 15_000);

    if (mode === 'refuse') await redis.start();
    else redis.thaw();
    await waitFor('/health to show Redis up', async () => (await getJson<HealthReport>(svc, '/health')).body.status === 'up', 15_000);
    await waitFor('redis dispatch again', () => svc.worker?.mode === 'redis', 15_000);
    const back = notes.length;
    await waitFor('jobs enqueued after the outage', () => notes.length >= back + 3, 10_000);
    running = false;
    await traffic;
    expect(failures).toEqual([]);

    await waitFor('every job completed', async () => {
      const { rows } = await direct.queue.withMaintenance((c) => c.query<{ status: string }>('select distinct status from public.jobs where tenant_id = $1', [tenantId]));
      return rows.length === 1 && rows[0]!.status === 'completed';
    }, 40_000);
    const jobs = await direct.queue.withMaintenance((c) => c.query<{ job_type: string; n: number }>('select job_type, count(*)::int as n from public.jobs where tenant_id = $1 group by 1', [tenantId]));
    expect(Object.fromEntries(jobs.rows.map((r) => [r.job_type, r.n]))).toEqual({ [NOTE_JOB]: notes.length, track_email_sent: sent.length });
    const events = (await waitFor('the alert resolved', async () => {
      const e = await alertEvents(direct, startedAt);
      return e.length === 1 && e[0]!.is_resolved ? e : undefined;
    }, 15_000))!;
    const operatorNotes = await direct.notifications.withMaintenance((c) => c.query<{ data: { eventId: string } }>("select data from public.notifications where tenant_id = $1 and user_id = $2 and type = 'ALERT'", [SYSTEM_TENANT_ID, operator]));
    expect(operatorNotes.rows.filter((r) => r.data.eventId === events[0]!.id)).toHaveLength(1);
    expect(lines.filter((l) => l.includes('alert firing: redis_down'))).toHaveLength(1);
  } catch (err) {
    (err as Error).message += `\nservice log:\n${lines.slice(-60).join('\n')}`;
    throw err;
  } finally {
    running = false;
    redis.thaw();
    await svc.stop();
    await redis.stop();
  }
}

async function completed(direct: Fivetier, tenantId: string, ids: string[]): Promise<boolean> {
  if (ids.length === 0) return false;
  const { rows } = await direct.queue.withMaintenance((c) => c.query<{ status: string }>('select status from public.jobs where tenant_id = $1 and id = any($2::uuid[])', [tenantId, ids]));
  return rows.length === ids.length && rows.every((r) => r.status === 'completed');
}

async function alertEvents(direct: Fivetier, since: Date) {
  const { rows } = await direct.notifications.withMaintenance((c) => c.query<{ id: string; is_resolved: boolean }>("select id, is_resolved from public.admin_system_events where event_type = 'alert.redis_down' and created_at >= $1", [since]));
  return rows;
}
