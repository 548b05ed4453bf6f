import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { JobWorker, type DispatchMode } from '../../src/queue/worker.js';
import { jobInsertMany } from '../../src/tiers/queue/queries/jobs.js';
import { newTenant, openTestFivetier } from '../helpers/platform.js';
import { PrivateRedis, redisServerOrSkip } from '../helpers/redis-server.js';
import { jobOutcomes, newQueue, statusCounts } from './queue-helpers.js';
import { waitFor } from '../helpers/poll.js';

const enabled = redisServerOrSkip();
let ft: Fivetier;
beforeAll(async () => {
  ft = await openTestFivetier({ redisUrl: undefined });
});
afterAll(async () => {
  await ft?.close();
});

/** Every job of the queue completed, each with exactly one successful attempt logged. */
async function expectEachCompletedOnce(queue: string, total: number): Promise<void> {
  const rows = await jobOutcomes(ft, queue);
  expect(rows).toHaveLength(total);
  expect(rows.filter((r) => r.status !== 'completed')).toEqual([]);
  expect(rows.filter((r) => r.successes !== 1)).toEqual([]);
}

describe.runIf(enabled)('Redis dispatch failures', () => {
  it('FLUSHALL while jobs are in flight and queued: every job still completes', async () => {
    const redis = new PrivateRedis();
    await redis.start();
    const queue = await newQueue(ft, 'flush');
    const worker = new JobWorker(ft, { queues: [queue], concurrency: 5, redisUrl: redis.url, dispatchLeaseMs: 1_500, rescueIntervalMs: 250, pollIntervalMs: 100, dispatchWindow: 100 });
    let completed = 0;
    worker.on('completed', () => void completed++);
    worker.registerHandler('test.flush', () => new Promise((r) => setTimeout(r, 10)));
    const total = 400;
    for (let t = 0; t < 4; t++) {
      const tenant = newTenant();
      const ids = Array.from({ length: total / 4 }, () => randomUUID());
      await ft.queue.withTenant(tenant, (c) => jobInsertMany(c, tenant, queue, 'test.flush', null, ids, ids.map(() => ({}))));
    }
    await worker.start();
    expect(worker.mode).toBe('redis');
    await waitFor('some completions', () => completed >= 50);
    const admin = new Redis(redis.url);
    const before = await statusCounts(ft, queue);
    await admin.flushall();
    console.log(`FLUSHALL with ${JSON.stringify(before)} in PostgreSQL`);
    await waitFor('every job completed', async () => (await statusCounts(ft, queue)).completed === total, 60_000);
    admin.disconnect();
    await worker.stop();
    await redis.stop();
    await expectEachCompletedOnce(queue, total);
  });

  it('Redis stopped while jobs flow: PostgreSQL takes over, Redis takes back, no restart, nothing lost or completed twice', async () => {
    const redis = new PrivateRedis();
    await redis.start();
    const queue = await newQueue(ft, 'down');
    const worker = new JobWorker(ft, { queues: [queue], concurrency: 5, redisUrl: redis.url, redisPingMs: 200, dispatchLeaseMs: 2_000, rescueIntervalMs: 250, pollIntervalMs: 100, dispatchWindow: 50 });
    const via: Record<DispatchMode, number> = { redis: 0, postgres: 0 };
    const modes: DispatchMode[] = [];
    worker.on('completed', (_job, v) => void via[v]++);
    worker.on('mode', (m) => void modes.push(m));
    worker.registerHandler('test.down', () => new Promise((r) => setTimeout(r, 5)));
    await worker.start();
    expect(worker.mode).toBe('redis');

    let producing = true;
    let enqueued = 0;
    const tenant = newTenant();
    const producer = (async () => {
      while (producing) {
        await enqueue(ft.queue, tenant, { queue, type: 'test.down' }).catch(() => {});
        enqueued++;
        await new Promise((r) => setTimeout(r, 3));
      }
    })();

    try {
    await waitFor('completions through Redis', () => via.redis >= 50);
    await redis.stop();
    await waitFor('switch to PostgreSQL', () => worker.mode === 'postgres', 15_000);
    const pgBefore = via.postgres;
    await waitFor('completions through PostgreSQL', () => via.postgres >= pgBefore + 50, 30_000);
    await redis.start(); // same port, empty
    await waitFor('switch back to Redis', () => worker.mode === 'redis', 15_000);
    const redisBefore = via.redis;
    await waitFor('completions through Redis again', () => via.redis >= redisBefore + 50, 30_000);
    } finally {
      producing = false;
      await producer;
    }
    await waitFor('every job completed', async () => (await statusCounts(ft, queue)).completed === enqueued, 60_000);
    console.log(`enqueued ${enqueued}; completed via redis ${via.redis}, via postgres ${via.postgres}; modes ${modes.join(' -> ')}`);
    await worker.stop();
    await redis.stop();
    expect(modes).toEqual(['redis', 'postgres', 'redis']);
    await expectEachCompletedOnce(queue, enqueued);
  });
});
