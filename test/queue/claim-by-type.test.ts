import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { JobWorker } from '../../src/queue/worker.js';
import { newTenant, openTestFivetier, testRedisPrefix } from '../helpers/platform.js';
import { newQueue, statusCounts } from './queue-helpers.js';
import { waitFor } from '../helpers/poll.js';

/** A worker started with handlers for only some job types never claims the others. */
describe.each(['postgres', 'redis'] as const)('a worker claims only the job types it handles (%s dispatch)', (mode) => {
  const redisUrl = inject('redisUrl');
  let ft: Fivetier;
  beforeAll(async () => {
    ft = await openTestFivetier({ redisUrl: undefined });
  });
  afterAll(async () => ft?.close());

  it('runs its own types and leaves the others queued, untouched', async (ctx) => {
    if (mode === 'redis' && !redisUrl) return ctx.skip();
    const queue = await newQueue(ft, `types-${mode}`);
    const tenantId = newTenant();
    const ran: string[] = [];
    const worker = new JobWorker(ft, { queues: [queue], redisUrl: mode === 'redis' ? redisUrl : null, redisPrefix: testRedisPrefix(), pollIntervalMs: 50, metricsIntervalMs: 0 });
    worker.registerHandler('mine.a', async (job) => void ran.push(job.type));
    await worker.start();
    try {
      for (let i = 0; i < 5; i++) {
        await enqueue(ft.queue, tenantId, { queue, type: 'mine.a' });
        await enqueue(ft.queue, tenantId, { queue, type: 'theirs.b' });
      }
      await waitFor('its own jobs done', async () => (await statusCounts(ft, queue)).completed === 5);
      await new Promise((r) => setTimeout(r, 1_000)); // several claim rounds with the others ready
      expect(ran).toEqual(Array(5).fill('mine.a'));
      const { rows } = await ft.queue.poolFor('worker').query('select status, attempts from public.jobs where queue_name = $1 and job_type = $2', [queue, 'theirs.b']);
      expect(rows).toEqual(Array(5).fill({ status: 'queued', attempts: 0 }));
    } finally {
      await worker.stop(1_000);
    }
  });
});
