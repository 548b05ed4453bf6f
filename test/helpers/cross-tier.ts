import type { ConfigOverrides } from '../../src/config/config.js';
import { migrateTiers } from '../../src/migrate/migrator.js';
import { openFivetier, type Fivetier } from '../../src/platform.js';
import { startService, type Service, type ServiceOptions } from '../../src/service.js';
import { TIER_NAMES, type TierName } from '../../src/types.js';
import { newTenant, scratchDatabases, testConfig, testRolePassword } from './platform.js';

/** A fresh tenant with its `tenants` row in OLTP (emails and outbox reference it). */
export async function createTenant(ft: Fivetier): Promise<string> {
  const id = newTenant();
  await ft.oltp.withTenant(id, (c) => c.query('insert into tenants (id, name) values ($1, $2)', [id, `test ${id.slice(0, 8)}`]));
  return id;
}

/** Everything the three tiers hold for one tenant's sends: emails, content keys, jobs, outbox rows. */
export async function tenantState(ft: Fivetier, tenantId: string) {
  const emails = await ft.oltp.withMaintenance((c) => c.query<{ id: string; content_storage_key: string; recipient: string; subject: string; status: string }>('select id, content_storage_key, recipient, subject, status from emails where tenant_id = $1', [tenantId]));
  const content = await ft.content.withMaintenance((c) => c.query<{ storage_key: string; content_text: string }>('select storage_key, content_text from content_objects where tenant_id = $1', [tenantId]));
  const jobs = await ft.queue.withMaintenance((c) => c.query<{ id: string; queue_name: string; job_type: string; payload: { email_id?: string }; status: string; run_at: Date }>('select id, queue_name, job_type, payload, status, run_at from jobs where tenant_id = $1', [tenantId]));
  const outbox = await ft.oltp.withMaintenance((c) => c.query<{ id: string }>('select id from outbox where tenant_id = $1', [tenantId]));
  return { emails: emails.rows, content: content.rows, jobs: jobs.rows, outbox: outbox.rows };
}

/**
 * A migrated set of scratch databases of its own, opened as a Fivetier. Cross-tier tests use
 * it because relays and sweepers work across tenants: in the shared run databases they would
 * move or delete rows that other test files plant on purpose.
 */
export async function openScratchFivetier(label: string, overrides: ConfigOverrides = {}): Promise<{ ft: Fivetier; urls: Record<TierName, string>; env: Record<string, string>; drop: () => Promise<void> }> {
  const scratch = await migratedScratchDatabases(label);
  const tiers = Object.fromEntries(TIER_NAMES.map((t) => [t, { url: scratch.urls[t], ...overrides.tiers?.[t] }])) as ConfigOverrides['tiers'];
  const ft = await openFivetier({ config: testConfig({ ...overrides, tiers }), migrate: false });
  // For child processes (spawnCli / spawnScript add the roles' password themselves).
  const env: Record<string, string> = Object.fromEntries(TIER_NAMES.map((t) => [`${t.toUpperCase()}_DB_URL`, scratch.urls[t]]));
  return {
    ft,
    urls: scratch.urls,
    env,
    drop: async () => {
      await ft.close();
      await scratch.drop();
    },
  };
}

/** Scratch databases of every tier (see scratchDatabases), migrated; dropped again when migrating fails. */
export async function migratedScratchDatabases(label: string): Promise<{ urls: Record<TierName, string>; drop: () => Promise<void> }> {
  const scratch = await scratchDatabases(TIER_NAMES, label);
  try {
    await migrateTiers(scratch.urls, { rolePassword: testRolePassword() });
  } catch (err) {
    await scratch.drop();
    throw err;
  }
  return scratch;
}

/**
 * The service (`startService`) on migrated scratch databases of its own, for tests of the work
 * it does across tenants (relay, workers, upkeep). `config` is laid over the scratch tiers' URLs
 * and `http: { port: 0 }`, as openScratchFivetier does; a function gets the URLs first (to put a
 * proxy in front of one). `stop()` stops the service and drops the databases.
 */
export async function startScratchService(
  label: string,
  options: Omit<ServiceOptions, 'config'> & { config?: ConfigOverrides | ((urls: Record<TierName, string>) => ConfigOverrides | Promise<ConfigOverrides>) } = {},
): Promise<{ service: Service; urls: Record<TierName, string>; stop: () => Promise<void> }> {
  const scratch = await migratedScratchDatabases(label);
  const { config, ...serviceOptions } = options;
  try {
    const overrides = typeof config === 'function' ? await config(scratch.urls) : (config ?? {});
    const tiers = Object.fromEntries(TIER_NAMES.map((t) => [t, { url: scratch.urls[t], ...overrides.tiers?.[t] }])) as ConfigOverrides['tiers'];
    const service = await startService({ ...serviceOptions, config: testConfig({ http: { port: 0 }, ...overrides, tiers }) });
    return {
      service,
      urls: scratch.urls,
      stop: async () => {
        await service.stop();
        await scratch.drop();
      },
    };
  } catch (err) {
    await scratch.drop();
    throw err;
  }
}
