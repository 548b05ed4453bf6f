import type { Fivetier } from '../platform.js';
import { FivetierError } from '../errors/codes.js';
import { isUuid } from '../types.js';
import { contentObjectGetByKey, type StoredContent } from '../tiers/content/queries/content-bodies.js';

/**
 * The content stored under `storageKey` in the tenant, its HTML body resolved whether it is kept
 * in the row or deduplicated in content_bodies; null when there is none.
 * Throws FT_ERR_TENANT_INVALID, FT_ERR_TIER_UNAVAILABLE.
 */
export async function getContent(ft: Fivetier, tenantId: string, storageKey: string): Promise<StoredContent | null> {
  if (!isUuid(tenantId)) throw new FivetierError('FT_ERR_TENANT_INVALID', [JSON.stringify(tenantId)]);
  return ft.content.withTenant(tenantId, (c) => contentObjectGetByKey(c, storageKey));
}
