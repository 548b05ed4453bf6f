import type { TxClient } from '../../tier-client.js';

/**
 * One fan-out batch of a campaign, in the caller's tenant transaction: the next `limit` leads
 * after `after` (keyset on lead id), one email each (ON CONFLICT DO NOTHING: a lead never gets a
 * second email of the campaign), `suppressed` for addresses on the suppression list and
 * `queued` for the rest, with one `email.send` outbox row (`{email_ids}`) per `emailsPerJob` of them. Returns the last lead id of the batch
 * (null when there were none) and counts. Throws on SQL errors.
 */
export async function campaignFanoutBatch(
  c: TxClient,
  args: { tenantId: string; campaignId: string; after: string | null; limit: number; queue: string; jobType: string; priority: number; emailsPerJob: number },
): Promise<{ lastLead: string | null; leads: number; created: number; suppressed: number }> {
  const { rows } = await c.query<{ last_lead: string | null; leads: number; created: number; suppressed: number }>({
    name: 'campaignFanoutBatch',
    text: `with next as (
             select cl.lead_id, l.email,
                    exists (select 1 from public.suppressions s
                             where s.tenant_id = cl.tenant_id and s.address_hash = sha256(convert_to(lower(l.email), 'UTF8'))) as suppressed
               from public.campaign_leads cl
               join public.leads l on l.tenant_id = cl.tenant_id and l.id = cl.lead_id
              where cl.tenant_id = $1 and cl.campaign_id = $2 and ($3::uuid is null or cl.lead_id > $3)
              order by cl.lead_id limit $4
           ), made as (
             insert into public.emails (tenant_id, campaign_id, lead_id, recipient, status)
             select $1, $2, n.lead_id, n.email, case when n.suppressed then 'suppressed' else 'queued' end from next n
             on conflict (tenant_id, campaign_id, lead_id) where campaign_id is not null and lead_id is not null do nothing
             returning id, status
           ), jobs as (
             insert into public.outbox (tenant_id, queue_name, job_type, payload, priority, run_at)
             select $1, $5, $6, jsonb_build_object('email_ids', jsonb_agg(g.id order by g.id)), $7, now()
               from (select m.id, (row_number() over (order by m.id) - 1) / $8 as grp from made m where m.status = 'queued') g
              group by g.grp
             returning 1
           )
           select (select lead_id from next order by lead_id desc limit 1) as last_lead,
                  (select count(*) from next)::int as leads,
                  (select count(*) from made)::int as created,
                  (select count(*) from made where status = 'suppressed')::int as suppressed`,
    values: [args.tenantId, args.campaignId, args.after, args.limit, args.queue, args.jobType, args.priority, args.emailsPerJob],
  });
  return { lastLead: rows[0]!.last_lead, leads: rows[0]!.leads, created: rows[0]!.created, suppressed: rows[0]!.suppressed };
}

/**
 * `email.send` outbox rows (`{email_ids}`, `emailsPerJob` emails each) for every email of the
 * campaign still `queued` (after a pause or a crash: jobs that found the campaign paused left
 * their emails queued). Duplicate jobs for one email are harmless: the send claim lets one run
 * deliver. Returns how many emails were queued.
 */
export async function campaignRequeueQueued(c: TxClient, args: { tenantId: string; campaignId: string; queue: string; jobType: string; priority: number; emailsPerJob: number }): Promise<number> {
  const { rows } = await c.query<{ n: number }>({
    name: 'campaignRequeueQueued',
    text: `with jobs as (
             insert into public.outbox (tenant_id, queue_name, job_type, payload, priority, run_at)
             select $1, $3, $4, jsonb_build_object('email_ids', jsonb_agg(g.id order by g.id)), $5, now()
               from (select e.id, (row_number() over (order by e.id) - 1) / $6 as grp
                       from public.emails e where e.tenant_id = $1 and e.campaign_id = $2 and e.status = 'queued') g
              group by g.grp
             returning jsonb_array_length(payload -> 'email_ids') as n
           )
           select coalesce(sum(n), 0)::int as n from jobs`,
    values: [args.tenantId, args.campaignId, args.queue, args.jobType, args.priority, args.emailsPerJob],
  });
  return rows[0]!.n;
}

/** What email.send needs of an email it claimed: recipient, lead, campaign and template. */
export interface EmailToSend {
  id: string;
  tenant_id: string;
  campaign_id: string | null;
  lead_id: string | null;
  recipient: string;
  subject: string | null;
  content_storage_key: string | null;
  previous_status: string;
  /** The recipient is on the tenant's suppression list now (it may have joined after the fan-out). */
  suppressed: boolean;
  lead_name: string | null;
  lead_company: string | null;
  from_address: string | null;
  template_id: string | null;
  template_subject: string | null;
  template_content: string | null;
  template_updated_at: Date | null;
}


/**
 * Claim emails for one send attempt: queued -> sending with this attempt's token, valid for
 * `claimSeconds`; a `sending` claim whose time ran out (its attempt died) is taken over. Not
 * while their campaign is paused. The rows are locked in id order, so two attempts over
 * overlapping emails never deadlock. Returns what the send needs of each email claimed; the
 * others are not claimable (sent, failed, suppressed, claimed by a live attempt, or their
 * campaign paused).
 */
export async function emailClaimForSendMany(c: TxClient, args: { emailIds: readonly string[]; token: string; claimSeconds: number }): Promise<EmailToSend[]> {
  const { rows } = await c.query<EmailToSend>({
    name: 'emailClaimForSendMany',
    text: `with old as (
             select e.id, e.status, e.send_until from public.emails e where e.id = any($1::uuid[]) order by e.id for update
           ), claimed as (
             update public.emails e set status = 'sending', send_token = $2,
                    send_until = now() + make_interval(secs => $3), updated_at = now()
               from old
              where e.id = old.id
                and (old.status = 'queued' or (old.status = 'sending' and old.send_until < now()))
                and not exists (select 1 from public.campaigns k where k.tenant_id = e.tenant_id and k.id = e.campaign_id and k.status = 'paused')
             returning e.*, old.status as previous_status
           )
           select x.id, x.tenant_id, x.campaign_id, x.lead_id, x.recipient, x.subject, x.content_storage_key, x.previous_status,
                  exists (select 1 from public.suppressions s
                           where s.tenant_id = x.tenant_id and s.address_hash = sha256(convert_to(lower(x.recipient), 'UTF8'))) as suppressed,
                  l.name as lead_name, l.company as lead_company, k.from_address, t.id as template_id,
                  t.subject as template_subject, t.content as template_content, t.updated_at as template_updated_at
             from claimed x
             left join public.leads l on l.tenant_id = x.tenant_id and l.id = x.lead_id
             left join public.campaigns k on k.tenant_id = x.tenant_id and k.id = x.campaign_id
             left join public.templates t on t.tenant_id = k.tenant_id and t.id = k.template_id
            order by x.id`,
    values: [args.emailIds, args.token, args.claimSeconds],
  });
  return rows;
}

/** Of the given emails, those another attempt holds a live claim on. */
export async function emailsClaimedLive(c: TxClient, emailIds: readonly string[]): Promise<string[]> {
  const { rows } = await c.query<{ id: string }>({
    name: 'emailsClaimedLive',
    text: `select id from public.emails where id = any($1::uuid[]) and status = 'sending' and send_until >= now()`,
    values: [emailIds],
  });
  return rows.map((r) => r.id);
}

/**
 * sending -> `status` for each (email, token) whose attempt still holds the claim (`queued` gives
 * claims back). Returns the emails changed, with their campaign.
 */
export async function emailFinishSendMany(
  c: TxClient,
  args: { status: 'sent' | 'failed' | 'suppressed' | 'queued'; items: ReadonlyArray<{ emailId: string; token: string }> },
): Promise<Array<{ id: string; campaign_id: string | null }>> {
  const { rows } = await c.query<{ id: string; campaign_id: string | null }>({
    name: 'emailFinishSendMany',
    text: `update public.emails e set status = $1::text, send_token = null, send_until = null, updated_at = now(),
             sent_at = case when $1::text = 'sent' then now() else e.sent_at end
             from unnest($2::uuid[], $3::uuid[]) as x(id, token)
            where e.id = x.id and e.send_token = x.token and e.status = 'sending'
           returning e.id, e.campaign_id`,
    values: [args.status, args.items.map((i) => i.emailId), args.items.map((i) => i.token)],
  });
  return rows;
}

/**
 * sending -> `sent` for each (email, token) whose attempt still holds the claim, with the key of
 * its body and its rendered subject when given (null: kept as they are), and one outbox row of
 * `jobType` per campaign of those emails (`{campaign_id, email_ids}`), in one statement. Returns
 * the emails recorded.
 */
export async function emailsRecordSent(
  c: TxClient,
  args: {
    tenantId: string;
    items: ReadonlyArray<{ emailId: string; token: string; storageKey: string | null; subject: string | null }>;
    queue: string;
    jobType: string;
    priority: number;
  },
): Promise<string[]> {
  const { rows } = await c.query<{ id: string }>({
    name: 'emailsRecordSent',
    text: `with sent as (
             update public.emails e set status = 'sent', send_token = null, send_until = null, updated_at = now(), sent_at = now(),
                    content_storage_key = coalesce(x.storage_key, e.content_storage_key), subject = coalesce(x.subject, e.subject)
               from unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[]) as x(id, token, storage_key, subject)
              where e.id = x.id and e.send_token = x.token and e.status = 'sending'
             returning e.id, e.campaign_id
           ), track as (
             insert into public.outbox (tenant_id, queue_name, job_type, payload, priority, run_at)
             select $1, $6, $7, jsonb_build_object('campaign_id', s.campaign_id, 'email_ids', jsonb_agg(s.id order by s.id)), $8, now()
               from sent s where s.campaign_id is not null group by s.campaign_id
             returning 1
           )
           select id from sent`,
    values: [
      args.tenantId,
      args.items.map((i) => i.emailId),
      args.items.map((i) => i.token),
      args.items.map((i) => i.storageKey),
      args.items.map((i) => i.subject?.slice(0, 998) ?? null),
      args.queue,
      args.jobType,
      args.priority,
    ],
  });
  return rows.map((r) => r.id);
}
