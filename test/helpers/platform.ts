import { randomBytes, randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { loadConfig, type ConfigOverrides, type FivetierConfig } from '../../src/config/config.js';
import { openFivetier, type Fivetier } from '../../src/platform.js';
import { TIER_NAMES, type TierName } from '../../src/types.js';
import { createDatabase, dropDatabase } from './servers.js';

/** The run's migrated tier databases, opened as a Fivetier (no migration, no embedded server). */
export async function openTestFivetier(overrides: ConfigOverrides = {}): Promise<Fivetier> {
  const urls = inject('tierUrls');
  // Each tier keeps the run's database unless the override names another URL.
  const tiers = Object.fromEntries(TIER_NAMES.map((t) => [t, { url: urls[t], ...overrides.tiers?.[t] }]));
  const redisUrl = inject('redisUrl') || undefined;
  const config = testConfig({ redisUrl, ...overrides, tiers });
  return openFivetier({ config, migrate: false });
}

/** Password of fivetier's login roles on the test server ('' = none). */
export const testRolePassword = (): string | undefined => inject('rolePassword') || undefined;

/** A BullMQ key prefix of this test run; the run's teardown deletes every key under it. */
export const testRedisPrefix = (): string => `${inject('runId')}-${randomBytes(4).toString('hex')}`;

/**
 * Configuration for a test's own platform: the overrides, plus the login roles' password when
 * the test server asks for one (the embedded server does), so no test has to remember it.
 */
export function testConfig(overrides: ConfigOverrides): FivetierConfig {
  return loadConfig({}, { rolePassword: testRolePassword(), ...overrides });
}

/** A fresh tenant id; tests share databases, so each one works in tenants of its own. */
export const newTenant = (): string => randomUUID();

/**
 * Empty scratch databases, one per tier asked for, for tests that must start from nothing
 * (schema, migrator). `drop()` removes them.
 */
export async function scratchDatabases(tiers: readonly TierName[], label: string): Promise<{ urls: Record<TierName, string>; drop: () => Promise<void> }> {
  const admin = inject('pgAdminUrl');
  const prefix = `${inject('runId')}_${label}_${randomBytes(3).toString('hex')}`;
  const urls = {} as Record<TierName, string>;
  for (const t of tiers) urls[t] = await createDatabase(admin, `${prefix}_${t}`);
  return {
    urls,
    drop: async () => {
      for (const t of tiers) await dropDatabase(admin, `${prefix}_${t}`);
    },
  };
}
