import type { Fivetier } from '../platform.js';
import { FivetierError } from '../errors/codes.js';
import { isUuid } from '../types.js';
import { removeUnreferencedContent, type ContentKey } from '../cross-tier/orphan-sweeper.js';
import { contentObjectsScanExpired } from '../tiers/content/queries/content-bodies.js';

/** Expired content rows examined per batch. */
export const EXPIRY_BATCH_SIZE_DEFAULT = 1_000;

export interface ContentExpireOptions {
  /** Count what would go, delete nothing. */
  dryRun?: boolean;
  batchSize?: number;
  /** Only this tenant; default all. */
  tenantId?: string;
  /** Expired means expires_at before this instant; default now. */
  asOf?: Date;
  log?: (line: string) => void;
  /** The keys of each batch that go (or, in a dry run, would go). */
  onUnreferenced?: (keys: ContentKey[]) => void;
}

export interface ContentExpireResult {
  dryRun: boolean;
  /** Rows past expires_at that were examined. */
  expired: number;
  /** Of those, deleted (or, in a dry run, that would be). */
  deleted: number;
  /** Of those, kept because an OLTP email still references the key (I1). */
  keptReferenced: number;
  batches: number;
}

/**
 * Delete content past its expires_at that no OLTP email references, in keyset batches, as
 * fivetier_maintenance (the orphan sweeper's walk, removeUnreferencedContent). A key an email
 * still references is kept, so an email's key always resolves (I1); such content goes once the
 * email is erased. Deleting a row releases its deduplicated body only if no other row references
 * it, and cascades to its attachments. A dry run walks the same batches without locking or
 * deleting and reports the same counts.
 * Throws FT_ERR_TENANT_INVALID, FT_ERR_INPUT_INVALID, FT_ERR_TIER_UNAVAILABLE.
 */
export async function expireContent(ft: Fivetier, options: ContentExpireOptions = {}): Promise<ContentExpireResult> {
  const dryRun = options.dryRun ?? false;
  const batchSize = options.batchSize ?? EXPIRY_BATCH_SIZE_DEFAULT;
  const tenantId = options.tenantId ?? null;
  const asOf = options.asOf ?? new Date();
  if (tenantId !== null && !isUuid(tenantId)) throw new FivetierError('FT_ERR_TENANT_INVALID', [JSON.stringify(tenantId)]);
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new FivetierError('FT_ERR_INPUT_INVALID', [`batchSize must be a positive integer, got ${String(batchSize)}`]);
  const walk = await removeUnreferencedContent(ft, {
    batchSize,
    dryRun,
    claim: (c, after, limit) => contentObjectsScanExpired(c, { ...after, tenantId, asOf, limit, lock: !dryRun }),
    onUnreferenced: options.onUnreferenced,
  });
  const result: ContentExpireResult = {
    dryRun,
    expired: walk.scanned,
    deleted: dryRun ? walk.unreferenced : walk.deleted,
    keptReferenced: walk.scanned - walk.unreferenced,
    batches: walk.batches,
  };
  options.log?.(`content expiry${dryRun ? ' (dry run)' : ''}: ${result.expired} expired rows, ${result.deleted} ${dryRun ? 'to delete' : 'deleted'}, ${result.keptReferenced} kept (referenced by an email), ${result.batches} batches`);
  return result;
}
