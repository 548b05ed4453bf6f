import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { getJob, pauseQueue, resumeQueue, retryJob } from '../../src/queue/operator.js';
import { JobWorker } from '../../src/queue/worker.js';
import { newTenant, openTestFivetier } from '../helpers/platform.js';
import { waitFor } from '../helpers/poll.js';
import { newQueue } from './queue-helpers.js';

let ft: Fivetier;
beforeAll(async () => {
  ft = await openTestFivetier({ redisUrl: undefined });
});
afterAll(async () => {
  await ft?.close();
});

/**
 * Operator actions that make jobs ready without inserting one (resuming a queue, retrying a dead
 * job) wake the idle workers as an insert does. The workers here poll every ten minutes, so only
 * the notification can make the job run within the test.
 */
describe('operator actions wake idle workers (PostgreSQL-only)', () => {
  const idleWorker = (queue: string) => new JobWorker(ft, { queues: [queue], redisUrl: null, pollIntervalMs: 600_000, rescueIntervalMs: 0, metricsIntervalMs: 0 });

  it("a resumed queue's job runs at once, not at the next poll", async () => {
    const queue = await newQueue(ft, 'resume-wakes');
    await pauseQueue(ft.queue, queue);
    const worker = idleWorker(queue);
    const ran: string[] = [];
    worker.registerHandler('test.wake', async (job) => void ran.push(job.id));
    await worker.start();
    try {
      const job = await enqueue(ft.queue, newTenant(), { queue, type: 'test.wake' });
      // the insert's notification finds the queue paused: the worker claims nothing and sleeps
      await new Promise((r) => setTimeout(r, 300));
      expect(ran).toEqual([]);
      await resumeQueue(ft.queue, queue);
      await waitFor('the job ran', () => ran.length > 0 || undefined, 20_000);
      expect(ran).toEqual([job!.id]);
    } finally {
      await worker.stop();
    }
  });

  it('a retried dead job runs at once, not at the next poll', async () => {
    const queue = await newQueue(ft, 'retry-wakes');
    const worker = idleWorker(queue);
    let runs = 0;
    worker.registerHandler('test.wake', async () => {
      if (++runs === 1) throw new Error('first run fails');
    });
    await worker.start();
    try {
      const job = await enqueue(ft.queue, newTenant(), { queue, type: 'test.wake', maxAttempts: 1 });
      await waitFor('dead', async () => (await getJob(ft.queue, job!.id))?.status === 'dead' || undefined, 20_000);
      await retryJob(ft.queue, job!.id);
      await waitFor('completed', async () => (await getJob(ft.queue, job!.id))?.status === 'completed' || undefined, 20_000);
      expect(runs).toBe(2);
    } finally {
      await worker.stop();
    }
  });
});
