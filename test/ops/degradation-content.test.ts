import { afterAll, beforeAll, describe, it } from 'vitest';
import { degradation } from './degradation-scenario.js';
import { openProxiedTiers } from './ops-harness.js';

/** Must-show 2 for Content: cut (refused, then silent) and restored under traffic; see degradation-scenario.ts. */
describe('Content down while the service runs', () => {
  let env: Awaited<ReturnType<typeof openProxiedTiers>>;
  beforeAll(async () => {
    env = await openProxiedTiers('deg_content');
  });
  afterAll(async () => env?.close());

  it('refusing connections: sends fail fast, OLTP metadata reads and writes go on; all recovers after', { timeout: 120_000 }, () => degradation('content', 'refuse', env));
  it('accepting connections and answering nothing: the same', { timeout: 120_000 }, () => degradation('content', 'blackhole', env));
});
