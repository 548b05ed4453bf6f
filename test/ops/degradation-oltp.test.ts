import { afterAll, beforeAll, describe, it } from 'vitest';
import { degradation } from './degradation-scenario.js';
import { openProxiedTiers } from './ops-harness.js';

/** Must-show 2 for OLTP: cut (refused, then silent) and restored under traffic; see degradation-scenario.ts. */
describe('OLTP down while the service runs', () => {
  let env: Awaited<ReturnType<typeof openProxiedTiers>>;
  beforeAll(async () => {
    env = await openProxiedTiers('deg_oltp');
  });
  afterAll(async () => env?.close());

  it('refusing connections: writes fail fast, notifications, content reads and jobs that need no OLTP go on; all recovers after', { timeout: 120_000 }, () => degradation('oltp', 'refuse', env));
  it('accepting connections and answering nothing: the same', { timeout: 120_000 }, () => degradation('oltp', 'blackhole', env));
});
