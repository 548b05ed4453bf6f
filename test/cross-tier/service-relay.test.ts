import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendEmail } from '../../src/cross-tier/index.js';
import type { Fivetier } from '../../src/platform.js';
import { createTenant, openScratchFivetier, tenantState } from '../helpers/cross-tier.js';
import { exitCode, freePort, spawnCli, waitForOutput } from '../helpers/processes.js';

describe('fivetier start runs the outbox relay', () => {
  let ft: Fivetier;
  let drop: () => Promise<void>;
  let tierEnv: Record<string, string>;
  beforeAll(async () => {
    ({ ft, drop, env: tierEnv } = await openScratchFivetier('service'));
  });
  afterAll(async () => {
    await drop();
  });

  it('moves a committed outbox row into jobs, and stops cleanly on SIGTERM', async () => {
    const env: Record<string, string> = { ...tierEnv };
    env.FIVETIER_HTTP_PORT = String(await freePort());
    const service = spawnCli(['start'], env);
    try {
      await waitForOutput(service, /outbox relay started/, 60_000);
      const tenantId = await createTenant(ft);
      const sent = await sendEmail(ft, { tenantId, recipient: 'a@example.com', body: 'x' });
      // The service is another process: the relay there reports each pass that moved rows.
      await waitForOutput(service, /outbox relay: moved [1-9]/, 30_000);
      const deadline = Date.now() + 10_000;
      while ((await tenantState(ft, tenantId)).jobs.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect((await tenantState(ft, tenantId)).jobs.map((j) => j.id)).toEqual([sent.jobId]);
      // The service's worker claims only the job types it has handlers for: a job of another
      // type waits, queued, for a worker that has one, instead of failing into the dead letters.
      // (The service's worker may have claimed or run the job meanwhile: its lease goes too.)
      await ft.queue.withTenant(tenantId, (c) => c.query("update public.jobs set job_type = 'no.such.handler', status = 'queued', lease_owner = null, lease_expires_at = null where id = $1", [sent.jobId]));
      await new Promise((r) => setTimeout(r, 1_500));
      expect((await tenantState(ft, tenantId)).jobs.map((j) => j.status)).toEqual(['queued']);
    } finally {
      service.kill('SIGTERM');
    }
    // The SIGTERM handler exits 0 after closing everything.
    expect(await exitCode(service)).toBe(0);
    expect(service.output()).toMatch(/SIGTERM: shutting down/);
  });
});
