import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { migrateTiers } from '../src/migrate/migrator.js';
import { TIER_NAMES, type TierName } from '../src/types.js';
import { createDatabase, deleteRedisKeys, dropDatabase, findTestPostgres, findTestRedis } from './helpers/servers.js';
import { addSuiteSecret } from './helpers/suite-secrets.js';

/**
 * Once per test run: find PostgreSQL (and Redis), create one fresh database per tier, migrate
 * them, and hand their URLs to the tests. The databases are dropped at the end unless
 * FIVETIER_TEST_KEEP=1 (for looking at what a failing run left).
 */
export default async function setup(project: TestProject) {
  const log = (l: string) => console.log(`[test setup] ${l}`);
  const pg = await findTestPostgres(log);
  const redisUrl = await findTestRedis();
  if (!redisUrl) log('no Redis answers: Redis tests will be skipped (set FIVETIER_TEST_REDIS_URL to run them)');

  const run = `ft_test_${randomBytes(4).toString('hex')}`;
  const urls = {} as Record<TierName, string>;
  for (const tier of TIER_NAMES) urls[tier] = await createDatabase(pg.adminUrl, `${run}_${tier}`);
  // why: a server with trust auth needs no password, but the run makes one anyway: every
  // connection of the runtime roles then carries it, and the secrets reporter checks that it
  // shows in no output, error or server log of the whole run.
  const rolePassword = pg.rolePassword ?? randomBytes(18).toString('base64url');
  addSuiteSecret(rolePassword);
  await migrateTiers(urls, { rolePassword });

  project.provide('pgAdminUrl', pg.adminUrl);
  project.provide('tierUrls', urls);
  project.provide('redisUrl', redisUrl ?? '');
  project.provide('runId', run);
  project.provide('rolePassword', rolePassword);

  return async () => {
    if (process.env.FIVETIER_TEST_KEEP !== '1') {
      for (const tier of TIER_NAMES) await dropDatabase(pg.adminUrl, `${run}_${tier}`);
      if (redisUrl) await deleteRedisKeys(redisUrl, `${run}-*`);
    }
    await pg.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    tierUrls: Record<TierName, string>;
    redisUrl: string;
    runId: string;
    rolePassword: string;
  }
}
