/**
 * Queue-tier statements of the data lifecycle (src/lifecycle/): retention of finished jobs and
 * job logs in small batches, and what an erasure removes. All run as fivetier_maintenance.
 * Each throws what `pg` throws.
 */
import type { Queryable } from './queryable.js';

/** Which finished jobs a retention rule takes: completed and cancelled ones, or dead ones. */
export type FinishedKind = 'finished' | 'dead';

// why: literal states, so the planner always sees the partial indexes' predicates
// (idx_jobs_finished, idx_jobs_dead), whatever plan it caches for the statement
const STATES: Record<FinishedKind, string> = { finished: `status in ('completed', 'cancelled')`, dead: `status = 'dead'` };

/** A job's or log's key, and the time retention goes by. */
export interface AgedRow {
  tenant_id: string;
  id: string;
  at: Date;
}

/**
 * One keyset page, in key order, of the jobs of `kind` last changed before `cutoff` (after
 * the previous page's last row), optionally of one tenant. What a retention run would delete.
 */
export async function jobsListFinishedBefore(db: Queryable, a: { kind: FinishedKind; cutoff: Date; tenantId: string | null; after: AgedRow | null; limit: number }): Promise<AgedRow[]> {
  const { rows } = await db.query<AgedRow>({
    name: `jobsListFinishedBefore_${a.kind}`,
    text: `select tenant_id, id, updated_at as at from public.jobs
            where ${STATES[a.kind]} and updated_at < $1 and ($2::uuid is null or tenant_id = $2)
              and ($3::uuid is null or (tenant_id, id) > ($3::uuid, $4::uuid))
            order by tenant_id, id limit $5`,
    values: [a.cutoff, a.tenantId, a.after?.tenant_id ?? null, a.after?.id ?? null, a.limit],
  });
  return rows;
}

/** How many logs of the jobs `jobsListFinishedBefore` lists were written at or after `logsCutoff` (the logs the job-log rule leaves). */
export async function jobLogsCountOfFinishedBefore(db: Queryable, a: { kind: FinishedKind; cutoff: Date; tenantId: string | null; logsCutoff: Date }): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    name: `jobLogsCountOfFinishedBefore_${a.kind}`,
    text: `select count(*)::int as n from public.job_logs l join public.jobs j on j.tenant_id = l.tenant_id and j.id = l.job_id
            where j.${STATES[a.kind]} and j.updated_at < $1 and ($2::uuid is null or j.tenant_id = $2) and l.created_at >= $3`,
    values: [a.cutoff, a.tenantId, a.logsCutoff],
  });
  return rows[0]!.n;
}

/**
 * Delete up to `limit` of those jobs, oldest first, skipping rows another transaction holds, with
 * their logs. Returns the jobs deleted and how many logs went with them.
 */
export async function jobsDeleteFinishedBatch(db: Queryable, a: { kind: FinishedKind; cutoff: Date; tenantId: string | null; limit: number }): Promise<{ jobs: Array<{ tenant_id: string; id: string }>; logs: number }> {
  const { rows } = await db.query<{ tenant_id: string; id: string; logs: number }>({
    name: `jobsDeleteFinishedBatch_${a.kind}`,
    text: `with gone as (
             delete from public.jobs where (tenant_id, id) in (
               select tenant_id, id from public.jobs
                where ${STATES[a.kind]} and updated_at < $1 and ($2::uuid is null or tenant_id = $2)
                order by updated_at limit $3 for update skip locked)
             returning tenant_id, id),
           logs as (delete from public.job_logs l using gone g where l.tenant_id = g.tenant_id and l.job_id = g.id returning 1)
           select g.tenant_id, g.id, (select count(*) from logs)::int as logs from gone g`,
    values: [a.cutoff, a.tenantId, a.limit],
  });
  return { jobs: rows.map((r) => ({ tenant_id: r.tenant_id, id: r.id })), logs: rows[0]?.logs ?? 0 };
}

/** One keyset page, in key order, of the job logs written before `cutoff`, optionally of one tenant. */
export async function jobLogsListBefore(db: Queryable, a: { cutoff: Date; tenantId: string | null; after: AgedRow | null; limit: number }): Promise<AgedRow[]> {
  const { rows } = await db.query<AgedRow>({
    name: 'jobLogsListBefore',
    text: `select tenant_id, id, created_at as at from public.job_logs
            where created_at < $1 and ($2::uuid is null or tenant_id = $2)
              and ($3::uuid is null or (tenant_id, id) > ($3::uuid, $4::uuid))
            order by tenant_id, id limit $5`,
    values: [a.cutoff, a.tenantId, a.after?.tenant_id ?? null, a.after?.id ?? null, a.limit],
  });
  return rows;
}

/** Delete up to `limit` job logs written before `cutoff`, oldest first. Returns their keys. */
export async function jobLogsDeleteBeforeBatch(db: Queryable, a: { cutoff: Date; tenantId: string | null; limit: number }): Promise<Array<{ tenant_id: string; id: string }>> {
  const { rows } = await db.query<{ tenant_id: string; id: string }>({
    name: 'jobLogsDeleteBeforeBatch',
    text: `delete from public.job_logs where (tenant_id, id) in (
             select tenant_id, id from public.job_logs where created_at < $1 and ($2::uuid is null or tenant_id = $2)
              order by created_at limit $3 for update skip locked)
           returning tenant_id, id`,
    values: [a.cutoff, a.tenantId, a.limit],
  });
  return rows;
}

/**
 * The tenant's jobs that exist for a recipient being erased: their payload names one of the
 * emails or leads, or holds the address (lower-case).
 */
export async function jobsFindForRecipient(db: Queryable, tenantId: string, address: string, emailIds: readonly string[], leadIds: readonly string[]): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>({
    name: 'jobsFindForRecipient',
    text: `select id from public.jobs where tenant_id = $1
             and (strpos(lower(payload::text), $2) > 0 or payload->>'email_id' = any($3::text[]) or payload->>'lead_id' = any($4::text[]))`,
    values: [tenantId, address, emailIds, leadIds],
  });
  return rows.map((r) => r.id);
}

/** Delete up to `limit` of the given jobs of the tenant, with their logs. Returns how many jobs went. */
export async function jobsDeleteByIdsBatch(db: Queryable, tenantId: string, ids: readonly string[], limit: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    name: 'jobsDeleteByIdsBatch',
    text: `with gone as (
             delete from public.jobs where tenant_id = $1 and id = any(array(select id from public.jobs where tenant_id = $1 and id = any($2::uuid[]) limit $3))
             returning tenant_id, id),
           logs as (delete from public.job_logs l using gone g where l.tenant_id = g.tenant_id and l.job_id = g.id returning 1)
           select count(*)::int as n from gone`,
    values: [tenantId, ids, limit],
  });
  return rows[0]!.n;
}

/** The tenant's jobs not finished yet (queued, dispatched or running). */
export async function jobsCountOpenOfTenant(db: Queryable, tenantId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    name: 'jobsCountOpenOfTenant',
    text: `select count(*)::int as n from public.jobs where tenant_id = $1 and status in ('queued', 'dispatched', 'running')`,
    values: [tenantId],
  });
  return rows[0]!.n;
}
