import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fivetier } from '../../src/platform.js';
import { enqueue } from '../../src/queue/enqueue.js';
import { ensureQueue } from '../../src/queue/operator.js';
import { JobWorker } from '../../src/queue/worker.js';
import { createTenant, openScratchFivetier } from '../helpers/cross-tier.js';

/**
 * The queue tier's connections killed under a running worker, 20 times in a row
 * (pg_terminate_backend from another session, between and during statements): the process
 * lives (an unhandled 'error' event would end it), and every job completes exactly once.
 */
describe('a worker whose queue connections are terminated', () => {
  let ft: Fivetier;
  let urls: Record<string, string>;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    ({ ft, urls, drop } = await openScratchFivetier('terminated'));
  });
  afterAll(async () => drop?.());

  it('lives through 20 terminations and completes every job once', { timeout: 90_000 }, async () => {
    const tenantId = await createTenant(ft);
    await ensureQueue(ft.queue, 'terminated');
    const runs = new Map<string, number>();
    const worker = new JobWorker(ft, {
      queues: ['terminated'],
      redisUrl: null,
      concurrency: 4,
      pollIntervalMs: 100,
      timeoutsMs: { 'terminated.test': 1_000 },
      leaseGraceMs: 500,
      rescueIntervalMs: 300,
      metricsIntervalMs: 200,
    });
    worker.registerHandler('terminated.test', async (job) => {
      runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 20));
    });
    let errors = 0;
    worker.on('error', () => errors++);
    await worker.start();

    const admin = new pg.Client({ connectionString: urls.queue });
    await admin.connect();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 100; i++) ids.push((await enqueue(ft.queue, tenantId, { queue: 'terminated', type: 'terminated.test', payload: { i } }))!.id);
      // More jobs arrive while the worker's connections are killed under it.
      const more = (async () => {
        for (let i = 100; i < 300; i++) {
          ids.push((await enqueue(ft.queue, tenantId, { queue: 'terminated', type: 'terminated.test', payload: { i } }))!.id);
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      // 20 rounds in a row, each killing every worker connection there is (at least one).
      let rounds = 0;
      let terminated = 0;
      const giveUp = Date.now() + 30_000;
      while (rounds < 20 && Date.now() < giveUp) {
        const { rows } = await admin.query<{ n: number }>(
          `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
            where datname = current_database() and application_name = 'fivetier:queue:worker' and pid <> pg_backend_pid()`,
        );
        if (rows[0]!.n > 0) rounds++;
        terminated += rows[0]!.n;
        await new Promise((r) => setTimeout(r, rows[0]!.n > 0 ? 40 + Math.random() * 60 : 10));
      }
      await more;
      expect(rounds).toBe(20);

      const deadline = Date.now() + 60_000;
      let done = 0;
      while (Date.now() < deadline) {
        const { rows } = await admin.query<{ n: number }>("select count(*)::int as n from public.jobs where queue_name = 'terminated' and status = 'completed'");
        done = rows[0]!.n;
        if (done === ids.length) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(done).toBe(ids.length);
      // Completed once each: one successful attempt logged per job, and every job ran.
      const { rows } = await admin.query<{ job_id: string; n: number }>(
        "select job_id, count(*)::int as n from public.job_logs where status = 'success' and job_id = any($1) group by job_id",
        [ids],
      );
      expect(rows).toHaveLength(ids.length);
      expect(rows.filter((r) => r.n !== 1)).toEqual([]);
      for (const id of ids) expect(runs.get(id), id).toBeGreaterThanOrEqual(1);
      expect(errors, `the terminations (${terminated} connections) were felt`).toBeGreaterThan(0);
    } finally {
      await admin.end();
      await worker.stop(2_000);
    }
  });
});
