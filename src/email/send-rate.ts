import type { Fivetier } from '../platform.js';
import { tenantActivePlan } from '../tiers/oltp/queries/tenants.js';

/** Sends per second by plan slug when the plan sets no `send_rate_per_second`. */
export const PLAN_SEND_RATE_DEFAULTS: Readonly<Record<string, number>> = Object.freeze({ starter: 10, business: 100 });
/** How long a tenant's rate is cached, in ms. */
const RATE_TTL_MS = 60_000;

/**
 * Per-tenant send rate, from the tenant's active plan (`plans.send_rate_per_second`, else the
 * slug's default: Starter 10/s, Business 100/s; a tenant without a plan is not limited). A
 * token bucket per tenant (burst of one second's worth) in this process: several worker
 * processes each allow the rate.
 */
export class SendRateLimiter {
  readonly #ft: Fivetier;
  readonly #buckets = new Map<string, { rate: number | null; tokens: number; at: number; checked: number }>();

  constructor(ft: Fivetier) {
    this.#ft = ft;
  }

  /** Wait until the tenant may send one more email. Throws when the plan cannot be read (OLTP down). */
  async take(tenantId: string, signal?: AbortSignal): Promise<void> {
    const now = performance.now();
    let b = this.#buckets.get(tenantId);
    if (!b || now - b.checked > RATE_TTL_MS) {
      const plan = await this.#ft.oltp.withTenant(tenantId, (c) => tenantActivePlan(c));
      const rate = plan ? plan.send_rate_per_second ?? PLAN_SEND_RATE_DEFAULTS[plan.slug] ?? null : null;
      b = { rate, tokens: b?.tokens ?? rate ?? 0, at: b?.at ?? now, checked: now };
      this.#buckets.set(tenantId, b);
    }
    if (b.rate === null) return;
    for (;;) {
      const t = performance.now();
      b.tokens = Math.min(b.rate, b.tokens + ((t - b.at) / 1000) * b.rate);
      b.at = t;
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return;
      }
      if (signal?.aborted) throw signal.reason;
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - b!.tokens) / b!.rate!) * 1000)));
    }
  }
}
