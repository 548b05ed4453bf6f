import { afterAll, beforeAll, describe, it } from 'vitest';
import { degradation } from './degradation-scenario.js';
import { openProxiedTiers } from './ops-harness.js';
import { HAVE_REDIS_SERVER } from '../helpers/redis-server.js';
import { redisDegradation } from './redis-scenario.js';

/** Must-show 2 for Queue (its PostgreSQL job store and its Redis): cut (refused, then silent) and restored under traffic; see degradation-scenario.ts. */
describe('Queue down while the service runs', () => {
  let env: Awaited<ReturnType<typeof openProxiedTiers>>;
  beforeAll(async () => {
    env = await openProxiedTiers('deg_queue');
  });
  afterAll(async () => env?.close());

  it('refusing connections: sends are accepted into the outbox, enqueues fail fast; all recovers after', { timeout: 120_000 }, () => degradation('queue', 'refuse', env));
  it('accepting connections and answering nothing: the same', { timeout: 120_000 }, () => degradation('queue', 'blackhole', env));
  it.skipIf(!HAVE_REDIS_SERVER)('Redis stopped: jobs run from PostgreSQL, Redis dispatch resumes when it returns', { timeout: 120_000 }, () => redisDegradation('refuse', env));
  it.skipIf(!HAVE_REDIS_SERVER)('Redis frozen (accepts, answers nothing): the same', { timeout: 120_000 }, () => redisDegradation('blackhole', env));
});
