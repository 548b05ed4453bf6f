/**
 * Per-tenant performance, kept as data (never as metric labels: tenants are unbounded): calls and
 * latency of each tenant's transactions, per tier, in this process. The dashboard and operators
 * read the top tenants by volume or latency. Bounded: past `maxTenants`, the tenant seen least
 * recently is forgotten.
 */
import type { TierName } from '../types.js';

export interface TenantFigures {
  tenantId: string;
  calls: number;
  /** Mean transaction time, in ms. */
  avgMs: number;
  maxMs: number;
  /** Calls per tier. */
  byTier: Partial<Record<TierName, number>>;
  lastAt: Date;
}

interface Entry {
  calls: number;
  totalMs: number;
  maxMs: number;
  byTier: Partial<Record<TierName, number>>;
  lastAt: number;
}

export const TENANTS_TRACKED_MAX = 10_000;

export class TenantPerformance {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;

  constructor(maxTenants = TENANTS_TRACKED_MAX) {
    this.#max = maxTenants;
  }

  /** One transaction of a tenant on a tier took `ms`. Never throws. */
  record(tenantId: string, tier: TierName, ms: number): void {
    let e = this.#entries.get(tenantId);
    if (e) this.#entries.delete(tenantId); // re-insert: the Map's order is recency
    else e = { calls: 0, totalMs: 0, maxMs: 0, byTier: {}, lastAt: 0 };
    e.calls++;
    e.totalMs += ms;
    e.maxMs = Math.max(e.maxMs, ms);
    e.byTier[tier] = (e.byTier[tier] ?? 0) + 1;
    e.lastAt = Date.now();
    this.#entries.set(tenantId, e);
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
  }

  /** The `n` tenants with the most calls (`volume`) or the highest mean latency (`latency`). */
  top(n: number, by: 'volume' | 'latency' = 'volume'): TenantFigures[] {
    const all = [...this.#entries].map(([tenantId, e]) => ({
      tenantId,
      calls: e.calls,
      avgMs: Math.round((e.totalMs / e.calls) * 100) / 100,
      maxMs: Math.round(e.maxMs * 100) / 100,
      byTier: { ...e.byTier },
      lastAt: new Date(e.lastAt),
    }));
    all.sort(by === 'volume' ? (a, b) => b.calls - a.calls : (a, b) => b.avgMs - a.avgMs);
    return all.slice(0, Math.max(0, n));
  }
}
