import type { Fivetier } from '../platform.js';
import { contentObjectsDeleteByKey } from '../tiers/content/queries/content-objects.js';
import { emailsExistWithStorageKey } from '../tiers/oltp/queries/emails.js';
import { defaultFivetier } from './default-fivetier.js';
import { lookupKey } from './key-registry.js';

/** What cleanupOrphanedData did. */
export interface CleanupResult {
  /** Content rows deleted (0 or 1 in practice). */
  deleted: number;
  /** Why nothing was deleted, when nothing was. */
  kept?: 'referenced' | 'in-doubt' | 'tier-unavailable' | 'absent';
}

/**
 * Delete the content row(s) with `storageKey` of `tenantId` unless an OLTP email references
 * the key. Runs as the tenant (runtime role). Throws FT_ERR_TIER_UNAVAILABLE or SQL errors.
 */
export async function deleteContentIfUnreferenced(ft: Fivetier, storageKey: string, tenantId: string): Promise<number> {
  const referenced = await ft.oltp.withTenant(tenantId, (c) => emailsExistWithStorageKey(c, storageKey));
  if (referenced) return 0;
  return ft.content.withTenant(tenantId, (c) => contentObjectsDeleteByKey(c, storageKey));
}

/**
 * The seed's cleanup: remove the content stored under `storageKey` if no OLTP row references
 * it. Safe to call after a failed commit, or for a key that was never written. When this
 * process wrote the key it runs as that tenant; otherwise it looks across tenants as the
 * maintenance role (it has only the key). It keeps the content when the OLTP commit's outcome
 * was in doubt, or when a tier is down: the orphan sweeper removes it after its grace period.
 * Uses the default platform unless `options.fivetier` is given. Never throws.
 *
 * @example
 * await cleanupOrphanedData(emailData.storageKey); // { deleted: 1 } after a failed OLTP commit
 */
export async function cleanupOrphanedData(storageKey: string | undefined, options: { fivetier?: Fivetier; tenantId?: string } = {}): Promise<CleanupResult> {
  try {
    const ft = options.fivetier ?? defaultFivetier('cleanupOrphanedData');
    if (typeof storageKey !== 'string' || storageKey === '') return { deleted: 0, kept: 'absent' };
    const known = lookupKey(storageKey);
    if (known?.inDoubt) return { deleted: 0, kept: 'in-doubt' };
    const tenantId = options.tenantId ?? known?.tenantId;
    let deleted: number;
    if (tenantId !== undefined) {
      const referenced = await ft.oltp.withTenant(tenantId, (c) => emailsExistWithStorageKey(c, storageKey));
      if (referenced) return { deleted: 0, kept: 'referenced' };
      deleted = await ft.content.withTenant(tenantId, (c) => contentObjectsDeleteByKey(c, storageKey));
    } else {
      const referenced = await ft.oltp.withMaintenance((c) => emailsExistWithStorageKey(c, storageKey));
      if (referenced) return { deleted: 0, kept: 'referenced' };
      deleted = await ft.content.withMaintenance((c) => contentObjectsDeleteByKey(c, storageKey));
    }
    return deleted > 0 ? { deleted } : { deleted: 0, kept: 'absent' };
  } catch {
    return { deleted: 0, kept: 'tier-unavailable' };
  }
}
