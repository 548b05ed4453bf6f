import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FivetierError } from '../../src/errors/codes.js';
import type { Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { OUTAGE_RETRY_MAX_SECONDS, outageRetry } from '../../src/queue/retry.js';
import { JobWorker } from '../../src/queue/worker.js';
import { newTenant, openTestFivetier } from '../helpers/platform.js';
import { newQueue } from '../queue/queue-helpers.js';
import { waitFor } from '../helpers/poll.js';

/**
 * Workers act on a tier's open circuit: a job whose handler fails because a tier is down
 * (FT_ERR_TIER_UNAVAILABLE) backs off and runs again, past its attempt limit, instead of going
 * to the dead letter; any other failure still dead-letters on the last attempt.
 */
describe('jobs failing on a tier outage', () => {
  let ft: Fivetier;
  beforeAll(async () => {
    ft = await openTestFivetier({ redisUrl: undefined });
  });
  afterAll(async () => ft?.close());

  it('caps the outage backoff', () => {
    for (let attempt = 1; attempt < 12; attempt++) {
      const next = outageRetry({ attempts: attempt });
      expect(next.action).toBe('retry');
      expect(next.delaySeconds).toBeLessThanOrEqual(OUTAGE_RETRY_MAX_SECONDS);
    }
  });

  it('are retried past their attempt limit and complete once the tier is back; other failures dead-letter', { timeout: 60_000 }, async () => {
    const queue = await newQueue(ft, 'outage');
    const tenantId = newTenant();
    let outageRuns = 0;
    const worker = new JobWorker(ft, { queues: [queue], pollIntervalMs: 100, concurrency: 2 });
    worker.registerHandler('ops.needs-olap', async () => {
      // The first three runs find the OLAP tier down, as a handler would while its circuit is open.
      if (++outageRuns <= 3) throw new FivetierError('FT_ERR_TIER_UNAVAILABLE', ['olap', 'connection refused']);
    });
    worker.registerHandler('ops.broken', async () => {
      throw new Error('a bug, not an outage');
    });
    await worker.start();
    try {
      const outage = randomUUID();
      const broken = randomUUID();
      await enqueue(ft.queue, tenantId, { id: outage, queue, type: 'ops.needs-olap', maxAttempts: 1 });
      await enqueue(ft.queue, tenantId, { id: broken, queue, type: 'ops.broken', maxAttempts: 1 });
      const status = async (id: string) => (await ft.queue.withMaintenance((c) => c.query<{ status: string; attempts: number }>('select status, attempts from public.jobs where tenant_id = $1 and id = $2', [tenantId, id]))).rows[0];
      await waitFor('the outage job completed', async () => (await status(outage))?.status === 'completed', 45_000);
      expect(await status(outage)).toEqual({ status: 'completed', attempts: 4 });
      expect(await status(broken)).toEqual({ status: 'dead', attempts: 1 });
    } finally {
      await worker.stop();
    }
  });
});
