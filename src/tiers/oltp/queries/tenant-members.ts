import type { TxClient } from '../../tier-client.js';

/**
 * The users who have joined the tenant of the caller's transaction (withTenant; RLS limits the
 * rows to it), oldest membership first, at most `limit`. Invitations not yet accepted and removed
 * members are left out: they must not be told about the tenant's work. Throws on SQL errors.
 */
export async function tenantJoinedUserIds(c: Pick<TxClient, 'query'>, limit: number): Promise<string[]> {
  const { rows } = await c.query<{ user_id: string }>({
    name: 'tenantJoinedUserIds',
    text: `select user_id from public.tenant_users
            where joined_at is not null and deleted_at is null
            order by joined_at, user_id limit $1`,
    values: [limit],
  });
  return rows.map((r) => r.user_id);
}

/** Lead and sent time of the given emails that are recorded sent (others are left out). Throws on SQL errors. */
export async function emailsSentAt(c: Pick<TxClient, 'query'>, emailIds: readonly string[]): Promise<Array<{ id: string; lead_id: string | null; sent_at: Date }>> {
  const { rows } = await c.query<{ id: string; lead_id: string | null; sent_at: Date }>({
    name: 'emailsSentAt',
    text: 'select id, lead_id, sent_at from public.emails where id = any($1::uuid[]) and sent_at is not null',
    values: [emailIds],
  });
  return rows;
}

/**
 * The address of a user who has joined the caller's tenant (RLS shows no one else); null
 * otherwise. Throws on SQL errors.
 */
export async function tenantUserEmail(c: Pick<TxClient, 'query'>, userId: string): Promise<string | null> {
  const { rows } = await c.query<{ email: string }>({
    name: 'tenantUserEmail',
    text: 'select email from public.users where id = $1 and deleted_at is null',
    values: [userId],
  });
  return rows[0]?.email ?? null;
}
