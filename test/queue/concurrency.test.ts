import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fivetier } from '../../src/platform.js';
import { JobWorker, type DispatchMode } from '../../src/queue/worker.js';
import { jobInsertMany } from '../../src/tiers/queue/queries/jobs.js';
import { newTenant, openTestFivetier, testRedisPrefix } from '../helpers/platform.js';
import { newQueue } from './queue-helpers.js';
import { waitFor } from '../helpers/poll.js';

let ft: Fivetier;
beforeAll(async () => {
  ft = await openTestFivetier();
});
afterAll(async () => {
  await ft?.close();
});

describe.each<DispatchMode>(['postgres', 'redis'])('worker concurrency (%s dispatch)', (mode) => {
  it('never runs more handlers at once than its concurrency, and uses all of it', async (ctx) => {
    if (mode === 'redis' && !ft.config.redisUrl) ctx.skip();
    const queue = await newQueue(ft, `conc-${mode}`);
    const tenant = newTenant();
    const worker = new JobWorker(ft, { queues: [queue], concurrency: 4, redisUrl: mode === 'redis' ? ft.config.redisUrl! : null, redisPrefix: testRedisPrefix() });
    let running = 0;
    let most = 0;
    let finished = 0;
    worker.registerHandler('test.conc', async () => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      finished++;
    });
    const ids = Array.from({ length: 60 }, () => randomUUID());
    await ft.queue.withTenant(tenant, (c) => jobInsertMany(c, tenant, queue, 'test.conc', null, ids, ids.map(() => ({}))));
    await worker.start();
    expect(worker.mode).toBe(mode);
    await waitFor('60 jobs', () => finished === 60, 30_000);
    await worker.stop();
    expect(most).toBe(4);
  });
});
