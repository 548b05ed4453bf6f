import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { getJob, pauseQueue, resumeQueue, retryJob } from '../../src/queue/operator.js';
import { JobWorker } from '../../src/queue/worker.js';
import { RETRY_RULES_SQL } from '../../src/queue/retry.js';
import { jobLogListByJob } from '../../src/tiers/queue/queries/job-logs.js';
import { jobSetCompletedIfRunning, jobSetDeadIfRunning, jobSetQueuedIfLeaseExpired, jobSetRunningFair } from '../../src/tiers/queue/queries/jobs.js';
import { newTenant, openTestFivetier } from '../helpers/platform.js';
import { newQueue, statusCounts } from './queue-helpers.js';
import { waitFor } from '../helpers/poll.js';
import { registry } from '../../src/ops/metrics.js';

let ft: Fivetier;
beforeAll(async () => {
  ft = await openTestFivetier({ redisUrl: undefined });
});
afterAll(async () => {
  await ft?.close();
});

describe('queue, PostgreSQL-only dispatch', () => {
  it('runs a job to completed and logs the attempt', async () => {
    const queue = await newQueue(ft, 'basic');
    const worker = new JobWorker(ft, { queues: [queue], redisUrl: null });
    const seen: string[] = [];
    worker.registerHandler('test.echo', async (job) => void seen.push(job.id));
    await worker.start();
    expect(worker.mode).toBe('postgres');
    const job = await enqueue(ft.queue, newTenant(), { queue, type: 'test.echo', payload: { n: 1 } });
    await waitFor('completed', async () => (await getJob(ft.queue, job!.id))?.status === 'completed');
    await worker.stop();
    expect(seen).toEqual([job!.id]);
    const logs = await jobLogListByJob(ft.queue.poolFor('worker'), job!.tenant_id, job!.id);
    expect(logs.map((l) => [l.status, l.attempt])).toEqual([['success', 1]]);
    const metrics = await registry.metrics();
    expect(metrics).toContain(`fivetier_jobs_processed_total{queue="${queue}"} 1`);
    expect(metrics).toMatch(new RegExp(`fivetier_job_duration_seconds_count\\{queue="${queue}"\\} 1`));
  });

  it('samples queue depth per lane and the oldest ready age', async () => {
    const queue = await newQueue(ft, 'depth');
    await pauseQueue(ft.queue, queue);
    const tenant = newTenant();
    await enqueue(ft.queue, tenant, { queue, type: 'test.d', priority: 10 });
    await enqueue(ft.queue, tenant, { queue, type: 'test.d', priority: 100 });
    await enqueue(ft.queue, tenant, { queue, type: 'test.d', priority: 500 });
    const worker = new JobWorker(ft, { queues: [queue], redisUrl: null, metricsIntervalMs: 50 });
    await worker.start();
    const text = await waitFor('depth sampled', async () => {
      const m = await registry.metrics();
      return m.includes(`fivetier_queue_depth{queue="${queue}",lane="low"} 1`) ? m : undefined;
    });
    await worker.stop();
    expect(text).toContain(`fivetier_queue_depth{queue="${queue}",lane="high"} 1`);
    expect(text).toContain(`fivetier_queue_depth{queue="${queue}",lane="normal"} 1`);
    expect(text).toMatch(new RegExp(`fivetier_queue_oldest_ready_age_seconds\\{queue="${queue}"\\} [0-9.]+`));
    await resumeQueue(ft.queue, queue);
  });

  it('a late worker cannot overwrite a newer state', async () => {
    const queue = await newQueue(ft, 'late');
    const pool = ft.queue.poolFor('worker');
    const job = await enqueue(ft.queue, newTenant(), { queue, type: 'test.late' });
    // Worker A claims with a lease that is already over (as if it hung past its timeout).
    const [a] = await jobSetRunningFair(pool, [queue], 1, 'worker-A', {}, 0, -1_000);
    expect(a?.id).toBe(job!.id);
    const rescued = await jobSetQueuedIfLeaseExpired(pool, [queue], 10, RETRY_RULES_SQL);
    expect(rescued.map((r) => r.status)).toEqual(['queued']);
    // The rescued attempt backs off (test/queue/rescue-backoff.test.ts); skip the wait.
    await pool.query('update public.jobs set run_at = now() where tenant_id = $1 and id = $2', [a!.tenant_id, a!.id]);
    // Worker B runs the second attempt.
    const [b] = await jobSetRunningFair(pool, [queue], 1, 'worker-B', {}, 60_000, 0);
    expect(b?.attempts).toBe(2);
    // A wakes up late: neither its completion nor its failure changes anything.
    expect(await jobSetCompletedIfRunning(pool, a!.tenant_id, a!.id, 'worker-A', a!.attempts, 1)).toBeUndefined();
    expect(await jobSetDeadIfRunning(pool, a!.tenant_id, a!.id, 'worker-A', a!.attempts, 'late', 1)).toBeUndefined();
    // Nor would B's lease with A's attempt number.
    expect(await jobSetCompletedIfRunning(pool, a!.tenant_id, a!.id, 'worker-B', a!.attempts, 1)).toBeUndefined();
    expect((await getJob(ft.queue, job!.id))?.status).toBe('running');
    const done = await jobSetCompletedIfRunning(pool, b!.tenant_id, b!.id, 'worker-B', b!.attempts, 1);
    expect(done?.status).toBe('completed');
    expect(await jobSetCompletedIfRunning(pool, b!.tenant_id, b!.id, 'worker-B', b!.attempts, 1)).toBeUndefined();
  });

  it('retries on the backoff schedule, dead-letters, and an operator retry brings the job back', async () => {
    const queue = await newQueue(ft, 'retry');
    const worker = new JobWorker(ft, { queues: [queue], redisUrl: null, pollIntervalMs: 100 });
    let fail = true;
    const starts: number[] = [];
    worker.registerHandler('test.flaky', async () => {
      starts.push(Date.now());
      if (fail) throw new Error('boom');
    });
    await worker.start();
    const job = await enqueue(ft.queue, newTenant(), { queue, type: 'test.flaky' });
    const dead = await waitFor('dead letter', async () => {
      const j = await getJob(ft.queue, job!.id);
      return j?.status === 'dead' ? j : undefined;
    });
    expect(dead.attempts).toBe(3);
    expect(dead.last_error).toBe('boom');
    const logs = await jobLogListByJob(ft.queue.poolFor('worker'), job!.tenant_id, job!.id);
    expect(logs.map((l) => l.status)).toEqual(['retry', 'retry', 'failed']);
    // Gaps between attempt starts: 2^1 s and 2^2 s, each +-25% (plus poll slack).
    const gaps = [starts[1]! - starts[0]!, starts[2]! - starts[1]!].map((ms) => ms / 1000);
    console.log(`retry gaps: ${gaps.map((g) => g.toFixed(2)).join(' s, ')} s`);
    expect(gaps[0]).toBeGreaterThanOrEqual(1.5);
    expect(gaps[0]).toBeLessThan(2.5 + 1);
    expect(gaps[1]).toBeGreaterThanOrEqual(3);
    expect(gaps[1]).toBeLessThan(5 + 1);

    fail = false;
    const back = await retryJob(ft.queue, job!.id);
    expect(back.status).toBe('queued');
    expect(back.attempts).toBe(0);
    await waitFor('completed after operator retry', async () => (await getJob(ft.queue, job!.id))?.status === 'completed');
    await worker.stop();
  });

  it('a paused queue dispatches nothing until resumed', async () => {
    const queue = await newQueue(ft, 'pause');
    await pauseQueue(ft.queue, queue);
    const worker = new JobWorker(ft, { queues: [queue], redisUrl: null, pollIntervalMs: 50 });
    let runs = 0;
    worker.registerHandler('test.p', async () => void runs++);
    await worker.start();
    const tenant = newTenant();
    for (let i = 0; i < 5; i++) await enqueue(ft.queue, tenant, { queue, type: 'test.p' });
    // Signal: a job enqueued in another queue after ours is claimed by a second worker, so the
    // claim query has run with our jobs ready; ours must still be queued.
    const other = await newQueue(ft, 'pause-probe');
    const probe = new JobWorker(ft, { queues: [other, queue], redisUrl: null, pollIntervalMs: 50 });
    probe.registerHandler('test.probe', async () => {});
    probe.registerHandler('test.p', async () => void runs++);
    await probe.start();
    const p = await enqueue(ft.queue, tenant, { queue: other, type: 'test.probe' });
    await waitFor('probe completed', async () => (await getJob(ft.queue, p!.id))?.status === 'completed');
    expect(await statusCounts(ft, queue)).toEqual({ queued: 5 });
    expect(runs).toBe(0);
    await resumeQueue(ft.queue, queue);
    await waitFor('all completed after resume', async () => (await statusCounts(ft, queue)).completed === 5);
    await Promise.all([worker.stop(), probe.stop()]);
  });

  it('graceful shutdown finishes quick jobs and returns the ones past the grace period', async () => {
    const queue = await newQueue(ft, 'shutdown');
    const worker = new JobWorker(ft, { queues: [queue], redisUrl: null, concurrency: 4 });
    const started = new Set<string>();
    worker.registerHandler('test.quick', async (j) => {
      started.add(j.id);
      await new Promise((r) => setTimeout(r, 50));
    });
    worker.registerHandler('test.stuck', async (j) => {
      started.add(j.id);
      await new Promise((r) => j.signal.addEventListener('abort', r));
    });
    const tenant = newTenant();
    const quick = await enqueue(ft.queue, tenant, { queue, type: 'test.quick' });
    const stuck = await enqueue(ft.queue, tenant, { queue, type: 'test.stuck' });
    await worker.start();
    await waitFor('both started', () => started.size === 2);
    const result = await worker.stop(500);
    expect(result).toEqual({ finished: 1, returned: 1 });
    expect((await getJob(ft.queue, quick!.id))?.status).toBe('completed');
    const back = await getJob(ft.queue, stuck!.id);
    expect([back?.status, back?.lease_owner]).toEqual(['queued', null]);
  });
});
