import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fivetier } from '../../src/platform.js';
import { JobWorker } from '../../src/queue/worker.js';
import { jobInsertMany } from '../../src/tiers/queue/queries/jobs.js';
import { newTenant, openTestFivetier } from '../helpers/platform.js';
import { newQueue, statusCounts } from './queue-helpers.js';
import { waitFor } from '../helpers/poll.js';

let ft: Fivetier;
beforeAll(async () => {
  ft = await openTestFivetier({ redisUrl: undefined });
});
afterAll(async () => {
  await ft?.close();
});

describe('the local buffer of a PostgreSQL-only worker', () => {
  it('grows while handlers are quick; buffered jobs that wait too long behind slow ones go back without losing an attempt', { timeout: 60_000 }, async () => {
    const queue = await newQueue(ft, 'buffer');
    const tenant = newTenant();
    // 600 quick jobs (priority 100) run first and grow the buffer; then 8 slow ones (300 ms,
    // priority 120) wait in it longer than half the grace (200 ms) and must go back.
    const quick = Array.from({ length: 600 }, () => randomUUID());
    const slow = Array.from({ length: 8 }, () => randomUUID());
    await ft.queue.withTenant(tenant, async (c) => {
      await jobInsertMany(c, tenant, queue, 'test.buffered', 100, quick, quick.map(() => ({ ms: 0 })));
      await jobInsertMany(c, tenant, queue, 'test.buffered', 120, slow, slow.map(() => ({ ms: 300 })));
    });
    const lines: string[] = [];
    const worker = new JobWorker(ft, { queues: [queue], redisUrl: null, concurrency: 1, leaseGraceMs: 400, pollIntervalMs: 50, rescueIntervalMs: 0, metricsIntervalMs: 0, log: (l) => lines.push(l) });
    const runs = new Map<string, number[]>();
    worker.registerHandler('test.buffered', async (job) => {
      runs.set(job.id, [...(runs.get(job.id) ?? []), job.attempt]);
      const { ms } = job.payload as { ms: number };
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    });
    await worker.start();
    try {
      await waitFor('every job completed', async () => (await statusCounts(ft, queue)).completed === quick.length + slow.length, 50_000);
    } finally {
      await worker.stop(1_000);
    }
    const gaveBack = lines.filter((l) => /buffered jobs not started within half the lease grace go back to queued/.test(l));
    console.log(gaveBack.join('\n'));
    expect(gaveBack.length).toBeGreaterThan(0);
    // Each job ran once, as attempt 1: a job given back from the buffer kept its attempt.
    expect(runs.size).toBe(quick.length + slow.length);
    expect([...runs.values()].filter((a) => a.length !== 1 || a[0] !== 1)).toEqual([]);
    const { rows } = await ft.queue.poolFor('worker').query<{ attempts: number; n: number }>('select attempts, count(*)::int as n from public.jobs where queue_name = $1 group by 1', [queue]);
    expect(rows).toEqual([{ attempts: 1, n: quick.length + slow.length }]);
  });
});
