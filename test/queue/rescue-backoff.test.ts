import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { getJob } from '../../src/queue/operator.js';
import { backoffRange } from '../../src/queue/retry.js';
import { JobWorker } from '../../src/queue/worker.js';
import { jobSetRunningFair } from '../../src/tiers/queue/queries/jobs.js';
import { newTenant, openTestFivetier } from '../helpers/platform.js';
import { newQueue } from './queue-helpers.js';
import { waitFor } from '../helpers/poll.js';

let ft: Fivetier;
beforeAll(async () => {
  ft = await openTestFivetier({ redisUrl: undefined });
});
afterAll(async () => {
  await ft?.close();
});

/** PostgreSQL's clock, which sets run_at and decides when a job is ready. */
async function dbNow(): Promise<number> {
  const { rows } = await ft.queue.poolFor('worker').query<{ now: Date }>('select clock_timestamp() as now');
  return rows[0]!.now.getTime();
}

describe('a job rescued from a dead worker', () => {
  it('waits out the backoff of the attempt it spent before it runs again', async () => {
    const queue = await newQueue(ft, 'rescue-backoff');
    const pool = ft.queue.poolFor('worker');
    const job = await enqueue(ft.queue, newTenant(), { queue, type: 'test.rescued', maxAttempts: 5 });
    // As if attempt 1 had failed: attempt 2 is taken by a worker that dies at once (its lease
    // is over when it starts).
    await pool.query('update public.jobs set attempts = 1 where tenant_id = $1 and id = $2', [job!.tenant_id, job!.id]);
    const [held] = await jobSetRunningFair(pool, [queue], 1, 'a-dead-worker', {}, 0, -1_000);
    expect(held?.attempts).toBe(2);

    const worker = new JobWorker(ft, { queues: [queue], redisUrl: null, rescueIntervalMs: 100, pollIntervalMs: 50, metricsIntervalMs: 0 });
    const runs: Array<{ attempt: number; at: number }> = [];
    const rescued: Array<{ status: string; runAt: number; updatedAt: number }> = [];
    worker.on('rescued', (rows) => rescued.push(...rows.map((r) => ({ status: r.status, runAt: r.run_at.getTime(), updatedAt: r.updated_at.getTime() }))));
    worker.registerHandler('test.rescued', async (j) => void runs.push({ attempt: j.attempt, at: await dbNow() }));
    await worker.start();
    try {
      const done = await waitFor('completed after the rescue', async () => {
        const j = await getJob(ft.queue, job!.id);
        return j?.status === 'completed' ? j : undefined;
      });
      expect(rescued).toHaveLength(1);
      const r = rescued[0]!;
      expect(r.status).toBe('queued');
      // run_at = rescue time + the backoff of attempt 2: 4 s +-25%.
      const [low, high] = backoffRange(2);
      expect([low, high]).toEqual([3, 5]);
      const waited = (r.runAt - r.updatedAt) / 1000;
      expect(waited).toBeGreaterThanOrEqual(low - 0.01);
      expect(waited).toBeLessThanOrEqual(high + 0.01);
      // It ran once more, attempt 3, not before its run_at.
      expect(runs.map((x) => x.attempt)).toEqual([3]);
      expect(runs[0]!.at).toBeGreaterThanOrEqual(r.runAt);
      expect(done.attempts).toBe(3);
      expect(done.last_error).toMatch(/lease expired/);
    } finally {
      await worker.stop(1_000);
    }
  });
});
