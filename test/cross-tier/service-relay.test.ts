import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sendEmail } from '../../src/cross-tier/index.js';
import type { Fivetier } from '../../src/platform.js';
import { TIER_NAMES } from '../../src/types.js';
import { createTenant, tenantState } from '../helpers/cross-tier.js';
import { openTestFivetier } from '../helpers/platform.js';
import { exitCode, freePort, spawnCli, waitForOutput } from '../helpers/processes.js';

describe('fivetier start runs the outbox relay', () => {
  let ft: Fivetier;
  beforeAll(async () => {
    ft = await openTestFivetier();
  });
  afterAll(async () => {
    await ft.close();
  });

  it('moves a committed outbox row into jobs, and stops cleanly on SIGTERM', async () => {
    const urls = inject('tierUrls');
    const env: Record<string, string> = Object.fromEntries(TIER_NAMES.map((t) => [`${t.toUpperCase()}_DB_URL`, urls[t]]));
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
    } finally {
      service.kill('SIGTERM');
    }
    expect(await exitCode(service)).toBe(0);
  });
});
