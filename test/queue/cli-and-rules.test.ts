import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { getJob, listQueues } from '../../src/queue/operator.js';
import { laneOf, timeoutFor } from '../../src/queue/job-states.js';
import { afterFailure, backoffSeconds } from '../../src/queue/retry.js';
import { jobSetDeadIfRunning, jobSetRunningFair } from '../../src/tiers/queue/queries/jobs.js';
import { newTenant, openTestFivetier } from '../helpers/platform.js';
import { exitCode, spawnCli } from '../helpers/processes.js';
import { newQueue } from './queue-helpers.js';

describe('queue rules', () => {
  it('backoff is 2^attempt s with +-25% jitter, capped at 300 s', () => {
    expect([1, 2, 3, 8].map((a) => backoffSeconds(a, () => 0.5))).toEqual([2, 4, 8, 256]);
    expect(backoffSeconds(1, () => 0)).toBe(1.5);
    expect(backoffSeconds(1, () => 1)).toBe(2.5);
    expect(backoffSeconds(9, () => 1)).toBe(300);
    expect(backoffSeconds(20, () => 0)).toBe(225);
  });
  it('3 attempts by default, 5 for priority <= 50', () => {
    expect(afterFailure({ attempts: 3, max_attempts: null, priority: 100 })).toEqual({ action: 'dead' });
    expect(afterFailure({ attempts: 3, max_attempts: null, priority: 50 }).action).toBe('retry');
    expect(afterFailure({ attempts: 5, max_attempts: null, priority: 50 })).toEqual({ action: 'dead' });
  });
  it('lanes and per-type timeouts', () => {
    expect([1, 50, 51, 150, 151, 1000].map(laneOf)).toEqual(['high', 'high', 'normal', 'normal', 'low', 'low']);
    expect(['email.send', 'email.inbound', 'analytics.daily-aggregate', 'warmup.process', 'webhook.dispatch', 'maintenance.cleanup'].map((t) => timeoutFor(t))).toEqual([
      30_000, 60_000, 300_000, 120_000, 15_000, 60_000,
    ]);
    expect(timeoutFor('webhook.dispatch', { 'webhook.dispatch': 1_000 })).toBe(1_000);
  });
});

describe('fivetier queue (CLI)', () => {
  let ft: Fivetier;
  beforeAll(async () => {
    ft = await openTestFivetier({ redisUrl: undefined });
  });
  afterAll(async () => {
    await ft?.close();
  });
  const env = () => Object.fromEntries(Object.entries(inject('tierUrls')).map(([t, u]) => [`${t.toUpperCase()}_DB_URL`, u]));

  it('retries a dead job, pauses and resumes a queue, and exits 2 on bad input', async () => {
    const queue = await newQueue(ft, 'cli');
    const pool = ft.queue.poolFor('worker');
    const job = await enqueue(ft.queue, newTenant(), { queue, type: 'test.cli', maxAttempts: 1 });
    const [running] = await jobSetRunningFair(pool, [queue], 1, 'cli-test', {}, 60_000, 0);
    await jobSetDeadIfRunning(pool, running!.tenant_id, running!.id, 'cli-test', 1, 'broken', 1);

    const dead = spawnCli(['queue', 'dead', '--queue', queue], env());
    expect(await exitCode(dead)).toBe(0);
    expect(dead.output()).toContain(job!.id);

    const retry = spawnCli(['queue', 'retry', job!.id], env());
    expect(await exitCode(retry)).toBe(0);
    expect((await getJob(ft.queue, job!.id))?.status).toBe('queued');

    const again = spawnCli(['queue', 'retry', job!.id], env());
    expect(await exitCode(again)).toBe(1);
    expect(again.output()).toMatch(/is queued; this action needs it dead \[FT_ERR_QUEUE_JOB_STATE\]/);

    const pause = spawnCli(['queue', 'pause', queue], env());
    expect(await exitCode(pause)).toBe(0);
    expect((await listQueues(ft.queue)).find((q) => q.name === queue)?.paused).toBe(true);
    const resume = spawnCli(['queue', 'resume', queue], env());
    expect(await exitCode(resume)).toBe(0);
    expect((await listQueues(ft.queue)).find((q) => q.name === queue)?.paused).toBe(false);

    const bad = spawnCli(['queue', 'retry', 'not-a-uuid'], env());
    expect(await exitCode(bad)).toBe(2);
    expect(bad.output()).toMatch(/job id must be a uuid/);

    const del = spawnCli(['queue', 'delete', job!.id], env());
    expect(await exitCode(del)).toBe(0);
    expect(await getJob(ft.queue, job!.id)).toBeUndefined();
  });
});
