import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isFivetierError } from '../../src/errors/codes.js';
import type { Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { cancelJob, deleteJob, getJob, retryJob } from '../../src/queue/operator.js';
import { JobWorker } from '../../src/queue/worker.js';
import { jobSetDeadIfRunning, jobSetRunningFair } from '../../src/tiers/queue/queries/jobs.js';
import { newTenant, openTestFivetier } from '../helpers/platform.js';
import { exitCode, spawnCli } from '../helpers/processes.js';
import { newQueue } from './queue-helpers.js';
import { waitFor } from '../helpers/poll.js';

/**
 * A job's identity is (tenant_id, id): ids are unique per tenant only, so two tenants may
 * hold jobs with one id. Operator actions and the worker must treat them as two jobs.
 */
let ft: Fivetier;
beforeAll(async () => {
  ft = await openTestFivetier({ redisUrl: undefined });
});
afterAll(async () => {
  await ft?.close();
});

/** Two tenants' queued jobs with one id, in a queue of their own. */
async function twoJobsOneId(label: string): Promise<{ queue: string; id: string; a: string; b: string }> {
  const queue = await newQueue(ft, label);
  const id = randomUUID();
  const [a, b] = [newTenant(), newTenant()];
  expect(await enqueue(ft.queue, a, { queue, type: 'test.same-id', id })).toBeDefined();
  expect(await enqueue(ft.queue, b, { queue, type: 'test.same-id', id })).toBeDefined();
  return { queue, id, a, b };
}

async function statuses(id: string): Promise<Record<string, string>> {
  const { rows } = await ft.queue.poolFor('worker').query<{ tenant_id: string; status: string }>('select tenant_id, status from public.jobs where id = $1', [id]);
  return Object.fromEntries(rows.map((r) => [r.tenant_id, r.status]));
}

const ambiguous = (err: unknown) => isFivetierError(err, 'FT_ERR_QUEUE_JOB_AMBIGUOUS');

describe('operator actions on an id that two tenants use', () => {
  it('refuse without a tenant, change nothing, and act on exactly one job with it', async () => {
    const { queue, id, a, b } = await twoJobsOneId('ident-ops');

    await expect(getJob(ft.queue, id)).rejects.toSatisfy(ambiguous);
    await expect(cancelJob(ft.queue, id)).rejects.toSatisfy(ambiguous);
    await expect(deleteJob(ft.queue, id)).rejects.toSatisfy(ambiguous);
    expect(await statuses(id)).toEqual({ [a]: 'queued', [b]: 'queued' });
    const err = (await cancelJob(ft.queue, id).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain('--tenant');
    expect(err.message).toContain(a);
    expect(err.message).toContain(b);

    expect((await getJob(ft.queue, id, b))?.tenant_id).toBe(b);
    expect((await cancelJob(ft.queue, id, a)).tenant_id).toBe(a);
    expect(await statuses(id)).toEqual({ [a]: 'cancelled', [b]: 'queued' });

    // Both dead, then retry one.
    const pool = ft.queue.poolFor('worker');
    const [running] = await jobSetRunningFair(pool, [queue], 10, 'ident-test', {}, 60_000, 0);
    expect(running).toMatchObject({ tenant_id: b, id });
    await jobSetDeadIfRunning(pool, b, id, 'ident-test', 1, 'broken', 1);
    await expect(retryJob(ft.queue, id)).rejects.toSatisfy(ambiguous);
    expect(await statuses(id)).toEqual({ [a]: 'cancelled', [b]: 'dead' });
    await expect(retryJob(ft.queue, id, a)).rejects.toSatisfy((e: unknown) => isFivetierError(e, 'FT_ERR_QUEUE_JOB_STATE'));
    expect((await retryJob(ft.queue, id, b)).status).toBe('queued');

    expect((await deleteJob(ft.queue, id, a)).tenant_id).toBe(a);
    expect(await statuses(id)).toEqual({ [b]: 'queued' });
    // One job left with that id: no tenant needed any more.
    expect((await cancelJob(ft.queue, id)).tenant_id).toBe(b);
    await expect(getJob(ft.queue, id, a)).resolves.toBeUndefined();
    await expect(cancelJob(ft.queue, id, a)).rejects.toSatisfy((e: unknown) => isFivetierError(e, 'FT_ERR_QUEUE_JOB_NOT_FOUND'));
  });

  it('fivetier queue show|cancel|delete|retry take --tenant and refuse an ambiguous id without it', async () => {
    const { id, a, b } = await twoJobsOneId('ident-cli');
    const env = Object.fromEntries(Object.entries(inject('tierUrls')).map(([t, u]) => [`${t.toUpperCase()}_DB_URL`, u]));

    for (const action of ['show', 'cancel', 'delete', 'retry']) {
      const run = spawnCli(['queue', action, id], env);
      expect(await exitCode(run), action).toBe(1);
      expect(run.output(), action).toMatch(/FT_ERR_QUEUE_JOB_AMBIGUOUS/);
      expect(run.output(), action).toContain('--tenant');
    }
    expect(await statuses(id)).toEqual({ [a]: 'queued', [b]: 'queued' });

    const cancel = spawnCli(['queue', 'cancel', id, '--tenant', a], env);
    expect(await exitCode(cancel)).toBe(0);
    expect(await statuses(id)).toEqual({ [a]: 'cancelled', [b]: 'queued' });

    const show = spawnCli(['queue', 'show', id, '--tenant', b], env);
    expect(await exitCode(show)).toBe(0);
    expect(show.output()).toContain(`"tenant_id": "${b}"`);

    const bad = spawnCli(['queue', 'cancel', id, '--tenant', 'not-a-uuid'], env);
    expect(await exitCode(bad)).toBe(2);
    expect(bad.output()).toMatch(/--tenant must be a uuid/);
  });
});

describe('a worker running two tenants\' jobs with one id', () => {
  /** Resolves when the job's signal aborts (the worker gives the job back on stop). */
  const untilAborted = (signal: AbortSignal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

  it('keeps the second running when the first finishes, and stop() gives it back (none left running)', async () => {
    const { queue, id, a, b } = await twoJobsOneId('ident-worker1');
    const worker = new JobWorker(ft, { queues: [queue], redisUrl: null, concurrency: 2, pollIntervalMs: 50, rescueIntervalMs: 0, metricsIntervalMs: 0 });
    worker.registerHandler('test.same-id', async (job) => {
      if (job.tenantId === b) await untilAborted(job.signal);
    });
    await worker.start();
    await waitFor('A completed while B runs', async () => {
      const s = await statuses(id);
      return s[a] === 'completed' && s[b] === 'running';
    }, 10_000);
    expect(worker.inflight).toBe(1);
    const result = await worker.stop(100);
    expect(result.returned).toBe(1);
    expect(await statuses(id)).toEqual({ [a]: 'completed', [b]: 'queued' });
  });

  it('counts both as in flight, and stop() gives both back and aborts both handlers', async () => {
    const { queue, id, a, b } = await twoJobsOneId('ident-worker2');
    const aborted: string[] = [];
    const worker = new JobWorker(ft, { queues: [queue], redisUrl: null, concurrency: 2, pollIntervalMs: 50, rescueIntervalMs: 0, metricsIntervalMs: 0 });
    worker.registerHandler('test.same-id', async (job) => {
      await untilAborted(job.signal);
      aborted.push(job.tenantId);
    });
    await worker.start();
    await waitFor('both running', async () => {
      const s = await statuses(id);
      return s[a] === 'running' && s[b] === 'running';
    }, 10_000);
    await waitFor('both handlers in flight', () => worker.inflight === 2, 5_000);
    const result = await worker.stop(100);
    expect(result).toEqual({ finished: 0, returned: 2 });
    await waitFor('both handlers aborted', () => aborted.length === 2, 5_000);
    expect(aborted.sort()).toEqual([a, b].sort());
    expect(await statuses(id)).toEqual({ [a]: 'queued', [b]: 'queued' });
  });
});
