/**
 * A tenant's emails as the API shows them: metadata from OLTP and, for one email, its content
 * from the content tier. The content is found through the email's own row: a caller names an
 * email id, never a storage key, so no key is ever guessed from outside.
 */
import type { Fivetier } from '../platform.js';
import { pageOf } from '../campaigns/resource-reads.js';
import { getContent } from '../content/read.js';
import { emailGet, emailList, type EmailRow } from '../tiers/oltp/queries/resource-reads.js';
import { isUuid } from '../types.js';
import { FivetierError } from '../errors/codes.js';

/** An email without its storage key (internal: it never leaves the platform). */
export type EmailMeta = Omit<EmailRow, 'content_storage_key'>;

function meta({ content_storage_key: _key, ...rest }: EmailRow): EmailMeta {
  return rest;
}

/** The tenant's emails by id, optionally of one campaign. */
export async function listEmails(ft: Fivetier, tenantId: string, options: { after?: string | null; limit?: number; campaignId?: string } = {}): Promise<EmailMeta[]> {
  const p = pageOf(options);
  if (options.campaignId !== undefined && !isUuid(options.campaignId)) throw new FivetierError('FT_ERR_INPUT_INVALID', ['campaignId must be a uuid']);
  const rows = await ft.oltp.withTenant(tenantId, (c) => emailList(c, { ...p, campaignId: options.campaignId ?? null }));
  return rows.map(meta);
}

/** What getEmail returns: the email, and its content (null when it has none or it expired). */
export interface EmailWithContent extends EmailMeta {
  content: { text: string | null; html: string | null; headers: Record<string, string> | null } | null;
}

/**
 * One email of the tenant with its content, or undefined. With the content tier down it throws
 * FT_ERR_TIER_UNAVAILABLE naming it (the metadata alone would hide that the body is missing).
 */
export async function getEmail(ft: Fivetier, tenantId: string, id: string): Promise<EmailWithContent | undefined> {
  if (!isUuid(id)) return undefined;
  const row = await ft.oltp.withTenant(tenantId, (c) => emailGet(c, id));
  if (!row) return undefined;
  const stored = row.content_storage_key === null ? null : await getContent(ft, tenantId, row.content_storage_key);
  return { ...meta(row), content: stored && { text: stored.content_text, html: stored.content_html, headers: stored.headers } };
}
