import { BackgroundLoop } from '../runtime/background-loop.js';
import { describeConnectionError, isConnectionError } from '../tiers/connection-errors.js';
import type { TierClient } from '../tiers/tier-client.js';
import { migrateTier, type MigrateOptions, type MigrateResult } from './migrator.js';

/** First wait before migrating a tier that was down again, in ms; doubles up to the max. */
export const CATCH_UP_RETRY_MS_DEFAULT = 1_000;
export const CATCH_UP_RETRY_MAX_MS_DEFAULT = 15_000;

/**
 * Migrate a tier that could not be reached when the platform opened, as soon as it answers,
 * then let calls through (`tier.markReady()`). Until then the tier refuses calls with
 * FT_ERR_TIER_UNAVAILABLE ("not migrated yet"). A migration that fails for another reason than
 * the tier being unreachable (a changed migration, say) is logged at every try. Never throws.
 */
export function catchUpMigrations(
  tier: TierClient,
  adminUrl: string,
  options: MigrateOptions & { log: (line: string) => void; onMigrated?: (result: MigrateResult) => void },
): BackgroundLoop {
  const loop = new BackgroundLoop(
    `migrate-${tier.name}`,
    async () => {
      const result = await migrateTier(tier.name, adminUrl, options);
      tier.markReady();
      options.log(`${tier.name}: the tier answers again; ${result.applied.length ? `applied ${result.applied.join(', ')}` : 'schema up to date'}; calls go through`);
      options.onMigrated?.(result);
      void loop.stop();
      return 'idle';
    },
    {
      idleMs: CATCH_UP_RETRY_MS_DEFAULT,
      initialDelayMs: CATCH_UP_RETRY_MS_DEFAULT,
      errorBackoffMs: CATCH_UP_RETRY_MS_DEFAULT,
      maxBackoffMs: CATCH_UP_RETRY_MAX_MS_DEFAULT,
      onError: (err, failures) => {
        if (!isConnectionError(err)) options.log(`${tier.name}: migration failed: ${(err as Error).message}`);
        else if (failures === 1 || failures % 20 === 0) options.log(`${tier.name}: still unreachable (${describeConnectionError(err)}); will migrate it when it answers`);
      },
    },
  );
  loop.start();
  return loop;
}
