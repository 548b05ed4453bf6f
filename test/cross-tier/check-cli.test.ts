import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newStorageKey, sendEmail } from '../../src/cross-tier/index.js';
import type { Fivetier } from '../../src/platform.js';
import { createTenant, openScratchFivetier } from '../helpers/cross-tier.js';
import { exitCode, spawnCli } from '../helpers/processes.js';

describe('fivetier check', () => {
  let ft: Fivetier;
  let drop: () => Promise<void>;
  let env: Record<string, string>;
  const tierEnv = () => env;
  beforeAll(async () => {
    ({ ft, drop, env } = await openScratchFivetier('cli'));
  });
  afterAll(async () => {
    await drop();
  });

  it('exits 0 and says clean for a consistent tenant, with progress on stderr', async () => {
    const tenantId = await createTenant(ft);
    await sendEmail(ft, { tenantId, recipient: 'a@example.com', subject: 's', body: 'b' });
    const child = spawnCli(['check', '--tenant', tenantId], tierEnv());
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    expect(await exitCode(child)).toBe(0);
    expect(child.output()).toMatch(/scanned 1 emails/);
    expect(child.output()).toMatch(/\nclean\n/);
    expect(stderr).toMatch(/checked: \d+\/\d+ \(100%\)/);
  });

  it('exits 1 and reports the finding as JSON when content is orphaned', async () => {
    const tenantId = await createTenant(ft);
    const key = newStorageKey();
    await ft.content.withTenant(tenantId, (c) => c.query("insert into content_objects (tenant_id, storage_key, created_at) values ($1, $2, now() - interval '2 hours')", [tenantId, key]));
    const child = spawnCli(['check', '--tenant', tenantId, '--json', '--no-progress'], tierEnv());
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const code = await exitCode(child);
    expect(code, child.output()).toBe(1);
    const report = JSON.parse(stdout);
    expect(report.clean).toBe(false);
    expect(report.findings.I3).toEqual({ count: 1, samples: [{ tenant_id: tenantId, storage_key: key }] });
    await ft.content.withTenant(tenantId, (c) => c.query('delete from content_objects where storage_key = $1', [key]));
  });

  it('exits 2 for a tenant that is not a uuid', async () => {
    const child = spawnCli(['check', '--tenant', 'acme'], tierEnv());
    expect(await exitCode(child)).toBe(2);
    expect(child.output()).toMatch(/--tenant must be a uuid/);
  });
});
