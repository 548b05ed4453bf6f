import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { HealthReport } from '../../src/ops/health.js';
import { EMBEDDED_DATABASE_NAMES, TIER_NAMES } from '../../src/types.js';
import { exitCode, freePort, spawnCli, waitForOutput } from '../helpers/processes.js';

/**
 * `fivetier start` with no tier URL: the embedded default. Runs the real CLI in a child
 * process, so this is what a user gets from `npm start` on a machine without PostgreSQL.
 */
describe('the embedded default', () => {
  // mode 0700: as root, fivetier itself lets the postgres user pass through to the cluster
  const dataDir = mkdtempSync(`${tmpdir()}/fivetier-embedded-`);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('serves /health with all five tiers up, and keeps data across a restart', async () => {
    const env = {
      FIVETIER_DATA_DIR: dataDir,
      FIVETIER_EMBEDDED_PORT: String(await freePort()),
      FIVETIER_HTTP_PORT: String(await freePort()),
    };
    const health = async () => (await (await fetch(`http://127.0.0.1:${env.FIVETIER_HTTP_PORT}/health`)).json()) as HealthReport;

    const first = spawnCli(['start'], env);
    await waitForOutput(first, /listening on/, 110_000);
    expect(first.output()).toMatch(/QUEUE_REDIS_URL is not set/);
    const report = await health();
    expect(report.status).toBe('up');
    for (const tier of TIER_NAMES) expect(report.tiers[tier].status, tier).toBe('up');

    // Write a row straight into the OLTP database of the embedded server.
    const { adminPassword } = JSON.parse(readFileSync(`${dataDir}/secrets.json`, 'utf8'));
    const oltpUrl = `postgresql://postgres:${adminPassword}@127.0.0.1:${env.FIVETIER_EMBEDDED_PORT}/${EMBEDDED_DATABASE_NAMES.oltp}`;
    const client = new pg.Client({ connectionString: oltpUrl });
    await client.connect();
    const { rows } = await client.query("insert into tenants (name) values ('kept across restarts') returning id");
    await client.end();

    first.kill('SIGTERM');
    expect(await exitCode(first)).toBe(0);

    const second = spawnCli(['start'], env);
    try {
      await waitForOutput(second, /listening on/, 110_000);
      expect((await health()).status).toBe('up');
      const again = new pg.Client({ connectionString: oltpUrl });
      await again.connect();
      const kept = await again.query('select name from tenants where id = $1', [rows[0].id]);
      await again.end();
      expect(kept.rows).toEqual([{ name: 'kept across restarts' }]);
    } finally {
      second.kill('SIGTERM');
      expect(await exitCode(second)).toBe(0);
    }
  }, 300_000);
});
