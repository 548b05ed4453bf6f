/**
 * Retention of notifications past `expires_at`: cross-tenant maintenance, in batches of short
 * transactions so that a large backlog never holds locks on many rows or for long.
 */
import type { Fivetier } from '../platform.js';
import { notificationCountExpired, notificationDeleteExpiredBatch, notificationHideExpiredBatch } from '../tiers/notifications/queries/notifications.js';
import { invalid, requireInt, requireOneOf, requireUuid } from './input.js';

export interface ExpireOptions {
  /** `delete` (default) removes expired rows; `hide` soft-deletes them (and marks them read) and keeps them. */
  mode?: 'delete' | 'hide';
  /** Rows per transaction; default 1,000, at most 10,000. */
  batchSize?: number;
  /** Count what a real run would touch and change nothing. */
  dryRun?: boolean;
  /** The cut-off; default now. Rows with `expires_at <= asOf` are expired. */
  asOf?: Date;
  /** Only this tenant's rows (a spot run); default every tenant. */
  tenantId?: string;
}

export interface ExpireResult {
  mode: 'delete' | 'hide';
  dryRun: boolean;
  asOf: Date;
  /** Rows deleted or hidden; in a dry run, the rows a real run with the same cut-off would touch. */
  count: number;
  /** Transactions used (0 in a dry run). */
  batches: number;
}

/**
 * Delete or hide the notifications expired at `asOf`, `batchSize` rows per transaction, as the
 * maintenance role. A dry run counts the same rows with the same conditions, so a real run
 * given the dry run's `asOf` reports the same count (rows created, hidden or deleted meanwhile
 * aside). Deleting a row frees its dedup key; producers set expiries past the time their key can
 * recur (docs/notifications.md).
 */
export async function expireNotifications(ft: Fivetier, options: ExpireOptions = {}): Promise<ExpireResult> {
  const mode = requireOneOf('mode', options.mode ?? 'delete', ['delete', 'hide'] as const);
  const batchSize = requireInt('batchSize', options.batchSize, 1, 10_000, 1_000);
  const asOf = options.asOf ?? new Date();
  if (!(asOf instanceof Date) || Number.isNaN(asOf.getTime())) throw invalid('asOf must be a valid Date');
  const tenantId = options.tenantId === undefined ? null : requireUuid('tenantId', options.tenantId);
  const dryRun = options.dryRun === true;

  if (dryRun) {
    const count = await ft.notifications.withMaintenance((c) => notificationCountExpired(c, asOf, mode === 'delete', tenantId));
    return { mode, dryRun, asOf, count, batches: 0 };
  }

  let count = 0;
  let batches = 0;
  let after: Date | null = null;
  for (;;) {
    const done: number = await ft.notifications.withMaintenance(async (c) => {
      if (mode === 'delete') return notificationDeleteExpiredBatch(c, asOf, batchSize, tenantId);
      const batch = await notificationHideExpiredBatch(c, asOf, batchSize, after, tenantId);
      after = batch.lastExpiresAt ?? after;
      return batch.n;
    });
    batches += 1;
    count += done;
    if (done < batchSize) return { mode, dryRun, asOf, count, batches };
  }
}
