import type { TxClient } from '../../tier-client.js';

/** What a delivery event needs of its email. */
export interface EmailForEvent {
  campaign_id: string | null;
  lead_id: string | null;
  recipient: string;
  status: string;
}

/**
 * The email an event is about, locked for the caller's transaction (tenant set) so a status
 * change and its outbox row settle one event at a time. Null when the tenant has no such email.
 * Throws on SQL errors.
 */
export async function emailLockForEvent(c: Pick<TxClient, 'query'>, emailId: string): Promise<EmailForEvent | null> {
  const { rows } = await c.query<EmailForEvent>({
    name: 'emailLockForEvent',
    text: 'select campaign_id, lead_id, recipient, status from public.emails where id = $1 for update',
    values: [emailId],
  });
  return rows[0] ?? null;
}

/**
 * Move the email to `status` if it is in one of `from` (an event never takes an email back:
 * a bounce after `delivered` stays bounced, a late `delivered` leaves a bounce alone). Returns
 * whether it moved. Throws on SQL errors.
 */
export async function emailSetDeliveryStatus(c: Pick<TxClient, 'query'>, emailId: string, status: 'delivered' | 'bounced', from: readonly string[]): Promise<boolean> {
  const res = await c.query({
    name: 'emailSetDeliveryStatus',
    text: 'update public.emails set status = $2, updated_at = now() where id = $1 and status = any($3::text[])',
    values: [emailId, status, from],
  });
  return (res.rowCount ?? 0) > 0;
}
