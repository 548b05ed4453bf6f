import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { jobInsertMany } from '../../src/tiers/queue/queries/jobs.js';
import { newTenant, openTestFivetier } from '../helpers/platform.js';
import { newQueue } from './queue-helpers.js';

/**
 * A job's queue must be a row of job_queues, checked per statement by triggers rather than per
 * row by a foreign key (queue migration 0008), with the foreign key's error.
 */
let ft: Fivetier;
beforeAll(async () => {
  ft = await openTestFivetier({ redisUrl: undefined });
});
afterAll(async () => {
  await ft?.close();
});

const fkError = { code: '23503', constraint: 'jobs_queue_name_fkey' };

describe("a job's queue", () => {
  it('must exist: an enqueue to an unknown queue fails with the foreign key error, and a batch with it leaves nothing', async () => {
    const tenant = newTenant();
    const unknown = `no-such-queue-${randomUUID().slice(0, 8)}`;
    await expect(enqueue(ft.queue, tenant, { queue: unknown, type: 'test.queue-check' })).rejects.toMatchObject(fkError);
    await expect(
      ft.queue.withWorker((c) => jobInsertMany(c, tenant, unknown, 'test.queue-check', null, [randomUUID(), randomUUID()], [{}, {}])),
    ).rejects.toMatchObject(fkError);
    const { rows } = await ft.queue.poolFor('worker').query<{ n: number }>('select count(*)::int as n from public.jobs where tenant_id = $1', [tenant]);
    expect(rows[0]!.n).toBe(0);
  });

  it('cannot be moved to an unknown queue, and a queue that jobs name cannot be deleted or renamed', async () => {
    const tenant = newTenant();
    const queue = await newQueue(ft, 'queue-check');
    const job = await enqueue(ft.queue, tenant, { queue, type: 'test.queue-check' });
    expect(job).toBeDefined();
    const worker = ft.queue.poolFor('worker');
    await expect(worker.query("update public.jobs set queue_name = 'no-such-queue' where tenant_id = $1", [tenant])).rejects.toMatchObject(fkError);
    await expect(worker.query('delete from public.job_queues where name = $1', [queue])).rejects.toMatchObject(fkError);
    await expect(worker.query("update public.job_queues set name = name || '-renamed' where name = $1", [queue])).rejects.toMatchObject(fkError);
    // Settings change freely, and a queue nothing names can go.
    await worker.query('update public.job_queues set paused = true where name = $1', [queue]);
    await worker.query('delete from public.jobs where tenant_id = $1', [tenant]);
    await worker.query('delete from public.job_queues where name = $1', [queue]);
  });
});
