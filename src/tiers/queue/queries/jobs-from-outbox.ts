import type { JobRow } from '../../../queue/job-states.js';
import type { TxClient } from '../../tier-client.js';

/** What the relay hands the queue tier for one outbox row (job id = outbox id). */
export type RelayedJob = Pick<JobRow, 'tenant_id' | 'id' | 'queue_name' | 'job_type' | 'priority' | 'payload' | 'run_at' | 'max_attempts'>;

/**
 * Insert jobs for relayed outbox rows; a job that exists already (an earlier relay pass that
 * could not delete its outbox rows) is left alone, so relaying is idempotent. A queue name
 * that `job_queues` does not know becomes 'default' rather than poisoning the batch.
 * Run by the outbox relay as fivetier_worker. Returns how many were new. Throws on SQL errors.
 */
export async function jobsInsertFromOutbox(c: TxClient, jobs: RelayedJob[]): Promise<number> {
  const res = await c.query({
    name: 'jobsInsertFromOutbox',
    text: `insert into public.jobs (tenant_id, id, queue_name, job_type, priority, payload, run_at, max_attempts)
           select x.tenant_id, x.id, coalesce(q.name, 'default'), x.job_type, x.priority, x.payload, x.run_at, x.max_attempts
             from jsonb_to_recordset($1::jsonb)
                  as x(tenant_id uuid, id uuid, queue_name text, job_type text, priority int, payload jsonb, run_at timestamptz, max_attempts int)
             left join public.job_queues q on q.name = x.queue_name
           on conflict (tenant_id, id) do nothing`,
    values: [JSON.stringify(jobs)],
  });
  return res.rowCount ?? 0;
}

/** Of the given job ids, those with no job row. Run by the consistency checker (I2). Throws on SQL errors. */
export async function jobsFindMissing(c: TxClient, tenantIds: string[], ids: string[]): Promise<Array<{ tenant_id: string; id: string }>> {
  const { rows } = await c.query({
    name: 'jobsFindMissing',
    text: `select k.tenant_id, k.id from unnest($1::uuid[], $2::uuid[]) as k(tenant_id, id)
             left join lateral (select 1 as found from public.jobs j where j.tenant_id = k.tenant_id and j.id = k.id limit 1) f on true
            where f.found is null`,
    values: [tenantIds, ids],
  });
  return rows;
}
