import type { Fivetier } from '../platform.js';
import { contentObjectsClaimOlderThan, contentObjectsDeleteMany } from '../tiers/content/queries/content-objects.js';
import { emailsFindUnreferencedKeys } from '../tiers/oltp/queries/emails.js';
import type { TxClient } from '../tiers/tier-client.js';
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

/** A content row's key, as the walks over content read it. */
export interface ContentKey {
  tenant_id: string;
  storage_key: string;
}

/** What one walk over content found and did. */
export interface UnreferencedContentWalk {
  /** Rows the claim returned. */
  scanned: number;
  /** Of those, rows no OLTP email references. */
  unreferenced: number;
  /** Of those, deleted (0 in a dry run). */
  deleted: number;
  batches: number;
}

/**
 * The walk the orphan sweeper and content expiry share: content in keyset batches of `claim`
 * (which picks the candidates and, outside a dry run, locks them), OLTP asked which keys of each
 * batch no email references, and those deleted in the batch's own content transaction, so a key
 * an email references is never removed (I1). Runs as fivetier_maintenance. Throws
 * FT_ERR_TIER_UNAVAILABLE or SQL errors.
 */
export async function removeUnreferencedContent(
  ft: Fivetier,
  options: {
    claim: (c: TxClient, after: { afterTenant: string; afterKey: string }, limit: number) => Promise<ContentKey[]>;
    batchSize: number;
    dryRun?: boolean;
    /** The unreferenced keys of each batch (deleted, or in a dry run those that would be). */
    onUnreferenced?: (keys: ContentKey[]) => void;
  },
): Promise<UnreferencedContentWalk> {
  const walk: UnreferencedContentWalk = { scanned: 0, unreferenced: 0, deleted: 0, batches: 0 };
  const after = { afterTenant: NIL, afterKey: '' };
  for (;;) {
    const n = await ft.content.withMaintenance(async (c) => {
      const rows = await options.claim(c, after, options.batchSize);
      if (rows.length === 0) return 0;
      const last = rows[rows.length - 1]!;
      after.afterTenant = last.tenant_id;
      after.afterKey = last.storage_key;
      const unreferenced = await ft.oltp.withMaintenance((o) => emailsFindUnreferencedKeys(o, rows.map((r) => r.tenant_id), rows.map((r) => r.storage_key)));
      walk.unreferenced += unreferenced.length;
      options.onUnreferenced?.(unreferenced);
      if (!options.dryRun && unreferenced.length > 0) walk.deleted += await contentObjectsDeleteMany(c, unreferenced.map((r) => r.tenant_id), unreferenced.map((r) => r.storage_key));
      return rows.length;
    });
    walk.scanned += n;
    if (n > 0) walk.batches++;
    if (n < options.batchSize) return walk;
  }
}

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
  const walk = await removeUnreferencedContent(ft, {
    batchSize,
    claim: (c, after, limit) => contentObjectsClaimOlderThan(c, { ...after, tenantId, graceSeconds, limit }),
  });
  const result: SweepResult = { scanned: walk.scanned, deleted: walk.deleted, batches: walk.batches };
  options.log?.(`orphan sweep: scanned ${result.scanned} content rows in ${result.batches} batches, deleted ${result.deleted} orphans (grace ${graceSeconds} s, ${Math.round(performance.now() - started)} ms)`);
  return result;
}
