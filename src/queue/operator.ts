/**
 * Operator actions: show, retry, delete or cancel one job, pause and resume a queue. They run as
 * fivetier_worker (across tenants). A job's identity is (tenant, id): ids are unique per tenant
 * only, so each job action takes an optional tenant and acts on exactly one job, never on two
 * tenants' jobs at once. Each throws FT_ERR_QUEUE_JOB_NOT_FOUND / FT_ERR_QUEUE_JOB_AMBIGUOUS /
 * FT_ERR_QUEUE_JOB_STATE / FT_ERR_QUEUE_UNKNOWN when there is nothing (or no one thing) to act
 * on, FT_ERR_TENANT_INVALID for a tenant that is not a uuid, and what `pg` throws.
 */
import { FivetierError } from '../errors/codes.js';
import type { TierClient } from '../tiers/tier-client.js';
import { jobQueueInsertIfMissing, jobQueueList, jobQueueSetPaused, type JobQueueRow } from '../tiers/queue/queries/job-queues.js';
import { jobCountByQueueStatus, jobDeleteIfNotLeased, jobGet, jobListById, jobListByStatus, jobSetCancelledIfQueued, jobSetQueuedIfDead, jobsAnnounceReady } from '../tiers/queue/queries/jobs.js';
import { isUuid } from '../types.js';
import type { JobRow } from './job-states.js';

/** Tenants named in an FT_ERR_QUEUE_JOB_AMBIGUOUS message; more are counted, not listed. */
const AMBIGUOUS_TENANTS_LISTED = 10;

/**
 * The one job `id` names: the tenant's job when `tenantId` is given, else the only job with
 * that id. Undefined when there is none; throws FT_ERR_QUEUE_JOB_AMBIGUOUS when several
 * tenants have a job with that id and no tenant was given.
 */
async function findJob(queue: TierClient, id: string, tenantId: string | undefined): Promise<JobRow | undefined> {
  const pool = queue.statements('worker');
  if (tenantId !== undefined) {
    if (!isUuid(tenantId)) throw new FivetierError('FT_ERR_TENANT_INVALID', [JSON.stringify(tenantId)]);
    return jobGet(pool, tenantId.toLowerCase(), id);
  }
  const rows = await jobListById(pool, id, AMBIGUOUS_TENANTS_LISTED + 1);
  if (rows.length <= 1) return rows[0];
  const listed = rows.slice(0, AMBIGUOUS_TENANTS_LISTED).map((r) => r.tenant_id).join(', ');
  const count = rows.length > AMBIGUOUS_TENANTS_LISTED ? `more than ${AMBIGUOUS_TENANTS_LISTED}` : String(rows.length);
  throw new FivetierError('FT_ERR_QUEUE_JOB_AMBIGUOUS', [id, count, listed]);
}

/** Find the one job, act on it by (tenant, id), and explain when the action did not fit. */
async function actOnOne(
  queue: TierClient,
  id: string,
  tenantId: string | undefined,
  wanted: string,
  act: (tenantId: string) => Promise<JobRow | undefined>,
): Promise<JobRow> {
  const job = await findJob(queue, id, tenantId);
  if (!job) throw new FivetierError('FT_ERR_QUEUE_JOB_NOT_FOUND', [id]);
  const done = await act(job.tenant_id);
  if (done) return done;
  const now = await jobGet(queue.statements('worker'), job.tenant_id, id);
  if (!now) throw new FivetierError('FT_ERR_QUEUE_JOB_NOT_FOUND', [id]);
  throw new FivetierError('FT_ERR_QUEUE_JOB_STATE', [id, now.status, wanted]);
}

/**
 * Jobs became ready without an insert: wake the idle workers now rather than at their next poll.
 * why: the action has committed; a wake-up that fails (the tier went away meanwhile) must not
 * report the action as failed, and the workers' poll takes the jobs anyway.
 */
async function wakeWorkers(queue: TierClient): Promise<void> {
  await jobsAnnounceReady(queue.statements('worker')).catch(() => {});
}

/** Dead letter -> queued with attempts reset. `tenantId` is needed when the id is used by jobs of several tenants. */
export async function retryJob(queue: TierClient, id: string, tenantId?: string): Promise<JobRow> {
  const job = await actOnOne(queue, id, tenantId, 'dead', (t) => jobSetQueuedIfDead(queue.statements('worker'), t, id));
  await wakeWorkers(queue);
  return job;
}

/** Remove a job no worker holds (and its logs). `tenantId` as for retryJob. */
export function deleteJob(queue: TierClient, id: string, tenantId?: string): Promise<JobRow> {
  return actOnOne(queue, id, tenantId, 'queued, completed, dead or cancelled', (t) => jobDeleteIfNotLeased(queue.statements('worker'), t, id));
}

/** queued -> cancelled. `tenantId` as for retryJob. */
export function cancelJob(queue: TierClient, id: string, tenantId?: string): Promise<JobRow> {
  return actOnOne(queue, id, tenantId, 'queued', (t) => jobSetCancelledIfQueued(queue.statements('worker'), t, id));
}

/** Stop dispatching a queue's jobs (jobs already running finish). */
export async function pauseQueue(queue: TierClient, name: string): Promise<JobQueueRow> {
  const row = await jobQueueSetPaused(queue.statements('worker'), name, true);
  if (!row) throw new FivetierError('FT_ERR_QUEUE_UNKNOWN', [name]);
  return row;
}

/** Dispatch a paused queue's jobs again. */
export async function resumeQueue(queue: TierClient, name: string): Promise<JobQueueRow> {
  const row = await jobQueueSetPaused(queue.statements('worker'), name, false);
  if (!row) throw new FivetierError('FT_ERR_QUEUE_UNKNOWN', [name]);
  await wakeWorkers(queue);
  return row;
}

/** Create a queue unless it exists. */
export function ensureQueue(queue: TierClient, name: string, defaultPriority = 100): Promise<JobQueueRow> {
  return jobQueueInsertIfMissing(queue.statements('worker'), name, defaultPriority);
}

/** Every queue with its settings. */
export function listQueues(queue: TierClient): Promise<JobQueueRow[]> {
  return jobQueueList(queue.statements('worker'));
}

/** Dead letters, oldest first. */
export function listDeadJobs(queue: TierClient, queueName: string | null = null, limit = 100): Promise<JobRow[]> {
  return jobListByStatus(queue.statements('worker'), 'dead', queueName, limit);
}

/** Job counts per queue and state. */
export function queueStats(queue: TierClient): Promise<Array<{ queue_name: string; status: string; n: number }>> {
  return jobCountByQueueStatus(queue.statements('worker'));
}

/**
 * One job, or undefined. `tenantId` is needed when the id is used by jobs of several tenants
 * (FT_ERR_QUEUE_JOB_AMBIGUOUS otherwise).
 */
export function getJob(queue: TierClient, id: string, tenantId?: string): Promise<JobRow | undefined> {
  return findJob(queue, id, tenantId);
}
