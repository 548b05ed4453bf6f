import type { TxClient } from '../../tier-client.js';

/** Whether the user has a visible (not hidden) notification with this id, in the caller's tenant. */
export async function notificationVisibleToUser(c: TxClient, userId: string, id: string): Promise<boolean> {
  const { rows } = await c.query({
    name: 'notificationVisibleToUser',
    text: `SELECT 1 FROM public.notifications WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL`,
    values: [id, userId],
  });
  return rows.length > 0;
}
