import type { TxClient } from '../../tier-client.js';

export interface AttachmentRow {
  id: string;
  tenant_id: string;
  parent_storage_key: string;
  filename: string;
  mime_type: string;
  size_bytes: number;
  content: Buffer;
  storage_disposition: 'inline' | 'attachment';
  created_at: Date;
}

/**
 * Store one attachment under a body's storage key, in the caller's tenant transaction. Returns
 * its id, or null when no content row has that key (the foreign key would refuse it; checked
 * first so the caller can say which key). Throws on SQL errors.
 */
export async function attachmentInsert(
  c: TxClient,
  row: { tenantId: string; storageKey: string; filename: string; mimeType: string; content: Buffer; disposition: 'inline' | 'attachment' },
): Promise<string | null> {
  const { rows } = await c.query<{ id: string }>({
    name: 'attachmentInsert',
    text: `insert into public.attachments (tenant_id, parent_storage_key, filename, mime_type, size_bytes, content, storage_disposition)
           select $1, o.storage_key, $3, $4, octet_length($5::bytea), $5, $6
             from public.content_objects o where o.tenant_id = $1 and o.storage_key = $2
           returning id`,
    values: [row.tenantId, row.storageKey, row.filename, row.mimeType, row.content, row.disposition],
  });
  return rows[0]?.id ?? null;
}

/** The attachments stored under `storageKey` that the role can see, oldest first. Throws on SQL errors. */
export async function attachmentsListByKey(c: TxClient, storageKey: string): Promise<AttachmentRow[]> {
  const { rows } = await c.query<AttachmentRow>({
    name: 'attachmentsListByKey',
    text: `select id, tenant_id, parent_storage_key, filename, mime_type, size_bytes, content, storage_disposition, created_at
             from public.attachments where parent_storage_key = $1 order by created_at, id`,
    values: [storageKey],
  });
  return rows;
}
