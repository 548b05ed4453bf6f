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

async function bulk(tenant: string, queue: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => randomUUID());
  await ft.queue.withTenant(tenant, (c) => jobInsertMany(c, tenant, queue, 'test.fair', null, ids, ids.map(() => ({}))));
  return ids;
}

const modes: DispatchMode[] = ['postgres', 'redis'];

describe.each(modes)('per-tenant fairness (%s dispatch)', (mode) => {
  it("tenant B's 10 jobs finish while most of tenant A's 10,000 still wait", async (ctx) => {
    if (mode === 'redis' && !ft.config.redisUrl) ctx.skip();
    const queue = await newQueue(ft, `fair-${mode}`);
    const [a, b] = [newTenant(), newTenant()];
    const doneBy = new Map<string, number>();
    const worker = new JobWorker(ft, { queues: [queue], concurrency: 10, redisUrl: mode === 'redis' ? ft.config.redisUrl! : null, redisPrefix: testRedisPrefix(), dispatchWindow: 100 });
    worker.registerHandler('test.fair', async (job) => {
      await new Promise((r) => setTimeout(r, 2));
      doneBy.set(job.tenantId, (doneBy.get(job.tenantId) ?? 0) + 1);
    });
    await bulk(a, queue, 10_000);
    await bulk(b, queue, 10);
    await worker.start();
    expect(worker.mode).toBe(mode);
    await waitFor("B's 10 jobs", () => doneBy.get(b) === 10, 60_000);
    const aDone = doneBy.get(a) ?? 0;
    const { rows } = await ft.queue.poolFor('worker').query<{ n: number }>(`select count(*)::int as n from jobs where tenant_id = $1 and status = 'queued'`, [a]);
    console.log(`${mode}: when B finished, A had ${aDone} completed and ${rows[0]!.n} still queued`);
    await worker.stop();
    expect(rows[0]!.n).toBeGreaterThan(5_000);
    await ft.queue.poolFor('worker').query(`delete from jobs where queue_name = $1`, [queue]);
  });
});
