import type { Fivetier } from '../../src/platform.js';
import { tenantUserInvite, tenantUserSetJoined } from '../../src/tiers/oltp/queries/users.js';

/**
 * A user who has joined the tenant: invited by the tenant (the app role), then marked joined as
 * the account flow does once the person authenticated (the maintenance role). Returns the user id.
 */
export async function joinedUser(ft: Fivetier, tenantId: string, email: string): Promise<string> {
  const userId = await ft.oltp.withTenant(tenantId, (c) => tenantUserInvite(c, email, ['owner']));
  const joined = await ft.oltp.withMaintenance((c) => tenantUserSetJoined(c, tenantId, userId));
  if (!joined) throw new Error(`${email} had no pending invitation to ${tenantId}`);
  return userId;
}
