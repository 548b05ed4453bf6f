/**
 * What the running service attaches to its platform for the operations views: the alert
 * evaluator, whether this instance leads the maintenance, and the state of Redis dispatch.
 * `/health`, `/metrics` and the dashboard take only the platform, so they find these here; a
 * platform without a service (a library user, a test) has none of them.
 */
import type { Fivetier } from '../platform.js';
import type { AlertFinding } from './alerts.js';

export interface OpsAttachments {
  /** The alerts firing now. */
  firingAlerts?: () => AlertFinding[];
  /** Whether this instance holds the maintenance leadership. */
  isLeader?: () => boolean;
  /** Redis dispatch: true up, false down; undefined while not known yet. Absent without Redis. */
  redisUp?: () => boolean | undefined;
}

const attached = new WeakMap<Fivetier, OpsAttachments>();

/** Attach (or replace) parts for `ft`. */
export function attachOps(ft: Fivetier, parts: OpsAttachments): void {
  attached.set(ft, { ...attached.get(ft), ...parts });
}

/** What is attached to `ft` (nothing for a bare platform). */
export function opsOf(ft: Fivetier): OpsAttachments {
  return attached.get(ft) ?? {};
}
