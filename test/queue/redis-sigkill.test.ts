import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FivetierError } from '../../src/errors/codes.js';
import type { Fivetier } from '../../src/platform.js';
import { JobWorker } from '../../src/queue/worker.js';
import { bullJobId } from '../../src/queue/dispatch-redis.js';
import { jobInsertMany, jobSetDispatchedFair } from '../../src/tiers/queue/queries/jobs.js';
import { newTenant, openTestFivetier, testRedisPrefix } from '../helpers/platform.js';
import { exitCode, spawnScript, waitForOutput } from '../helpers/processes.js';
import { jobOutcomes, newQueue, spawnRedisWorker, statusCounts } from './queue-helpers.js';
import { waitFor } from '../helpers/poll.js';

const redisUrl = inject('redisUrl');
let ft: Fivetier;
let redis: Redis;
beforeAll(async () => {
  ft = await openTestFivetier({ redisUrl: undefined });
  if (redisUrl) redis = new Redis(redisUrl);
});
afterAll(async () => {
  redis?.disconnect();
  await ft?.close();
});

/**
 * `n` jobs of one tenant in `queue`, left dispatched as a dispatcher that is gone leaves them
 * (queued -> dispatched under its lease of `leaseMs`), each with the BullMQ copies whose attempts
 * `copiesOf` lists (by default one, under the job's attempts, as a dispatcher adds it).
 */
async function dispatchedWithCopies(queue: string, prefix: string, n: number, leaseMs: number, copiesOf: (attempts: number) => number[] = (a) => [a]): Promise<{ ids: string[]; bull: Queue }> {
  const tenant = newTenant();
  const ids = Array.from({ length: n }, () => randomUUID());
  await ft.queue.withTenant(tenant, (c) => jobInsertMany(c, tenant, queue, 'test.work', null, ids, ids.map(() => ({}))));
  const rows = await jobSetDispatchedFair(ft.queue.poolFor('worker'), [queue], n, 'a-gone-dispatcher', leaseMs);
  expect(rows).toHaveLength(n);
  const bull = new Queue(queue, { connection: redis, prefix });
  await bull.addBulk(rows.flatMap((r) => copiesOf(r.attempts).map((attempts) => ({ name: r.job_type, data: { t: r.tenant_id, i: r.id }, opts: { jobId: bullJobId({ t: r.tenant_id, i: r.id }, attempts), removeOnComplete: true, removeOnFail: true } }))));
  return { ids, bull };
}

describe.runIf(redisUrl)('Redis mode: a worker SIGKILLed while it holds jobs active in BullMQ', () => {
  it('a new worker completes every job within a bounded time, each once, and BullMQ lets go of the dead copies', { timeout: 60_000 }, async () => {
    const queue = await newQueue(ft, 'rkill');
    const prefix = testRedisPrefix();
    const runsKey = `${prefix}:runs`;
    const tenants = [newTenant(), newTenant(), newTenant()];
    const ids: string[] = [];
    for (const tenant of tenants) {
      const mine = Array.from({ length: 10 }, () => randomUUID());
      ids.push(...mine);
      await ft.queue.withTenant(tenant, (c) => jobInsertMany(c, tenant, queue, 'test.work', null, mine, mine.map(() => ({}))));
    }

    // The child dispatches all 30 into Redis. BullMQ hands it twice its concurrency (5): 5 jobs
    // start and hang in their handlers (those copies are done with), then 10 more are started in
    // PostgreSQL and wait for a slot, their copies held active in BullMQ.
    const child = spawnRedisWorker({ queue, redisUrl, prefix, runsKey, concurrency: 5, handlerMs: 'hang' });
    await waitForOutput(child, /ready worker-\S+ redis/);
    const bull = new Queue(queue, { connection: redis, prefix });
    let worker: JobWorker | undefined;
    try {
      // Steady once 5 handlers hang, 10 copies are active and all 15 are started in PostgreSQL.
      await waitFor('10 active copies, 5 hanging handlers, 15 jobs started', async () => {
        const started = (child.output().match(/^started /gm) ?? []).length;
        const counts = await statusCounts(ft, queue);
        return started === 5 && counts.running === 15 && counts.dispatched === 15 && (await bull.getActiveCount()) === 10;
      }, 30_000);
      child.kill('SIGKILL');
      expect(await exitCode(child)).toBeNull();
      const deadCopies = (await bull.getActive()).map((j) => j.id!);
      expect(deadCopies).toHaveLength(10); // the dead worker's copies, still active

      const lines: string[] = [];
      worker = new JobWorker(ft, { queues: [queue], concurrency: 10, redisUrl, redisPrefix: prefix, redisLockMs: 2_000, dispatchLeaseMs: 2_000, rescueIntervalMs: 200, metricsIntervalMs: 0, log: (l) => lines.push(l) });
      const runs = new Map<string, number[]>();
      worker.registerHandler('test.work', async (job) => {
        runs.set(job.id, [...(runs.get(job.id) ?? []), job.attempt]);
        await redis.hincrby(runsKey, job.id, 1);
      });
      await worker.start();
      expect(worker.mode).toBe('redis');
      // Bound: the dead worker's leases end 3.5 s after its starts, the rescuer looks every 0.2 s.
      await waitFor('all 30 jobs completed', async () => (await statusCounts(ft, queue)).completed === 30, 20_000);
      // BullMQ's stalled check returns the dead worker's copies (lock 2 s) and the new worker drops them.
      await waitFor('no copy left active or waiting in BullMQ', async () => (await bull.getActiveCount()) + (await bull.getWaitingCount()) === 0, 20_000);
      await worker.stop();
      for (const id of deadCopies) expect(lines.filter((l) => l.includes(`copy "${id}" went back to wait`)), id).toHaveLength(1);

      const rows = await jobOutcomes(ft, queue);
      expect(rows).toHaveLength(30);
      expect(rows.filter((r) => r.status !== 'completed' || r.successes !== 1)).toEqual([]);
      // The 15 the dead worker had started run again as attempt 2; the other 15 run once, here.
      expect(rows.filter((r) => r.attempts === 2)).toHaveLength(15);
      expect([...runs.values()].filter((a) => a.length !== 1)).toEqual([]);
      expect(runs.size).toBe(30);
      // Side effects: one per job from the new worker, plus one per handler the dead one ran.
      const sideEffects = await redis.hgetall(runsKey);
      expect(Object.keys(sideEffects).sort()).toEqual([...ids].sort());
      expect(Object.values(sideEffects).reduce((n, v) => n + Number(v), 0)).toBe(35);
    } finally {
      await worker?.stop(0);
      child.kill('SIGKILL');
      await bull.close();
      await redis.del(runsKey);
    }
  });

  it('copies a worker took from Redis and died before starting: BullMQ gives them back and a new worker runs the jobs', { timeout: 60_000 }, async () => {
    const queue = await newQueue(ft, 'rtake');
    const prefix = testRedisPrefix();
    // Dispatched as a dispatcher would (queued -> dispatched, one copy each, attempts 0 in the id).
    const { ids, bull } = await dispatchedWithCopies(queue, prefix, 3, 1_000);
    const taker = spawnScript('test/queue/fixtures/bullmq-taker.ts', [], { FT_TEST_QUEUE: queue, FT_TEST_REDIS_URL: redisUrl, FT_TEST_REDIS_PREFIX: prefix });
    let worker: JobWorker | undefined;
    try {
      await waitForOutput(taker, /^ready$/m);
      await waitFor('3 copies taken', () => (taker.output().match(/^took /gm) ?? []).length === 3, 30_000);
      taker.kill('SIGKILL');
      await taker.ended;
      expect(await bull.getActiveCount()).toBe(3);
      expect(await statusCounts(ft, queue)).toEqual({ dispatched: 3 });

      // The rescue re-dispatches under the same ids (attempts still 0), which BullMQ ignores while
      // the dead copies are active; its stalled check puts those back to wait, and they start the jobs.
      worker = new JobWorker(ft, { queues: [queue], redisUrl, redisPrefix: prefix, redisLockMs: 2_000, dispatchLeaseMs: 1_000, rescueIntervalMs: 200, metricsIntervalMs: 0 });
      const runs: string[] = [];
      worker.registerHandler('test.work', async (job) => void runs.push(job.id));
      await worker.start();
      await waitFor('all 3 completed', async () => (await statusCounts(ft, queue)).completed === 3, 20_000);
      await waitFor('no copy left in BullMQ', async () => (await bull.getActiveCount()) + (await bull.getWaitingCount()) === 0, 20_000);
      await worker.stop();
      expect(runs.sort()).toEqual([...ids].sort());
    } finally {
      await worker?.stop(0);
      taker.kill('SIGKILL');
      await bull.close();
    }
  });
});

describe.runIf(redisUrl)('Redis mode: several copies of one job in BullMQ at once', () => {
  it('the job runs once, however many of its copies are taken together', { timeout: 60_000 }, async () => {
    // A dead worker's copy put back by BullMQ's stalled check waits beside the copy the rescue
    // dispatched (ids differ in their attempts); a worker may take both in one start batch.
    const queue = await newQueue(ft, 'rcopies');
    const prefix = testRedisPrefix();
    const { ids, bull } = await dispatchedWithCopies(queue, prefix, 5, 60_000, () => [0, 1, 2, 3, 4, 5, 6, 7]);
    const worker = new JobWorker(ft, { queues: [queue], concurrency: 20, redisUrl, redisPrefix: prefix, rescueIntervalMs: 0, metricsIntervalMs: 0 });
    const runs: string[] = [];
    worker.registerHandler('test.work', async (job) => void runs.push(job.id));
    try {
      await worker.start();
      expect(worker.mode).toBe('redis');
      await waitFor('all 5 completed', async () => (await statusCounts(ft, queue)).completed === 5, 20_000);
      await waitFor('no copy left in BullMQ', async () => (await bull.getActiveCount()) + (await bull.getWaitingCount()) === 0, 20_000);
      await worker.stop();
      expect(runs.sort()).toEqual([...ids].sort());
      expect((await jobOutcomes(ft, queue)).filter((r) => r.attempts !== 1 || r.successes !== 1)).toEqual([]);
    } finally {
      await worker.stop(0);
      await bull.close();
    }
  });
});

describe('the BullMQ lock of a worker', () => {
  it.each([0, 999, 1.5e3 + 0.5, Number.NaN])('redisLockMs %s is refused with FT_ERR_INPUT_INVALID', (redisLockMs) => {
    const make = () => new JobWorker(ft, { redisLockMs });
    expect(make).toThrow(FivetierError);
    expect(make).toThrow(expect.objectContaining({ code: 'FT_ERR_INPUT_INVALID', message: expect.stringMatching(/redisLockMs must be an integer >= 1000/) }));
  });
});
