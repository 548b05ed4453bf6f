import type { TxClient } from '../../tier-client.js';

export interface TemplateRow {
  tenant_id: string;
  id: string;
  name: string;
  subject: string | null;
  content: string | null;
  updated_at: Date;
}

/** Insert a template in the caller's tenant transaction. Throws on SQL errors. */
export async function templateInsert(c: TxClient, row: { tenantId: string; name: string; subject: string; content: string }): Promise<TemplateRow> {
  const { rows } = await c.query<TemplateRow>({
    name: 'templateInsert',
    text: `insert into public.templates (tenant_id, name, subject, content) values ($1, $2, $3, $4)
           returning tenant_id, id, name, subject, content, updated_at`,
    values: [row.tenantId, row.name, row.subject, row.content],
  });
  return rows[0]!;
}
