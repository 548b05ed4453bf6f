import type { TxClient } from '../../tier-client.js';

/** What track_email_sent needs of an email: its campaign and lead, when it was asked for and when it was sent. */
export interface EmailToTrack {
  id: string;
  campaign_id: string | null;
  lead_id: string | null;
  created_at: Date;
  sent_at: Date | null;
}

/**
 * The given emails the caller's tenant has (RLS), whatever their status; an email deleted
 * (erased) is not among them. Throws on SQL errors.
 */
export async function emailsToTrack(c: Pick<TxClient, 'query'>, emailIds: readonly string[]): Promise<EmailToTrack[]> {
  const { rows } = await c.query<EmailToTrack>({
    name: 'emailsToTrack',
    text: 'select id, campaign_id, lead_id, created_at, sent_at from public.emails where id = any($1::uuid[]) order by id',
    values: [emailIds],
  });
  return rows;
}
