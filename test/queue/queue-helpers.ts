import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { Fivetier } from '../../src/platform.js';
import { ensureQueue } from '../../src/queue/operator.js';
import { spawnScript, type TestChild } from '../helpers/processes.js';

/** A queue of this test's own (tests share the database). */
export async function newQueue(ft: Fivetier, label: string): Promise<string> {
  const name = `t-${label}-${randomBytes(3).toString('hex')}`;
  await ensureQueue(ft.queue, name);
  return name;
}

/** Job counts by status in one queue. */
export async function statusCounts(ft: Fivetier, queue: string): Promise<Record<string, number>> {
  const { rows } = await ft.queue.poolFor('worker').query<{ status: string; n: number }>('select status, count(*)::int as n from jobs where queue_name = $1 group by 1', [queue]);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Each job of a queue: its state, attempts, and how many `success` rows its log has. */
export async function jobOutcomes(ft: Fivetier, queue: string): Promise<Array<{ id: string; status: string; attempts: number; successes: number }>> {
  const { rows } = await ft.queue.poolFor('worker').query<{ id: string; status: string; attempts: number; successes: number }>(
    `select j.id, j.status, j.attempts,
       (select count(*)::int from job_logs l where l.tenant_id = j.tenant_id and l.job_id = j.id and l.status = 'success') as successes
     from jobs j where j.queue_name = $1`,
    [queue],
  );
  return rows;
}

/**
 * A Redis-mode worker process (test/queue/fixtures/redis-worker.ts) on the run's databases,
 * serving `queue`; see the fixture for what it prints and how its handler behaves.
 */
export function spawnRedisWorker(o: { queue: string; redisUrl: string; prefix: string; runsKey: string; concurrency: number; handlerMs: string; rescueMs?: number }): TestChild {
  return spawnScript('test/queue/fixtures/redis-worker.ts', [], {
    FT_TEST_TIER_URLS: JSON.stringify(inject('tierUrls')),
    FT_TEST_QUEUE: o.queue,
    FT_TEST_REDIS_URL: o.redisUrl,
    FT_TEST_REDIS_PREFIX: o.prefix,
    FT_TEST_RUNS_KEY: o.runsKey,
    FT_TEST_CONCURRENCY: String(o.concurrency),
    FT_TEST_HANDLER_MS: o.handlerMs,
    FT_TEST_RESCUE_MS: String(o.rescueMs ?? 0),
  });
}
