import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastMaintenanceRuns } from '../../src/lifecycle/maintenance-runs.js';
import { enqueue } from '../../src/queue/enqueue.js';
import type { Service } from '../../src/service.js';
import { createTenant, startScratchService } from '../helpers/cross-tier.js';
import { waitFor } from '../helpers/poll.js';

/**
 * Retention as the service runs it: in the upkeep schedule, leader only, with the ages of
 * `config.retention` (here FIVETIER_RETENTION_DEAD_JOBS_DAYS=30 through the overrides), logging
 * its counts and recording its run for `fivetier status`.
 */
describe('retention in the service', () => {
  let service: Service;
  let stop: () => Promise<void>;
  const lines: string[] = [];

  beforeAll(async () => {
    ({ service, stop } = await startScratchService('retention_upkeep', {
      config: { retention: { deadJobsDays: 30 } },
      handlers: {},
      log: (line) => lines.push(line),
      retentionIntervalMs: 1_000,
    }));
  });
  afterAll(async () => {
    await stop?.();
  });

  it('removes a dead job past the configured age and keeps a younger one, and records the run', { timeout: 60_000 }, async () => {
    const ft = service.fivetier;
    const tenantId = await createTenant(ft);
    const ids: string[] = [];
    for (const days of [40, 20]) {
      const job = await enqueue(ft.queue, tenantId, { type: 'custom.dead', payload: {} });
      await ft.queue.withMaintenance((c) => c.query(`update public.jobs set status = 'dead', failed_at = now(), updated_at = now() - make_interval(days => $3) where tenant_id = $1 and id = $2`, [tenantId, job!.id, days]));
      ids.push(job!.id);
    }
    const left = async () => (await ft.queue.withMaintenance((c) => c.query<{ id: string }>('select id from public.jobs where tenant_id = $1', [tenantId]))).rows.map((r) => r.id);
    await waitFor('retention to leave one row', async () => (await left()).length === 1, 30_000);
    expect(await left()).toEqual([ids[1]]);
    // The log line comes once the run is over (the job may be gone a moment before).
    await waitFor('the retention line in the log', () => lines.some((l) => /^retention: \d+ removed \(.*queue\.dead_jobs [1-9]/.test(l)), 10_000).catch((err: Error) => {
      throw new Error(`${err.message}; the log:\n${lines.join('\n')}`);
    });
    const runs = await lastMaintenanceRuns(ft);
    expect(runs.find((r) => r.task === 'retention')).toMatchObject({ ok: true });
  });
});
