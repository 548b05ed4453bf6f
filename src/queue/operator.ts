/**
 * Operator actions: retry a dead job, delete or cancel a job, pause and resume a queue. They run
 * as fivetier_worker (across tenants). Each throws FT_ERR_QUEUE_JOB_NOT_FOUND /
 * FT_ERR_QUEUE_JOB_STATE / FT_ERR_QUEUE_UNKNOWN when there is nothing to act on, and what `pg`
 * throws.
 */
import { FivetierError } from '../errors/codes.js';
import type { TierClient } from '../tiers/tier-client.js';
import { jobQueueInsertIfMissing, jobQueueList, jobQueueSetPaused, type JobQueueRow } from '../tiers/queue/queries/job-queues.js';
import { jobCountByQueueStatus, jobDeleteIfNotLeased, jobGetById, jobListByStatus, jobSetCancelledIfQueued, jobSetQueuedIfDead } from '../tiers/queue/queries/jobs.js';
import type { JobRow } from './job-states.js';

async function explain(queue: TierClient, id: string, wanted: string): Promise<never> {
  const job = await jobGetById(queue.poolFor('worker'), id);
  if (!job) throw new FivetierError('FT_ERR_QUEUE_JOB_NOT_FOUND', [id]);
  throw new FivetierError('FT_ERR_QUEUE_JOB_STATE', [id, job.status, wanted]);
}

/** Dead letter -> queued with attempts reset. */
export async function retryJob(queue: TierClient, id: string): Promise<JobRow> {
  return (await jobSetQueuedIfDead(queue.poolFor('worker'), id)) ?? explain(queue, id, 'dead');
}

/** Remove a job no worker holds (and its logs). */
export async function deleteJob(queue: TierClient, id: string): Promise<JobRow> {
  return (await jobDeleteIfNotLeased(queue.poolFor('worker'), id)) ?? explain(queue, id, 'queued, completed, dead or cancelled');
}

/** queued -> cancelled. */
export async function cancelJob(queue: TierClient, id: string): Promise<JobRow> {
  return (await jobSetCancelledIfQueued(queue.poolFor('worker'), id)) ?? explain(queue, id, 'queued');
}

/** Stop dispatching a queue's jobs (jobs already running finish). */
export async function pauseQueue(queue: TierClient, name: string): Promise<JobQueueRow> {
  const row = await jobQueueSetPaused(queue.poolFor('worker'), name, true);
  if (!row) throw new FivetierError('FT_ERR_QUEUE_UNKNOWN', [name]);
  return row;
}

/** Dispatch a paused queue's jobs again. */
export async function resumeQueue(queue: TierClient, name: string): Promise<JobQueueRow> {
  const row = await jobQueueSetPaused(queue.poolFor('worker'), name, false);
  if (!row) throw new FivetierError('FT_ERR_QUEUE_UNKNOWN', [name]);
  return row;
}

/** Create a queue unless it exists. */
export function ensureQueue(queue: TierClient, name: string, defaultPriority = 100): Promise<JobQueueRow> {
  return jobQueueInsertIfMissing(queue.poolFor('worker'), name, defaultPriority);
}

/** Every queue with its settings. */
export function listQueues(queue: TierClient): Promise<JobQueueRow[]> {
  return jobQueueList(queue.poolFor('worker'));
}

/** Dead letters, oldest first. */
export function listDeadJobs(queue: TierClient, queueName: string | null = null, limit = 100): Promise<JobRow[]> {
  return jobListByStatus(queue.poolFor('worker'), 'dead', queueName, limit);
}

/** Job counts per queue and state. */
export function queueStats(queue: TierClient): Promise<Array<{ queue_name: string; status: string; n: number }>> {
  return jobCountByQueueStatus(queue.poolFor('worker'));
}

/** One job by id, or undefined. */
export function getJob(queue: TierClient, id: string): Promise<JobRow | undefined> {
  return jobGetById(queue.poolFor('worker'), id);
}
