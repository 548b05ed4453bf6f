/**
 * The job state machine and the queue's fixed rules (lanes, timeouts; attempts and backoff are
 * in retry.ts). This module
 * imports nothing from the tiers; built-in job types' timeouts come from the job registry.
 * docs/state-machines.md draws the same machine, and the CHECK
 * constraints of schemas/queue/migrations/0001_initial.sql enforce the facts of each state.
 */

import { BUILT_IN_JOBS } from '../jobs/built-in.js';

/**
 * Job states.
 * - `queued`: waiting in PostgreSQL for `run_at`; enters on insert, on a retry (later `run_at`),
 *   on a rescue and on an operator retry. The dispatcher (Redis mode) or a worker (PostgreSQL
 *   mode) moves it on.
 * - `dispatched`: copied into Redis under a dispatch lease; a worker starts it, or the rescuer
 *   puts it back to `queued` when the lease expires (Redis lost it).
 * - `running`: a worker holds the lease (`lease_owner`, `lease_expires_at` = timeout + grace).
 *   The worker completes or fails it; the rescuer takes it back when the lease expires.
 * - `completed`: final; `completed_at` set. Kept until retention removes it.
 * - `dead`: the dead letter: attempts exhausted; `failed_at` and `last_error` set. Operators
 *   retry (back to `queued`) or delete it.
 * - `cancelled`: final; an operator cancelled a job that had not finished.
 */
export const JOB_STATES = Object.freeze({
  queued: 'queued',
  dispatched: 'dispatched',
  running: 'running',
  completed: 'completed',
  dead: 'dead',
  cancelled: 'cancelled',
} as const);
export type JobState = (typeof JOB_STATES)[keyof typeof JOB_STATES];

/** Priority lanes: lower priority number runs sooner. */
export type Lane = 'high' | 'normal' | 'low';
export const HIGH_PRIORITY_MAX = 50;
export const NORMAL_PRIORITY_MAX = 150;

/** The lane of a priority (<= 50 high, 51-150 normal, > 150 low). Never throws. */
export function laneOf(priority: number): Lane {
  if (priority <= HIGH_PRIORITY_MAX) return 'high';
  if (priority <= NORMAL_PRIORITY_MAX) return 'normal';
  return 'low';
}

/** Handler timeout per job type family, in ms, for job types outside the registry. */
export const JOB_TIMEOUTS_MS_DEFAULT: Readonly<Record<string, number>> = Object.freeze({
  send: 30_000,
  inbound: 60_000,
  analytics: 300_000,
  warmup: 120_000,
  webhook: 15_000,
});
/** Timeout for job types that name no family, in ms. */
export const JOB_TIMEOUT_MS_FALLBACK = 60_000;

/**
 * The timeout of a job type in ms: an exact entry in `overrides`, else the job registry's for a
 * built-in type, else the first segment of the type (split on `.`, `:`, `-`) that names a family
 * (`webhook.dispatch` -> webhook 15 s), else 60 s. Never throws.
 */
export function timeoutFor(jobType: string, overrides: Readonly<Record<string, number>> = {}): number {
  const exact = overrides[jobType] ?? BUILT_IN_JOBS.get(jobType)?.timeoutMs;
  if (exact !== undefined) return exact;
  for (const segment of jobType.split(/[.:-]/)) {
    const ms = overrides[segment] ?? JOB_TIMEOUTS_MS_DEFAULT[segment];
    if (ms !== undefined) return ms;
  }
  return JOB_TIMEOUT_MS_FALLBACK;
}

/** A row of `jobs`, as the queries return it. */
export interface JobRow {
  tenant_id: string;
  id: string;
  queue_name: string;
  job_type: string;
  priority: number;
  payload: unknown;
  status: JobState;
  attempts: number;
  max_attempts: number | null;
  run_at: Date;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  failed_at: Date | null;
}

/**
 * What a worker holds of a job it runs: what the handler sees, and what the outcome's guard and
 * the retry rules read. The statements that start jobs return these columns only.
 * why: a whole row is five timestamps and three texts more per job to parse and to collect;
 * with whole rows the worker spent a third more CPU per no-op job (bench/README.md).
 */
export type RunningJob = Pick<JobRow, 'tenant_id' | 'id' | 'queue_name' | 'job_type' | 'priority' | 'payload' | 'attempts' | 'max_attempts'>;

/** The system tenant: jobs that belong to no tenant. */
export { SYSTEM_TENANT_ID } from '../types.js';

/**
 * How job state transitions after enqueue (dispatch, start, complete, retry, dead) commit: without
 * waiting for the WAL flush. Losing the last few hundred ms of transitions in a PostgreSQL crash
 * means a job runs again (jobs run at least once anyway), never that a job is lost. Enqueue and
 * operator actions commit synchronously.
 */
export const ASYNC_COMMIT = Object.freeze({ asyncCommit: true, ownStatementsOnly: true });
