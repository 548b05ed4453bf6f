import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { HealthReport } from '../../src/ops/health.js';
import { TIER_NAMES, type TierName } from '../../src/types.js';
import { scratchDatabases } from '../helpers/platform.js';
import { exitCode, freePort, spawnCli, waitForOutput } from '../helpers/processes.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * `fivetier start` with one tier down, each tier in turn, on empty databases: the service
 * starts, `/health` is degraded with that tier down, and when the tier comes back the service
 * migrates it and reports it up, without a restart.
 */
describe('fivetier start with one tier down', () => {
  // Each tier refusing connections; and OLTP accepting them and answering nothing (a hung
  // server or a partition), where a start-up without a bound would wait forever.
  const cases: Array<[TierName, 'refusing' | 'frozen']> = [...TIER_NAMES.map((t): [TierName, 'refusing'] => [t, 'refusing']), ['oltp', 'frozen']];
  for (const [down, how] of cases) {
    it(`starts without ${down} (${how}), then migrates it and brings it in when it returns`, async () => {
      const scratch = await scratchDatabases(TIER_NAMES, `degraded_${down}_${how}`);
      const proxy = await TcpProxy.forUrl(scratch.urls[down]);
      if (how === 'frozen') proxy.freeze();
      else proxy.down();
      const port = await freePort();
      const env: Record<string, string> = { FIVETIER_HTTP_PORT: String(port) };
      for (const t of TIER_NAMES) env[`${t.toUpperCase()}_DB_URL`] = t === down ? proxy.urlFor(scratch.urls[t]) : scratch.urls[t];
      const health = async () => (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as HealthReport;
      const service = spawnCli(['start'], env);
      try {
        await waitForOutput(service, /listening on/, 60_000);
        expect(service.output()).toMatch(new RegExp(`${down}: unreachable \\([a-z ]+\\); starting without it, it is migrated when it answers`));
        const degraded = await health();
        expect(degraded.status).toBe('degraded');
        expect(degraded.tiers[down].status).toBe('down');
        expect(degraded.tiers[down].error).toMatch(/not migrated yet/);
        for (const t of TIER_NAMES) if (t !== down) expect(degraded.tiers[t].status, t).toBe('up');

        if (how === 'frozen') proxy.thaw();
        else proxy.up();
        await waitForOutput(service, new RegExp(`${down}: the tier answers again; applied 0001`), 30_000);
        const deadline = Date.now() + 10_000;
        let report = await health();
        while (report.status !== 'up' && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 200));
          report = await health();
        }
        expect(report.status, JSON.stringify(report.tiers)).toBe('up');
        expect(await appliedMigrations(scratch.urls[down])).toBeGreaterThan(0);
      } finally {
        service.kill('SIGTERM');
        expect(await exitCode(service), service.output()).toBe(0);
        await proxy.close();
        await scratch.drop();
      }
    }, 120_000);
  }
});

async function appliedMigrations(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>('select count(*)::int as n from public.fivetier_migrations');
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

