/**
 * OLTP statements of the data lifecycle (src/lifecycle/): the erasure state rows, and what an
 * erasure finds and removes in OLTP. All run as fivetier_maintenance. Each throws what `pg` throws.
 */
import type { TxClient } from '../../tier-client.js';

export interface ErasureRow {
  id: string;
  tenant_id: string;
  kind: 'address' | 'tenant';
  address: string | null;
  subject_hash: Buffer;
  step: string;
  refs: Record<string, unknown>;
  requested_by: string | null;
  created_at: Date;
}

/**
 * The erasure of this subject: the one in progress if there is one (a second request resumes
 * it), else a new row at the first step. Returns it and whether it was new.
 */
export async function erasureStartOrResume(c: TxClient, e: { tenantId: string; kind: 'address' | 'tenant'; address: string | null; subjectHash: Buffer; requestedBy: string | null }): Promise<{ row: ErasureRow; created: boolean }> {
  const inserted = await c.query<ErasureRow>({
    name: 'erasureInsert',
    text: `insert into public.erasures (tenant_id, kind, address, subject_hash, requested_by) values ($1, $2, $3, $4, $5)
           on conflict (tenant_id, kind, subject_hash) do nothing returning *`,
    values: [e.tenantId, e.kind, e.address, e.subjectHash, e.requestedBy],
  });
  if (inserted.rows[0]) return { row: inserted.rows[0], created: true };
  const { rows } = await c.query<ErasureRow>({
    name: 'erasureGetBySubject',
    text: `select * from public.erasures where tenant_id = $1 and kind = $2 and subject_hash = $3 for update`,
    values: [e.tenantId, e.kind, e.subjectHash],
  });
  return { row: rows[0]!, created: false };
}

/** Record that the erasure reached `step`, merging `refs` into what it holds. */
export async function erasureAdvance(c: TxClient, tenantId: string, id: string, step: string, refs: Record<string, unknown> | null): Promise<void> {
  await c.query({
    name: 'erasureAdvance',
    text: `update public.erasures set step = $3, refs = refs || coalesce($4::jsonb, '{}'), updated_at = now() where tenant_id = $1 and id = $2`,
    values: [tenantId, id, step, refs === null ? null : JSON.stringify(refs)],
  });
}

/** The erasure is over: its row goes (the audit log keeps the record). */
export async function erasureDelete(c: TxClient, tenantId: string, id: string): Promise<void> {
  await c.query({ name: 'erasureDelete', text: `delete from public.erasures where tenant_id = $1 and id = $2`, values: [tenantId, id] });
}

/** Erasures in progress, oldest first (for `fivetier erase --list` and status). */
export async function erasuresList(c: TxClient): Promise<Array<Pick<ErasureRow, 'id' | 'tenant_id' | 'kind' | 'step' | 'created_at'>>> {
  const { rows } = await c.query({ name: 'erasuresList', text: `select id, tenant_id, kind, step, created_at from public.erasures order by created_at` });
  return rows;
}

/**
 * What an address erasure must follow into the other tiers, found before OLTP rows go: the
 * tenant's leads with that address, and its emails to that address or to those leads, with
 * their content keys. `address` is lower-case.
 */
export async function recipientRefs(c: TxClient, tenantId: string, address: string): Promise<{ leadIds: string[]; emailIds: string[]; storageKeys: string[] }> {
  const leads = await c.query<{ id: string }>({
    name: 'recipientLeads',
    text: `select id from public.leads where tenant_id = $1 and lower(email) = $2`,
    values: [tenantId, address],
  });
  const leadIds = leads.rows.map((r) => r.id);
  const emails = await c.query<{ id: string; content_storage_key: string | null }>({
    name: 'recipientEmails',
    text: `select id, content_storage_key from public.emails
            where tenant_id = $1 and (lower(recipient) = $2 or lead_id = any($3::uuid[]))`,
    values: [tenantId, address, leadIds],
  });
  return {
    leadIds,
    emailIds: emails.rows.map((r) => r.id),
    storageKeys: [...new Set(emails.rows.map((r) => r.content_storage_key).filter((k): k is string => k !== null))],
  };
}

/** Delete up to `limit` of the given emails of the tenant. Returns how many went. */
export async function emailsDeleteBatch(c: TxClient, tenantId: string, ids: readonly string[], limit: number): Promise<number> {
  const res = await c.query({
    name: 'emailsDeleteBatch',
    text: `delete from public.emails where tenant_id = $1 and id = any(array(select id from public.emails where tenant_id = $1 and id = any($2::uuid[]) limit $3))`,
    values: [tenantId, ids, limit],
  });
  return res.rowCount ?? 0;
}

/**
 * Delete the tenant's outbox rows (and rows set aside) that would run for the recipient: those
 * whose payload names one of the emails or leads, or holds the address. Returns how many went.
 */
export async function outboxDeleteForRecipient(c: TxClient, tenantId: string, address: string, emailIds: readonly string[], leadIds: readonly string[]): Promise<number> {
  let n = 0;
  for (const table of ['outbox', 'outbox_rejected'] as const) {
    const res = await c.query({
      name: `outboxDeleteForRecipient_${table}`,
      text: `delete from public.${table} where tenant_id = $1
               and (strpos(lower(payload::text), $2) > 0 or payload->>'email_id' = any($3::text[]) or payload->>'lead_id' = any($4::text[]))`,
      values: [tenantId, address, emailIds, leadIds],
    });
    n += res.rowCount ?? 0;
  }
  return n;
}

/** Delete the given leads of the tenant (their campaign memberships cascade). Returns how many went. */
export async function leadsDelete(c: TxClient, tenantId: string, ids: readonly string[]): Promise<number> {
  const res = await c.query({ name: 'leadsDelete', text: `delete from public.leads where tenant_id = $1 and id = any($2::uuid[])`, values: [tenantId, ids] });
  return res.rowCount ?? 0;
}

/** Keep the tenant's suppression of the address as its hash only. Returns how many rows changed. */
export async function suppressionsForgetAddress(c: TxClient, tenantId: string, hash: Buffer): Promise<number> {
  const res = await c.query({
    name: 'suppressionsForgetAddress',
    text: `update public.suppressions set address = null where tenant_id = $1 and address_hash = $2 and address is not null`,
    values: [tenantId, hash],
  });
  return res.rowCount ?? 0;
}

/** The tenant's members that belong to no other tenant (their user rows go with the tenant). */
export async function tenantSoleMemberIds(c: TxClient, tenantId: string): Promise<string[]> {
  const { rows } = await c.query<{ user_id: string }>({
    name: 'tenantSoleMemberIds',
    text: `select tu.user_id from public.tenant_users tu
            where tu.tenant_id = $1
              and not exists (select 1 from public.tenant_users o where o.user_id = tu.user_id and o.tenant_id <> $1)`,
    values: [tenantId],
  });
  return rows.map((r) => r.user_id);
}

/** Delete the given users unless they belong to a tenant (again). Returns how many went. */
export async function usersDeleteUnattached(c: TxClient, ids: readonly string[]): Promise<number> {
  const res = await c.query({
    name: 'usersDeleteUnattached',
    text: `delete from public.users u where u.id = any($1::uuid[]) and not exists (select 1 from public.tenant_users tu where tu.user_id = u.id)`,
    values: [ids],
  });
  return res.rowCount ?? 0;
}

/** Delete the tenant's own row (what still references it cascades). Returns how many went (0 or 1). */
export async function tenantDelete(c: TxClient, tenantId: string): Promise<number> {
  const res = await c.query({ name: 'tenantDelete', text: `delete from public.tenants where id = $1`, values: [tenantId] });
  return res.rowCount ?? 0;
}

/** The tenant's emails in `status`, by id (the demo reports delivery events for them). Runs as the tenant. */
export async function emailIdsWithStatus(c: TxClient, status: string, limit: number): Promise<string[]> {
  const { rows } = await c.query<{ id: string }>({ name: 'emailIdsWithStatus', text: `select id from public.emails where status = $1 order by id limit $2`, values: [status, limit] });
  return rows.map((r) => r.id);
}

/** The tenant's outbox rows not relayed yet. Runs as the tenant. */
export async function outboxCountOfTenant(c: TxClient): Promise<number> {
  const { rows } = await c.query<{ n: number }>({ name: 'outboxCountOfTenant', text: `select count(*)::int as n from public.outbox` });
  return rows[0]!.n;
}
