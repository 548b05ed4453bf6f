import type { Fivetier } from '../platform.js';
import { FivetierError } from '../errors/codes.js';
import { isUuid } from '../types.js';
import { attachmentInsert, attachmentsListByKey, type AttachmentRow } from '../tiers/content/queries/attachments.js';

/** Largest attachment stored by default, in bytes (10 MiB). */
export const ATTACHMENT_MAX_BYTES_DEFAULT = 10 * 1024 * 1024;

export interface NewAttachment {
  /** The storage key of the body the file belongs to; deleting that content removes the file. */
  storageKey: string;
  filename: string;
  mimeType: string;
  content: Uint8Array;
  disposition?: 'inline' | 'attachment';
}

/**
 * Store one attachment beside the body stored under `storageKey`, in the content tier, as the
 * tenant. Files larger than `options.maxBytes` (default ATTACHMENT_MAX_BYTES_DEFAULT) are refused
 * before anything is sent to the database. Returns the attachment's id.
 * Throws FT_ERR_TENANT_INVALID, FT_ERR_INPUT_INVALID, FT_ERR_ATTACHMENT_TOO_LARGE (413),
 * FT_ERR_CONTENT_NOT_FOUND, FT_ERR_TIER_UNAVAILABLE.
 */
export async function addAttachment(ft: Fivetier, tenantId: string, file: NewAttachment, options: { maxBytes?: number } = {}): Promise<string> {
  if (!isUuid(tenantId)) throw new FivetierError('FT_ERR_TENANT_INVALID', [JSON.stringify(tenantId)]);
  const maxBytes = options.maxBytes ?? ATTACHMENT_MAX_BYTES_DEFAULT;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new FivetierError('FT_ERR_INPUT_INVALID', [`maxBytes must be a non-negative integer, got ${String(maxBytes)}`]);
  if (typeof file.filename !== 'string' || file.filename.length === 0 || file.filename.length > 255) {
    throw new FivetierError('FT_ERR_INPUT_INVALID', ['attachment filename must be 1 to 255 characters']);
  }
  if (typeof file.mimeType !== 'string' || !/^[\w.+-]+\/[\w.+-]+$/.test(file.mimeType) || file.mimeType.length > 100) {
    throw new FivetierError('FT_ERR_INPUT_INVALID', [`attachment mime type must look like type/subtype, got ${JSON.stringify(file.mimeType)}`]);
  }
  if (!(file.content instanceof Uint8Array)) throw new FivetierError('FT_ERR_INPUT_INVALID', ['attachment content must be bytes (a Buffer or Uint8Array)']);
  if (file.content.byteLength > maxBytes) {
    throw new FivetierError('FT_ERR_ATTACHMENT_TOO_LARGE', [JSON.stringify(file.filename), file.content.byteLength, maxBytes]);
  }
  const disposition = file.disposition ?? 'attachment';
  if (disposition !== 'inline' && disposition !== 'attachment') throw new FivetierError('FT_ERR_INPUT_INVALID', [`attachment disposition must be inline or attachment, got ${JSON.stringify(disposition)}`]);
  const content = Buffer.from(file.content.buffer, file.content.byteOffset, file.content.byteLength);
  const id = await ft.content.withTenant(tenantId, (c) =>
    attachmentInsert(c, { tenantId, storageKey: file.storageKey, filename: file.filename, mimeType: file.mimeType, content, disposition }));
  if (id === null) throw new FivetierError('FT_ERR_CONTENT_NOT_FOUND', [JSON.stringify(file.storageKey), tenantId]);
  return id;
}

/** The attachments stored under `storageKey` in the tenant, oldest first, bytes as stored. Throws FT_ERR_TENANT_INVALID, FT_ERR_TIER_UNAVAILABLE. */
export async function listAttachments(ft: Fivetier, tenantId: string, storageKey: string): Promise<AttachmentRow[]> {
  if (!isUuid(tenantId)) throw new FivetierError('FT_ERR_TENANT_INVALID', [JSON.stringify(tenantId)]);
  return ft.content.withTenant(tenantId, (c) => attachmentsListByKey(c, storageKey));
}
