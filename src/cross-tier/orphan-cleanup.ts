import { FivetierError } from '../errors/codes.js';
import type { Fivetier } from '../platform.js';
import type { TierClient, TxClient } from '../tiers/tier-client.js';
import { contentObjectsDeleteByKey } from '../tiers/content/queries/content-objects.js';
import { emailsExistWithStorageKey } from '../tiers/oltp/queries/emails.js';
import { isUuid } from '../types.js';
import { defaultFivetier } from './default-fivetier.js';
import { lookupKey } from './key-registry.js';
import { SWEEP_GRACE_SECONDS_DEFAULT } from './orphan-sweeper.js';

/** What cleanupOrphanedData did. */
export interface CleanupResult {
  /** Content rows deleted (0 or 1 in practice). */
  deleted: number;
  /**
   * Why nothing was deleted, when nothing was:
   * - `referenced`: an OLTP email references the key;
   * - `in-flight`: this process is still writing it (the send has not finished);
   * - `in-doubt`: the OLTP commit's outcome was unknown;
   * - `recent`: the content is younger than the sweeper's grace period and this process did not
   *   see it orphaned, so a send elsewhere may still be about to commit its email;
   * - `tier-unavailable`: OLTP or Content could not be reached;
   * - `absent`: there is no such content.
   * In every case but `absent` the orphan sweeper removes the content once it is an orphan older
   * than the grace period.
   */
  kept?: 'referenced' | 'in-flight' | 'in-doubt' | 'recent' | 'tier-unavailable' | 'absent';
}

/**
 * Delete the content row(s) with `storageKey` of `tenantId` unless an OLTP email references
 * the key. Runs as the tenant (runtime role). For content this process saw orphaned (its OLTP
 * commit failed). Throws FT_ERR_TIER_UNAVAILABLE or SQL errors.
 */
export async function deleteContentIfUnreferenced(ft: Fivetier, storageKey: string, tenantId: string): Promise<number> {
  const r = await deleteUnreferenced(ft, storageKey, tenantId, null);
  return r === 'referenced' ? 0 : r.deleted;
}

/**
 * The one check-then-delete of both cleanups: unless an OLTP email references the key, delete its
 * content (only rows older than `olderThanSeconds` when that is not null). As the tenant when one
 * is given, else across tenants as the maintenance role. Throws FT_ERR_TIER_UNAVAILABLE or SQL errors.
 */
async function deleteUnreferenced(ft: Fivetier, storageKey: string, tenantId: string | undefined, olderThanSeconds: number | null): Promise<'referenced' | { deleted: number; recent: number }> {
  // why: as the tenant when it is known; only a bare key needs the cross-tenant role
  const within = <T>(tier: TierClient, fn: (c: TxClient) => Promise<T>): Promise<T> => (tenantId !== undefined ? tier.withTenant(tenantId, fn) : tier.withMaintenance(fn));
  if (await within(ft.oltp, (c) => emailsExistWithStorageKey(c, storageKey))) return 'referenced';
  return within(ft.content, (c) => contentObjectsDeleteByKey(c, storageKey, olderThanSeconds));
}

/**
 * The seed's cleanup: remove the content stored under `storageKey` if no OLTP row references
 * it. Safe to call after a failed commit, for a key that was never written, and from any
 * process at any time: it never deletes content that a committed or in-flight email references.
 *
 * Content this process saw orphaned (its send failed after the content commit) goes at once.
 * Any other content goes only once it is older than the sweeper's grace period
 * (`graceSeconds`, default 1 h): a send in another process may be between its content and its
 * OLTP commit, and its email is invisible until it commits. When this process wrote the key it
 * runs as that tenant; otherwise as `tenantId`, or across tenants as the maintenance role.
 * Uses the default platform unless `options.fivetier` is given.
 *
 * Throws FT_ERR_TENANT_INVALID for a tenant id that is not a uuid; a tier that is down is
 * reported as `kept: 'tier-unavailable'`, never thrown.
 *
 * @example
 * await cleanupOrphanedData(emailData.storageKey); // { deleted: 1 } after a failed OLTP commit
 */
export async function cleanupOrphanedData(
  storageKey: string | undefined,
  options: { fivetier?: Fivetier; tenantId?: string; graceSeconds?: number } = {},
): Promise<CleanupResult> {
  if (options.tenantId !== undefined && !isUuid(options.tenantId)) throw new FivetierError('FT_ERR_TENANT_INVALID', [JSON.stringify(options.tenantId)]);
  const graceSeconds = options.graceSeconds ?? SWEEP_GRACE_SECONDS_DEFAULT;
  if (!(Number.isFinite(graceSeconds) && graceSeconds >= 0)) throw new FivetierError('FT_ERR_INPUT_INVALID', [`cleanupOrphanedData: graceSeconds must be a number >= 0, got ${graceSeconds}`]);
  const ft = options.fivetier ?? defaultFivetier('cleanupOrphanedData');
  if (typeof storageKey !== 'string' || storageKey === '') return { deleted: 0, kept: 'absent' };
  const known = lookupKey(storageKey);
  if (known?.state === 'in-doubt') return { deleted: 0, kept: 'in-doubt' };
  if (known?.state === 'pending') return { deleted: 0, kept: 'in-flight' };
  const olderThan = known?.state === 'orphaned' ? null : graceSeconds;
  const tenantId = known?.tenantId ?? options.tenantId;
  try {
    const r = await deleteUnreferenced(ft, storageKey, tenantId, olderThan);
    if (r === 'referenced') return { deleted: 0, kept: 'referenced' };
    const { deleted, recent } = r;
    if (deleted > 0) return { deleted };
    return { deleted: 0, kept: recent > 0 ? 'recent' : 'absent' };
  } catch {
    return { deleted: 0, kept: 'tier-unavailable' };
  }
}
