import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { getJob } from '../../src/queue/operator.js';
import { JobWorker } from '../../src/queue/worker.js';
import { jobLogListByJob } from '../../src/tiers/queue/queries/job-logs.js';
import { newTenant, openTestFivetier } from '../helpers/platform.js';
import { exitCode, spawnScript, waitForOutput } from '../helpers/processes.js';
import { newQueue } from './queue-helpers.js';
import { waitFor } from '../helpers/poll.js';

let ft: Fivetier;
beforeAll(async () => {
  ft = await openTestFivetier({ redisUrl: undefined });
});
afterAll(async () => {
  await ft?.close();
});

describe('a worker killed with SIGKILL in the middle of a job', () => {
  it('the job runs again after its lease expires and ends completed once', async () => {
    const queue = await newQueue(ft, 'kill');
    const proc = spawnScript('test/queue/fixtures/hanging-worker.ts', [], { FT_TEST_TIER_URLS: JSON.stringify(inject('tierUrls')), FT_TEST_QUEUE: queue });
    await waitForOutput(proc, /ready worker-/);
    const job = await enqueue(ft.queue, newTenant(), { queue, type: 'test.hang' });
    await waitForOutput(proc, new RegExp(`started ${job!.id} attempt 1`));
    const held = await getJob(ft.queue, job!.id);
    expect(held?.status).toBe('running');
    expect(held?.lease_owner).toMatch(/^worker-/);
    proc.kill('SIGKILL');
    expect(await exitCode(proc)).toBeNull();

    // A healthy worker in this process; its rescuer takes the job back once the lease expires.
    const worker = new JobWorker(ft, { queues: [queue], redisUrl: null, rescueIntervalMs: 200, pollIntervalMs: 100 });
    const runs: number[] = [];
    const rescued: string[] = [];
    worker.on('rescued', (rows) => rescued.push(...rows.map((r) => `${r.id}:${r.status}`)));
    worker.registerHandler('test.hang', async (j) => void runs.push(j.attempt));
    await worker.start();
    const done = await waitFor('completed after rescue', async () => {
      const j = await getJob(ft.queue, job!.id);
      return j?.status === 'completed' ? j : undefined;
    });
    await worker.stop();
    expect(rescued).toEqual([`${job!.id}:queued`]);
    expect(runs).toEqual([2]);
    expect(done.attempts).toBe(2);
    const logs = await jobLogListByJob(ft.queue.poolFor('worker'), job!.tenant_id, job!.id);
    expect(logs.map((l) => [l.status, l.attempt])).toEqual([['success', 2]]);
    expect(done.last_error).toMatch(/lease expired/);
  });
});
