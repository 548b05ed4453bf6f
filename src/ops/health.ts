import type { Fivetier } from '../platform.js';
import { opsOf } from './attached.js';
import { setRedisUp, tierUp } from './metrics.js';
import type { TierHealth } from '../tiers/tier-client.js';
import type { TierName } from '../types.js';

/** One tier in the health report: its status, and its circuit (open: calls fail at once). */
export type TierHealthReport = Omit<TierHealth, 'tier'> & { circuit: 'open' | 'closed' };

/** The service's health: every tier's status, rolled up. */
export interface HealthReport {
  /** up: every tier (and Redis, when configured) up; degraded: some down; down: all tiers down. */
  status: 'up' | 'degraded' | 'down';
  tiers: Record<TierName, TierHealthReport>;
  /**
   * Redis dispatch of the queue tier, when the service runs with Redis: while it is down,
   * workers dispatch from PostgreSQL alone (slower, nothing lost).
   */
  redis?: { status: 'up' | 'down' };
  checkedAt: string;
}

/** Check every tier once and roll the results up. Never throws. */
export async function checkHealth(fivetier: Fivetier): Promise<HealthReport> {
  const results = await fivetier.health();
  const tiers = {} as HealthReport['tiers'];
  for (const { tier, ...rest } of results) {
    tiers[tier] = { ...rest, circuit: fivetier.tiers[tier].state === 'down' ? 'open' : 'closed' };
    tierUp.set({ tier }, rest.status === 'up' ? 1 : 0);
  }
  const up = results.filter((r) => r.status === 'up').length;
  const redisState = opsOf(fivetier).redisUp?.();
  const redis = redisState === undefined ? undefined : { status: redisState ? ('up' as const) : ('down' as const) };
  if (redis) setRedisUp(redis.status === 'up');
  const status = up === 0 ? 'down' : up === results.length && redis?.status !== 'down' ? 'up' : 'degraded';
  return { status, tiers, ...(redis ? { redis } : {}), checkedAt: new Date().toISOString() };
}
