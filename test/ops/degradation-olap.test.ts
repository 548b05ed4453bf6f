import { afterAll, beforeAll, describe, it } from 'vitest';
import { degradation } from './degradation-scenario.js';
import { openProxiedTiers } from './ops-harness.js';

/** Must-show 2 for OLAP: cut (refused, then silent) and restored under traffic; see degradation-scenario.ts. */
describe('OLAP down while the service runs', () => {
  let env: Awaited<ReturnType<typeof openProxiedTiers>>;
  beforeAll(async () => {
    env = await openProxiedTiers('deg_olap');
  });
  afterAll(async () => env?.close());

  it('refusing connections: operations go on, analytics fail fast, all caught up after', { timeout: 120_000 }, () => degradation('olap', 'refuse', env));
  it('accepting connections and answering nothing: the same', { timeout: 120_000 }, () => degradation('olap', 'blackhole', env));
});
