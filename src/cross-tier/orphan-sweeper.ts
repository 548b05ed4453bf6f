import type { Fivetier } from '../platform.js';
import { contentObjectsClaimOlderThan, contentObjectsDeleteMany } from '../tiers/content/queries/content-objects.js';
import { emailsFindUnreferencedKeys } from '../tiers/oltp/queries/emails.js';
import { isUuid } from '../types.js';
import { FivetierError } from '../errors/codes.js';

/** Content younger than this is never swept, in seconds: it may belong to a send still committing. */
export const SWEEP_GRACE_SECONDS_DEFAULT = 3_600;
/** Content rows examined per batch. */
export const SWEEP_BATCH_SIZE_DEFAULT = 1_000;

export interface SweepOptions {
  /** Grace period in seconds; default SWEEP_GRACE_SECONDS_DEFAULT. Must exceed the longest cross-tier transaction. */
  graceSeconds?: number;
  /** Rows per batch; default SWEEP_BATCH_SIZE_DEFAULT. */
  batchSize?: number;
  /** Only this tenant; default all. */
  tenantId?: string;
  /** One line with counts at the end. */
  log?: (line: string) => void;
}

export interface SweepResult {
  scanned: number;
  deleted: number;
  batches: number;
}

const NIL = '00000000-0000-0000-0000-000000000000';

/**
 * Remove content that no OLTP email references and that is older than the grace period (I3).
 * Walks content in keyset batches, locking each batch (FOR UPDATE SKIP LOCKED, so sweepers in
 * several processes skip each other's rows), asks OLTP which keys are unreferenced, and deletes
 * those in the same content transaction. Runs as fivetier_maintenance.
 * Throws FT_ERR_TENANT_INVALID, FT_ERR_TIER_UNAVAILABLE or SQL errors.
 */
export async function sweepOrphans(ft: Fivetier, options: SweepOptions = {}): Promise<SweepResult> {
  const graceSeconds = options.graceSeconds ?? SWEEP_GRACE_SECONDS_DEFAULT;
  const batchSize = options.batchSize ?? SWEEP_BATCH_SIZE_DEFAULT;
  const tenantId = options.tenantId ?? null;
  if (tenantId !== null && !isUuid(tenantId)) throw new FivetierError('FT_ERR_TENANT_INVALID', [JSON.stringify(tenantId)]);
  const started = performance.now();
  const result: SweepResult = { scanned: 0, deleted: 0, batches: 0 };
  let afterTenant = NIL;
  let afterKey = '';
  for (;;) {
    const n = await ft.content.withMaintenance(async (c) => {
      const rows = await contentObjectsClaimOlderThan(c, { afterTenant, afterKey, tenantId, graceSeconds, limit: batchSize });
      if (rows.length === 0) return 0;
      const last = rows[rows.length - 1]!;
      afterTenant = last.tenant_id;
      afterKey = last.storage_key;
      const orphans = await ft.oltp.withMaintenance((o) => emailsFindUnreferencedKeys(o, rows.map((r) => r.tenant_id), rows.map((r) => r.storage_key)));
      if (orphans.length > 0) result.deleted += await contentObjectsDeleteMany(c, orphans.map((r) => r.tenant_id), orphans.map((r) => r.storage_key));
      return rows.length;
    });
    result.scanned += n;
    if (n > 0) result.batches++;
    if (n < batchSize) break;
  }
  options.log?.(`orphan sweep: scanned ${result.scanned} content rows in ${result.batches} batches, deleted ${result.deleted} orphans (grace ${graceSeconds} s, ${Math.round(performance.now() - started)} ms)`);
  return result;
}
