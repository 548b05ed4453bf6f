import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFivetier, type Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { ensureQueue, getJob } from '../../src/queue/operator.js';
import { JobWorker } from '../../src/queue/worker.js';
import type { TierName } from '../../src/types.js';
import { openScratchFivetier } from '../helpers/cross-tier.js';
import { newTenant, testConfig } from '../helpers/platform.js';
import { waitFor } from '../helpers/poll.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * A claim whose answer never comes back (the queue tier froze or the connection broke after the
 * server committed it) leaves a job `running` under the worker's lease while the worker never got
 * it. The worker settles that before its next claim once the tier answers: the job runs again
 * soon after the outage, not after its lease (60 s + grace here).
 */
describe('PostgreSQL-only worker: a claim in doubt', () => {
  let direct: Fivetier;
  let faulty: Fivetier;
  let drop: () => Promise<void>;
  let proxy: TcpProxy;
  const queue = 'doubt';

  beforeAll(async () => {
    let urls: Record<TierName, string>;
    ({ ft: direct, drop, urls } = await openScratchFivetier('doubt'));
    proxy = await TcpProxy.forUrl(urls.queue);
    faulty = await openFivetier({ config: testConfig({ tiers: { ...Object.fromEntries(Object.entries(urls).map(([t, url]) => [t, { url }])), queue: { url: proxy.urlFor(urls.queue) } } as never, redisUrl: undefined }), migrate: false });
    await ensureQueue(direct.queue, queue);
  });
  afterAll(async () => {
    proxy?.up();
    await faulty?.close();
    await drop?.();
    await proxy?.close();
  });

  it('a job left running under its lease by a lost claim runs again once the tier is back, once', { timeout: 60_000 }, async () => {
    const lines: string[] = [];
    const worker = new JobWorker(faulty, { queues: [queue], redisUrl: null, concurrency: 2, pollIntervalMs: 100, rescueIntervalMs: 200, timeoutsMs: { 'test.doubt': 60_000 }, metricsIntervalMs: 0, log: (l) => lines.push(l) });
    const runs: Array<[string, number]> = [];
    worker.registerHandler('test.doubt', async (job) => void runs.push([job.id, job.attempt]));
    await worker.start();
    try {
      const tenant = newTenant();
      // What a claim of this worker leaves when its answer is lost: the job running under the
      // worker's lease (timeout + grace), its attempt counted, and the worker none the wiser.
      const lost = await enqueue(direct.queue, tenant, { queue, type: 'test.doubt', id: randomUUID(), runAt: new Date(Date.now() + 3_600_000) });
      await direct.queue.withMaintenance((c) =>
        c.query(`update public.jobs set status = 'running', attempts = attempts + 1, lease_owner = $3, lease_expires_at = now() + interval '65 seconds', started_at = now() where tenant_id = $1 and id = $2`, [tenant, lost!.id, worker.id]),
      );

      // A claim fails (the tier refuses): from here the worker is in doubt about its claims.
      proxy.down();
      await waitFor('a failed claim', () => lines.some((l) => l.startsWith('postgres dispatch:')), 10_000);
      proxy.up();

      const after = await enqueue(direct.queue, tenant, { queue, type: 'test.doubt' });
      await waitFor('both jobs completed', async () => (await getJob(direct.queue, lost!.id, tenant))?.status === 'completed' && (await getJob(direct.queue, after!.id, tenant))?.status === 'completed', 15_000);
      expect(runs.sort()).toEqual([[lost!.id, 1], [after!.id, 1]].sort());
      expect(lines.some((l) => /1 jobs claimed here without an answer .* go back to queued/.test(l)), lines.join('\n')).toBe(true);
    } finally {
      await worker.stop();
    }
  });
});
