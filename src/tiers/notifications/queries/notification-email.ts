import type { TxClient } from '../../tier-client.js';

/** What the SEND_NOTIFICATION job needs of a notification. */
export interface NotificationToEmail {
  user_id: string | null;
  title: string;
  message: string;
  channel: string;
  /** Listed still: not hidden, not expired. */
  live: boolean;
  emailed: boolean;
}

/** One notification of the caller's tenant (withTenant), or null. Throws on SQL errors. */
export async function notificationForEmail(c: Pick<TxClient, 'query'>, id: string): Promise<NotificationToEmail | null> {
  const { rows } = await c.query<NotificationToEmail>({
    name: 'notificationForEmail',
    text: `select user_id, title, message, channel,
                  deleted_at is null and (expires_at is null or expires_at > now()) as live,
                  coalesce(jsonb_typeof(data) = 'object' and data ? 'emailed_at', false) as emailed
             from public.notifications where id = $1`,
    values: [id],
  });
  return rows[0] ?? null;
}

/**
 * Record that the notification was emailed (`data.emailed_at`; data that is not an object, such
 * as JSON null, becomes one), so a job run after this one
 * sends nothing. Returns false when it was recorded already. Throws on SQL errors.
 */
export async function notificationMarkEmailed(c: Pick<TxClient, 'query'>, id: string): Promise<boolean> {
  const res = await c.query({
    name: 'notificationMarkEmailed',
    text: `update public.notifications
              set data = (case when jsonb_typeof(data) = 'object' then data else '{}'::jsonb end) || jsonb_build_object('emailed_at', now())
            where id = $1 and not (jsonb_typeof(data) = 'object' and data ? 'emailed_at')`,
    values: [id],
  });
  return (res.rowCount ?? 0) > 0;
}
