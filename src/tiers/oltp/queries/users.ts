import type { TxClient } from '../../tier-client.js';

/**
 * Invite `email` to the tenant of the caller's transaction (withTenant) with `roles`, through
 * fivetier_invite_user: links the address's user, created when there is none, as an invitation
 * (not joined yet). Returns the user id; the answer is the same whether the address was known.
 * Throws on SQL errors (22023: not an e-mail address).
 */
export async function tenantUserInvite(c: Pick<TxClient, 'query'>, email: string, roles: readonly string[] = []): Promise<string> {
  const { rows } = await c.query<{ user_id: string }>({
    name: 'tenantUserInvite',
    text: 'select public.fivetier_invite_user($1, $2::text[]) as user_id',
    values: [email, roles],
  });
  return rows[0]!.user_id;
}

/**
 * The person accepted the invitation: mark the membership joined, so the tenant sees the user.
 * Run by the account flow as fivetier_maintenance once the person has authenticated. Returns
 * false when there is no pending invitation. Throws on SQL errors.
 */
export async function tenantUserSetJoined(c: Pick<TxClient, 'query'>, tenantId: string, userId: string): Promise<boolean> {
  const res = await c.query({
    name: 'tenantUserSetJoined',
    text: `update public.tenant_users set joined_at = now(), updated_at = now()
            where tenant_id = $1 and user_id = $2 and joined_at is null and deleted_at is null`,
    values: [tenantId, userId],
  });
  return (res.rowCount ?? 0) > 0;
}
