import type { TxClient } from '../../tier-client.js';

/**
 * `sent` -> `failed` for an email the SMTP server refused after the terminating dot: `sent` was
 * committed before the dot was written (email.send), so the refusal is recorded afterwards.
 */
export async function emailRefusedAfterSent(c: TxClient, emailId: string): Promise<boolean> {
  const { rowCount } = await c.query({
    name: 'emailRefusedAfterSent',
    text: `update public.emails set status = 'failed', updated_at = now() where id = $1 and status = 'sent'`,
    values: [emailId],
  });
  return (rowCount ?? 0) > 0;
}
