import { randomUUID } from 'node:crypto';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Fivetier } from '../../src/platform.js';
import { bullJobId, readJobRef } from '../../src/queue/dispatch-redis.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { JobWorker } from '../../src/queue/worker.js';
import { jobInsertMany, jobSetDispatchedFair } from '../../src/tiers/queue/queries/jobs.js';
import { newTenant, openTestFivetier, testRedisPrefix } from '../helpers/platform.js';
import { newQueue, statusCounts } from './queue-helpers.js';
import { waitFor } from '../helpers/poll.js';

const redisUrl = inject('redisUrl');
let ft: Fivetier;
let redis: Redis;
beforeAll(async () => {
  ft = await openTestFivetier({ redisUrl: undefined });
  if (redisUrl) redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  redis?.disconnect();
  await ft?.close();
});

/** Wait until BullMQ has finished with `job` one way or the other; its state and reason. */
async function settled(bull: Queue, job: Job): Promise<{ state: string; reason: string | undefined }> {
  const state = await waitFor(`BullMQ job ${job.id} settled`, async () => {
    const s = await job.getState();
    return s === 'completed' || s === 'failed' ? s : undefined;
  }, 15_000);
  const fresh = await bull.getJob(job.id!);
  return { state, reason: fresh?.failedReason };
}

describe('readJobRef: which BullMQ entries are fivetier jobs', () => {
  const t = randomUUID();
  const i = randomUUID();
  it.each([
    ['a dispatch copy', { id: bullJobId({ t, i }, 2), data: { t, i } }, { t, i }],
    ['a copy of a dispatcher before the attempts were in the id', { id: `${t}_${i}`, data: { t, i } }, { t, i }],
    ['a plain BullMQ add', { id: '7', data: { foo: 1 } }, { foreign: 'its data is not { t, i }' }],
    ['data that is not an object', { id: '8', data: 'x' }, { foreign: 'its data is not an object' }],
    ['extra fields', { id: `${t}_${i}_x`, data: { t, i, foo: 1 } }, { foreign: 'its data is not { t, i }' }],
    ['a job id that is not a uuid', { id: `${t}_nope_x`, data: { t, i: 'nope' } }, { foreign: 'its job id (i) is not a uuid' }],
    ['a tenant id that is not a uuid', { id: `x_${i}_x`, data: { t: 'x', i } }, { foreign: 'its tenant id (t) is not a uuid' }],
    ['uuids under an id that does not name them', { id: '9', data: { t, i } }, { foreign: 'its BullMQ id does not name the job' }],
  ])('%s', (_label, job, expected) => {
    expect(readJobRef(job as never)).toEqual(expected);
  });
});

describe.runIf(redisUrl)('foreign entries in a fivetier BullMQ queue', () => {
  it('a job added the plain BullMQ way fails with a reason and a log line, without running; fivetier jobs still run', async () => {
    const queue = await newQueue(ft, 'foreign');
    const prefix = testRedisPrefix();
    const lines: string[] = [];
    const ran: string[] = [];
    const worker = new JobWorker(ft, { queues: [queue], redisUrl, redisPrefix: prefix, metricsIntervalMs: 0, log: (l) => lines.push(l) });
    worker.registerHandler('test.real', async (job) => void ran.push(job.id));
    const bull = new Queue(queue, { connection: redis, prefix });
    try {
      await worker.start();
      expect(worker.mode).toBe('redis');
      const foreign = await bull.add('x', { foo: 1 });
      const real = await enqueue(ft.queue, newTenant(), { queue, type: 'test.real' });
      expect(await settled(bull, foreign)).toEqual({ state: 'failed', reason: 'not a fivetier job: its data is not { t, i }; fivetier jobs are added with enqueue(), not through BullMQ' });
      await waitFor('the fivetier job completed', async () => (await statusCounts(ft, queue)).completed === 1);
      expect(ran).toEqual([real!.id]);
      expect(lines.filter((l) => l.includes('not a fivetier job'))).toEqual([`redis dispatch: queue ${queue}: BullMQ job "${foreign.id}" (name "x") failed: not a fivetier job, its data is not { t, i }`]);
    } finally {
      await worker.stop();
      await bull.close();
    }
  });

  it('entries whose ids are not uuids fail on their own: the fivetier copies taken with them start at once, not after the dispatch lease', async () => {
    const queue = await newQueue(ft, 'baduuid');
    const prefix = testRedisPrefix();
    const tenant = newTenant();
    const ids = Array.from({ length: 20 }, () => randomUUID());
    await ft.queue.withTenant(tenant, (c) => jobInsertMany(c, tenant, queue, 'test.real', null, ids, ids.map(() => ({}))));
    // Dispatched by a dispatcher that is gone, under a lease far longer than this test may wait;
    // with no rescuer, only a start from these copies can complete the jobs.
    const rows = await jobSetDispatchedFair(ft.queue.poolFor('worker'), [queue], 20, 'a-gone-dispatcher', 300_000);
    expect(rows).toHaveLength(20);
    const bull = new Queue(queue, { connection: redis, prefix });
    // Copies and bad entries alternate, so the start batches mix them.
    const entries = rows.flatMap((r, n) => [
      { name: 'test.real', data: { t: r.tenant_id, i: r.id }, opts: { jobId: bullJobId({ t: r.tenant_id, i: r.id }, r.attempts), removeOnComplete: true } },
      { name: 'test.real', data: { t: tenant, i: `not-a-uuid-${n}` }, opts: { jobId: `${tenant}_not-a-uuid-${n}_tok` } },
    ]);
    const added = await bull.addBulk(entries);
    const lines: string[] = [];
    const worker = new JobWorker(ft, { queues: [queue], concurrency: 10, redisUrl, redisPrefix: prefix, rescueIntervalMs: 0, metricsIntervalMs: 0, log: (l) => lines.push(l) });
    worker.registerHandler('test.real', async () => {});
    try {
      await worker.start();
      await waitFor('all 20 completed', async () => (await statusCounts(ft, queue)).completed === 20, 20_000);
      const bad = added.filter((j) => j.data.i.startsWith('not-a-uuid'));
      for (const j of bad) expect(await settled(bull, j)).toEqual({ state: 'failed', reason: 'not a fivetier job: its job id (i) is not a uuid; fivetier jobs are added with enqueue(), not through BullMQ' });
      expect(lines.filter((l) => l.includes('not a fivetier job'))).toHaveLength(20);
      expect(lines.filter((l) => /invalid input syntax/.test(l))).toEqual([]);
    } finally {
      await worker.stop();
      await bull.close();
    }
  });
});
