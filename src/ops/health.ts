import type { Fivetier } from '../platform.js';
import { tierUp } from './metrics.js';
import type { TierHealth } from '../tiers/tier-client.js';
import type { TierName } from '../types.js';

/** The service's health: every tier's status, rolled up. */
export interface HealthReport {
  /** up: every tier up; degraded: some down; down: all down. */
  status: 'up' | 'degraded' | 'down';
  tiers: Record<TierName, Omit<TierHealth, 'tier'>>;
  checkedAt: string;
}

/** Check every tier once and roll the results up. Never throws. */
export async function checkHealth(fivetier: Fivetier): Promise<HealthReport> {
  const results = await fivetier.health();
  const tiers = {} as HealthReport['tiers'];
  for (const { tier, ...rest } of results) {
    tiers[tier] = rest;
    tierUp.set({ tier }, rest.status === 'up' ? 1 : 0);
  }
  const up = results.filter((r) => r.status === 'up').length;
  const status = up === results.length ? 'up' : up === 0 ? 'down' : 'degraded';
  return { status, tiers, checkedAt: new Date().toISOString() };
}
