import { afterAll, beforeAll, describe, it } from 'vitest';
import { degradation } from './degradation-scenario.js';
import { openProxiedTiers } from './ops-harness.js';

/** Must-show 2 for Notifications: cut (refused, then silent) and restored under traffic; see degradation-scenario.ts. */
describe('Notifications down while the service runs', () => {
  let env: Awaited<ReturnType<typeof openProxiedTiers>>;
  beforeAll(async () => {
    env = await openProxiedTiers('deg_notifications');
  });
  afterAll(async () => env?.close());

  it('refusing connections: everything else goes on, the alert is recorded when it returns; all recovers after', { timeout: 120_000 }, () => degradation('notifications', 'refuse', env));
  it('accepting connections and answering nothing: the same', { timeout: 120_000 }, () => degradation('notifications', 'blackhole', env));
});
