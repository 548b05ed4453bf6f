/**
 * Statements on `jobs`. One function per statement; `$n` parameters only. Every state change
 * guards on the expected current state (and, for leased states, the lease owner and attempt)
 * and returns the row, so a caller can tell "moved" from "someone else moved it first".
 * Each function throws what `pg` throws (connection lost, constraint violated).
 */
import type { JobRow, RunningJob } from '../../../queue/job-states.js';
import type { RetryRulesSql } from '../../../queue/retry.js';
import type { Queryable } from './queryable.js';

/**
 * A condition that makes the statement's own transaction commit without waiting for the WAL
 * flush (see ASYNC_COMMIT in job-states.ts): a worker's hot transitions are single statements
 * sent straight to the pool, one round trip each instead of BEGIN, statement, COMMIT. Inside an
 * explicit transaction it applies to the whole transaction.
 */
const COMMIT_ASYNC_SQL = `(SELECT set_config('synchronous_commit', 'off', true)) IS NOT NULL`;

/**
 * A job's lease as one text value, (tenant, id, attempts, lease owner): the guard of a batched
 * transition compares it with the caller's keys in one hashed `= ANY` lookup per row.
 */
const LEASE_KEY_SQL = `(j.tenant_id::text || ' ' || j.id::text || ' ' || j.attempts::text || ' ' || j.lease_owner)`;
const leaseKey = (tenantId: string, id: string, attempt: number, owner: string): string => `${tenantId.toLowerCase()} ${id.toLowerCase()} ${attempt} ${owner}`;
/**
 * The current versions of the jobs named by the rows of `source` (a FROM item aliased `x`, with
 * columns `tenant_id` and `id`), as an array of ctids for `WHERE j.ctid = ANY (...)`: one look-up
 * by the full primary key per job, which the planner takes whatever the table's statistics say.
 * why: `j.id = ANY (ids)` is planned from the statistics of the id column; a table that grew from
 * nothing before its first analysis has none, and 500 ids were then planned as a scan of the
 * whole table (half of the statement time per job in bench/queue.ts). A job missing from the table
 * gives NULL, which matches nothing. The statement's guards still decide: a row updated
 * meanwhile is re-read in its newest version and re-checked.
 */
const jobCtidsOf = (source: string) => `ARRAY(SELECT (SELECT r.ctid FROM public.jobs r WHERE r.id = x.id AND r.tenant_id = x.tenant_id) FROM ${source})`;
/** `jobCtidsOf` two parallel arrays of tenant ids and job ids, by their parameter numbers. */
const jobCtids = (tenants: number, ids: number) => jobCtidsOf(`unnest($${tenants}::uuid[], $${ids}::uuid[]) AS x (tenant_id, id)`);
/**
 * A job's identity as one text value, (tenant, id), in SQL and in TypeScript alike: the key a
 * worker holds its jobs by, and what `jobSetQueuedIfUnheld` compares them with.
 */
const JOB_KEY_SQL = `(j.tenant_id::text || ' ' || j.id::text)`;
export const heldJobKey = (tenantId: string, id: string): string => `${tenantId.toLowerCase()} ${id.toLowerCase()}`;

/** The columns of a RunningJob, what the statements that start jobs return. */
const RUNNING_JOB_SQL = 'j.tenant_id, j.id, j.queue_name, j.job_type, j.priority, j.payload, j.attempts, j.max_attempts';

/** The `last_error` of a job rescued from `running`. */
export const LEASE_EXPIRED_MESSAGE = 'lease expired: the worker died or exceeded the timeout';

/** A job's attempt limit from the retry rules passed as $3..$5 (see RetryRulesSql). */
const MAX_ATTEMPTS_SQL = 'coalesce(j.max_attempts, CASE WHEN j.priority <= $3::int THEN $4::int ELSE $5::int END)';

/**
 * The fair pick shared by the two claims: walk the tenants that have queued jobs (a skip scan on
 * idx_jobs_claim), lock up to $2 ready jobs of each (priority order, SKIP LOCKED), then take $2
 * of them round-robin across tenants inside each lane. $1: queue names (NULL = all).
 * why: one tenant's backlog must not starve another tenant (DESIGN.md section 5).
 *
 * The two claims that use it are sent unnamed, so PostgreSQL plans them with their values each
 * time: as named statements they switched to a generic plan after five runs, and one made while
 * the table was small halved PostgreSQL-only throughput in bench/queue.ts (6,800 against 11,400
 * jobs/s).
 */
/** The fair pick; `$types` is the parameter number of the job types claimed (NULL = all). */
const fairPick = (types: number) => `
  WITH RECURSIVE tenants AS (
    (SELECT tenant_id FROM public.jobs WHERE status = 'queued' ORDER BY tenant_id LIMIT 1)
    UNION ALL
    SELECT (SELECT q.tenant_id FROM public.jobs q WHERE q.status = 'queued' AND q.tenant_id > t.tenant_id ORDER BY q.tenant_id LIMIT 1)
    FROM tenants t WHERE t.tenant_id IS NOT NULL
  ),
  picked AS (
    SELECT c.* FROM tenants t
    CROSS JOIN LATERAL (
      SELECT r.ctid AS row_ctid, r.tenant_id, r.id, r.priority, r.run_at FROM public.jobs r
      WHERE r.status = 'queued' AND r.tenant_id = t.tenant_id AND r.run_at <= now()
        AND ($1::text[] IS NULL OR r.queue_name = ANY ($1::text[]))
        -- why: a worker claims only the job types it has handlers for
        AND ($${types}::text[] IS NULL OR r.job_type = ANY ($${types}::text[]))
        -- why: a paused queue dispatches nothing until resumed
        AND r.queue_name NOT IN (SELECT name FROM public.job_queues WHERE paused)
      ORDER BY r.priority, r.run_at
      LIMIT $2
      FOR UPDATE OF r SKIP LOCKED
    ) c
    WHERE t.tenant_id IS NOT NULL
  ),
  chosen AS (
    SELECT row_ctid, tenant_id, id FROM (
      SELECT p.*, row_number() OVER (PARTITION BY p.tenant_id ORDER BY p.priority, p.run_at) AS turn FROM picked p
    ) ranked
    ORDER BY CASE WHEN priority <= 50 THEN 0 WHEN priority <= 150 THEN 1 ELSE 2 END, turn, priority, run_at
    LIMIT $2
  )`;

/** What the dispatcher needs of a job it puts into Redis (the copy carries tenant and id only). */
export type DispatchedJob = Pick<JobRow, 'tenant_id' | 'id' | 'queue_name' | 'job_type' | 'attempts'>;

/**
 * Claim up to `limit` ready jobs for Redis dispatch: queued -> dispatched under a dispatch lease;
 * returns what the copies need, not whole rows.
 * Commits asynchronously when it runs on its own. Run by the Redis dispatcher.
 */
export async function jobSetDispatchedFair(db: Queryable, queues: readonly string[] | null, limit: number, owner: string, leaseMs: number, types: readonly string[] | null = null): Promise<DispatchedJob[]> {
  const { rows } = await db.query<DispatchedJob>({
    text: `${fairPick(5)}
      UPDATE public.jobs j SET status = 'dispatched', lease_owner = $3,
        lease_expires_at = now() + make_interval(secs => $4::double precision / 1000), updated_at = now()
      -- why: address the rows locked above by ctid (a TID scan); a join may plan a scan of the whole table.
      -- No status test here: the pick locked each row while it was queued, and the lock holds it so.
      -- Repeated here, it let statistics taken while no job was queued plan this scan on
      -- idx_jobs_claim, reading every queued job for each claim.
      WHERE j.ctid = ANY (ARRAY(SELECT row_ctid FROM chosen)) AND ${COMMIT_ASYNC_SQL}
      RETURNING j.tenant_id, j.id, j.queue_name, j.job_type, j.attempts`,
    values: [queues, limit, owner, leaseMs, types],
  });
  return rows;
}

/**
 * Claim up to `limit` ready jobs to run here: queued -> running, attempts + 1, lease = the job
 * type's timeout (`timeoutsMs[job_type]`, else `defaultTimeoutMs`) + `graceMs`. Commits
 * asynchronously when it runs on its own. Run by workers in PostgreSQL-only mode, into their
 * local buffer.
 */
export async function jobSetRunningFair(db: Queryable, queues: readonly string[] | null, limit: number, owner: string, timeoutsMs: Record<string, number>, defaultTimeoutMs: number, graceMs: number, types: readonly string[] | null = null): Promise<RunningJob[]> {
  const { rows } = await db.query<RunningJob>({
    text: `${fairPick(7)}
      UPDATE public.jobs j SET status = 'running', lease_owner = $3, attempts = j.attempts + 1,
        lease_expires_at = now() + make_interval(secs => (coalesce(($4::jsonb ->> j.job_type)::double precision, $5) + $6) / 1000),
        started_at = now(), updated_at = now()
      -- why: address the rows locked above by ctid (a TID scan); a join may plan a scan of the whole table.
      -- No status test here: the pick locked each row while it was queued, and the lock holds it so.
      -- Repeated here, it let statistics taken while no job was queued plan this scan on
      -- idx_jobs_claim, reading every queued job for each claim.
      WHERE j.ctid = ANY (ARRAY(SELECT row_ctid FROM chosen)) AND ${COMMIT_ASYNC_SQL}
      RETURNING ${RUNNING_JOB_SQL}`,
    values: [queues, limit, owner, JSON.stringify(timeoutsMs), defaultTimeoutMs, graceMs, types],
  });
  return rows;
}

/**
 * Start a job taken from Redis: dispatched -> running, attempts + 1, lease = timeout + grace.
 * Returns undefined when the job is no longer dispatched (a duplicate Redis copy, a rescue, an
 * operator action): the caller drops that copy. Run by workers in Redis mode.
 */
export async function jobSetRunningIfDispatched(db: Queryable, tenantId: string, id: string, owner: string, timeoutsMs: Record<string, number>, defaultTimeoutMs: number, graceMs: number): Promise<RunningJob | undefined> {
  const { rows } = await db.query<RunningJob>({
    name: 'jobSetRunningIfDispatched',
    text: `UPDATE public.jobs j SET status = 'running', lease_owner = $3, attempts = j.attempts + 1,
        lease_expires_at = now() + make_interval(secs => (coalesce(($4::jsonb ->> j.job_type)::double precision, $5) + $6) / 1000),
        started_at = now(), updated_at = now()
      WHERE j.tenant_id = $1 AND j.id = $2 AND j.status = 'dispatched'
      RETURNING ${RUNNING_JOB_SQL}`,
    values: [tenantId, id, owner, JSON.stringify(timeoutsMs), defaultTimeoutMs, graceMs],
  });
  return rows[0];
}

/**
 * running -> completed, and log the attempt, if this worker still holds this attempt's lease.
 * Undefined means a newer state won (rescued, re-run, cancelled): the caller changes nothing.
 * Run by workers.
 */
export async function jobSetCompletedIfRunning(db: Queryable, tenantId: string, id: string, owner: string, attempt: number, durationMs: number): Promise<JobRow | undefined> {
  const { rows } = await db.query<JobRow>({
    name: 'jobSetCompletedIfRunning',
    text: `WITH done AS (
        UPDATE public.jobs j SET status = 'completed', completed_at = now(), updated_at = now(),
          lease_owner = NULL, lease_expires_at = NULL
        WHERE j.tenant_id = $1 AND j.id = $2 AND j.status = 'running' AND j.lease_owner = $3 AND j.attempts = $4
        RETURNING j.*
      ), logged AS (
        INSERT INTO public.job_logs (tenant_id, job_id, status, attempt, started_at, finished_at, duration_ms)
        SELECT tenant_id, id, 'success', attempts, started_at, now(), $5 FROM done
      )
      SELECT * FROM done`,
    values: [tenantId, id, owner, attempt, Math.round(durationMs)],
  });
  return rows[0];
}

/**
 * Many `jobSetCompletedIfRunning` in one statement (each with its own lease owner and attempt);
 * returns the identity and `completed_at` of the jobs that moved. Commits asynchronously when it runs on its own. Run by workers,
 * batching completions.
 */
export async function jobSetCompletedManyIfRunning(db: Queryable, jobs: ReadonlyArray<{ tenantId: string; id: string; owner: string; attempt: number; durationMs: number }>): Promise<Array<Pick<JobRow, 'tenant_id' | 'id' | 'completed_at'>>> {
  const { rows } = await db.query<Pick<JobRow, 'tenant_id' | 'id' | 'completed_at'>>({
    // why: unnamed, so the arrays are planned as values: the lease check below is then a hashed
    // lookup per row. A semi-join with the input planned as a nested loop (500 x 250 comparisons
    // per batch of 500) made the completion 10 times slower than the claim.
    // The lease keys ($1) name the jobs too (tenant and id are their first two words): two arrays
    // to build and send per batch instead of four.
    text: `WITH keyed AS (
        SELECT x.duration_ms, split_part(x.lease_key, ' ', 1)::uuid AS tenant_id, split_part(x.lease_key, ' ', 2)::uuid AS id
        FROM unnest($1::text[], $2::int[]) AS x (lease_key, duration_ms)
      ), done AS (
        UPDATE public.jobs j SET status = 'completed', completed_at = now(), updated_at = now(),
          lease_owner = NULL, lease_expires_at = NULL
        WHERE j.ctid = ANY (${jobCtidsOf('keyed x')})
          AND j.status = 'running' AND ${COMMIT_ASYNC_SQL}
          AND ${LEASE_KEY_SQL} = ANY ($1::text[])
        RETURNING j.tenant_id, j.id, j.attempts, j.started_at, j.completed_at
      ), logged AS (
        INSERT INTO public.job_logs (tenant_id, job_id, status, attempt, started_at, finished_at, duration_ms)
        SELECT d.tenant_id, d.id, 'success', d.attempts, d.started_at, now(), k.duration_ms
        FROM done d JOIN keyed k ON k.tenant_id = d.tenant_id AND k.id = d.id
      )
      -- why: the worker holds the rest of each row; only what changed comes back
      SELECT tenant_id, id, completed_at FROM done`,
    values: [jobs.map((j) => leaseKey(j.tenantId, j.id, j.attempt, j.owner)), jobs.map((j) => Math.round(j.durationMs))],
  });
  return rows;
}

/**
 * Many `jobSetRunningIfDispatched` in one statement (one owner); returns the rows that moved.
 * Commits asynchronously when it runs on its own. Run by workers in Redis mode, batching starts.
 */
export async function jobSetRunningManyIfDispatched(db: Queryable, refs: ReadonlyArray<{ tenantId: string; id: string }>, owner: string, timeoutsMs: Record<string, number>, defaultTimeoutMs: number, graceMs: number): Promise<RunningJob[]> {
  const { rows } = await db.query<RunningJob>({
    // why: named: each job is found by its full key (jobCtids), so the plan does not depend on
    // the values, and a prepared statement saves a parse and a plan per batch
    name: 'jobSetRunningManyIfDispatched',
    text: `UPDATE public.jobs j SET status = 'running', lease_owner = $3, attempts = j.attempts + 1,
        lease_expires_at = now() + make_interval(secs => (coalesce(($4::jsonb ->> j.job_type)::double precision, $5) + $6) / 1000),
        started_at = now(), updated_at = now()
      WHERE j.ctid = ANY (${jobCtids(1, 2)}) AND j.status = 'dispatched' AND ${COMMIT_ASYNC_SQL}
      RETURNING ${RUNNING_JOB_SQL}`,
    values: [refs.map((r) => r.tenantId), refs.map((r) => r.id), owner, JSON.stringify(timeoutsMs), defaultTimeoutMs, graceMs],
  });
  return rows;
}

/**
 * running -> queued with `run_at = now() + delay` (a retry), logging the attempt, if this worker
 * still holds this attempt's lease. Undefined when a newer state won. Run by workers.
 */
export async function jobSetQueuedForRetryIfRunning(db: Queryable, tenantId: string, id: string, owner: string, attempt: number, delaySeconds: number, error: string, durationMs: number): Promise<JobRow | undefined> {
  const { rows } = await db.query<JobRow>({
    name: 'jobSetQueuedForRetryIfRunning',
    text: `WITH moved AS (
        UPDATE public.jobs j SET status = 'queued', run_at = now() + make_interval(secs => $5::double precision),
          last_error = $6, updated_at = now(), lease_owner = NULL, lease_expires_at = NULL
        WHERE j.tenant_id = $1 AND j.id = $2 AND j.status = 'running' AND j.lease_owner = $3 AND j.attempts = $4
        RETURNING j.*
      ), logged AS (
        INSERT INTO public.job_logs (tenant_id, job_id, status, message, attempt, started_at, finished_at, duration_ms)
        SELECT tenant_id, id, 'retry', $6, attempts, started_at, now(), $7 FROM moved
      )
      SELECT * FROM moved`,
    values: [tenantId, id, owner, attempt, delaySeconds, error, Math.round(durationMs)],
  });
  return rows[0];
}

/**
 * running -> dead (the dead letter), logging the attempt, if this worker still holds this
 * attempt's lease. Undefined when a newer state won. Run by workers.
 */
export async function jobSetDeadIfRunning(db: Queryable, tenantId: string, id: string, owner: string, attempt: number, error: string, durationMs: number): Promise<JobRow | undefined> {
  const { rows } = await db.query<JobRow>({
    name: 'jobSetDeadIfRunning',
    text: `WITH moved AS (
        UPDATE public.jobs j SET status = 'dead', failed_at = now(), last_error = $5, updated_at = now(),
          lease_owner = NULL, lease_expires_at = NULL
        WHERE j.tenant_id = $1 AND j.id = $2 AND j.status = 'running' AND j.lease_owner = $3 AND j.attempts = $4
        RETURNING j.*
      ), logged AS (
        INSERT INTO public.job_logs (tenant_id, job_id, status, message, attempt, started_at, finished_at, duration_ms)
        SELECT tenant_id, id, 'failed', $5, attempts, started_at, now(), $6 FROM moved
      )
      SELECT * FROM moved`,
    values: [tenantId, id, owner, attempt, error, Math.round(durationMs)],
  });
  return rows[0];
}

/**
 * Give back jobs this owner holds and has not finished: dispatched or running -> queued, now.
 * `jobs` names them by (tenant_id, id), a job's identity (NULL = every job the owner holds).
 * The attempt stays counted for running jobs. Run by graceful shutdown and by the dispatcher
 * when Redis refused a batch.
 */
export async function jobSetQueuedIfLeasedBy(db: Queryable, owner: string, jobs: ReadonlyArray<Pick<JobRow, 'tenant_id' | 'id'>> | null): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>({
    name: 'jobSetQueuedIfLeasedBy',
    text: `UPDATE public.jobs j SET status = 'queued', run_at = now(), updated_at = now(), lease_owner = NULL, lease_expires_at = NULL
      WHERE j.status IN ('dispatched', 'running') AND j.lease_owner = $1
        AND ($3::uuid[] IS NULL OR j.ctid = ANY (${jobCtids(2, 3)}))
      RETURNING j.*`,
    values: [owner, jobs?.map((j) => j.tenant_id) ?? null, jobs?.map((j) => j.id) ?? null],
  });
  return rows;
}

/**
 * Give back jobs this owner claimed into its local buffer and never started: running -> queued,
 * now, and the attempt the claim counted is taken back (`attempts - 1`), guarded on the owner
 * and that attempt. Run by workers for buffered jobs that waited too long or at shutdown.
 */
export async function jobSetQueuedIfUnstarted(db: Queryable, owner: string, jobs: ReadonlyArray<Pick<JobRow, 'tenant_id' | 'id' | 'attempts'>>): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>({
    name: 'jobSetQueuedIfUnstarted',
    text: `UPDATE public.jobs j SET status = 'queued', attempts = j.attempts - 1, run_at = now(), started_at = NULL,
        updated_at = now(), lease_owner = NULL, lease_expires_at = NULL
      WHERE j.ctid = ANY (${jobCtids(2, 3)}) AND j.status = 'running' AND j.lease_owner = $1
        AND (j.tenant_id, j.id, j.attempts) IN (SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::int[]))
      RETURNING j.*`,
    values: [owner, jobs.map((j) => j.tenant_id), jobs.map((j) => j.id), jobs.map((j) => j.attempts)],
  });
  return rows;
}

/**
 * Every job `running` under this owner's lease that the owner does not hold (`heldKeys`: its
 * buffered, running and recording jobs, as `tenant id` + ' ' + `job id`) goes back to `queued`,
 * its attempt taken back. Such a job was claimed by a statement whose answer never came (the
 * tier froze or the connection broke after the server committed it), or given back by a write
 * that failed: without this it would wait for its lease to expire. Run by a worker before its
 * next claim once a claim or a give-back failed; never concurrently with its own claims.
 */
export async function jobSetQueuedIfUnheld(db: Queryable, owner: string, heldKeys: readonly string[]): Promise<Array<Pick<JobRow, 'tenant_id' | 'id'>>> {
  const { rows } = await db.query<Pick<JobRow, 'tenant_id' | 'id'>>({
    name: 'jobSetQueuedIfUnheld',
    // why: lease_expires_at IS NOT NULL lets idx_jobs_lease (leased jobs only) serve the lookup
    text: `UPDATE public.jobs j SET status = 'queued', attempts = j.attempts - 1, run_at = now(), started_at = NULL,
        updated_at = now(), lease_owner = NULL, lease_expires_at = NULL
      WHERE j.lease_expires_at IS NOT NULL AND j.status = 'running' AND j.lease_owner = $1
        AND NOT (${JOB_KEY_SQL} = ANY ($2::text[]))
      RETURNING j.tenant_id, j.id`,
    values: [owner, heldKeys],
  });
  return rows;
}

/**
 * Rescue up to `limit` jobs whose lease expired: dispatched -> queued at once (Redis lost the
 * copy; the job never started, so no attempt was spent); running -> queued after the backoff of
 * the attempt it spent (the worker died or hung), or -> dead when it was the last attempt;
 * `last_error` says the lease expired (no `job_logs` row: the attempt never finished). `rules`
 * are the retry rules (RETRY_RULES_SQL in src/queue/retry.ts): the statement holds none of its
 * own. Run by the rescuer.
 */
export async function jobSetQueuedIfLeaseExpired(db: Queryable, queues: readonly string[] | null, limit: number, rules: RetryRulesSql): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>({
    name: 'jobSetQueuedIfLeaseExpired',
    text: `WITH expired AS (
        SELECT tenant_id, id FROM public.jobs
        WHERE status IN ('dispatched', 'running') AND lease_expires_at < now()
          AND ($1::text[] IS NULL OR queue_name = ANY ($1::text[]))
        ORDER BY lease_expires_at LIMIT $2
        FOR UPDATE SKIP LOCKED
      ), moved AS (
        UPDATE public.jobs j SET
          status = CASE WHEN j.status = 'running' AND j.attempts >= ${MAX_ATTEMPTS_SQL} THEN 'dead' ELSE 'queued' END,
          failed_at = CASE WHEN j.status = 'running' AND j.attempts >= ${MAX_ATTEMPTS_SQL} THEN now() ELSE j.failed_at END,
          last_error = CASE WHEN j.status = 'running' THEN $8::text ELSE j.last_error END,
          -- why: a rescued attempt backs off like a failed one, drawn in the rules' range for it
          run_at = CASE WHEN j.status = 'running' THEN now() + make_interval(secs => (
              SELECT least($9::float8, lo + random() * (hi - lo)) FROM (SELECT ($6::float8[])[i] AS lo, ($7::float8[])[i] AS hi
                FROM (SELECT greatest(1, least(j.attempts, cardinality($6::float8[]))) AS i) k) b))
            ELSE now() END,
          updated_at = now(), lease_owner = NULL, lease_expires_at = NULL
        FROM expired x
        WHERE j.tenant_id = x.tenant_id AND j.id = x.id
          -- why: re-check under the lock; the worker may have finished meanwhile
          AND j.status IN ('dispatched', 'running') AND j.lease_expires_at < now()
        RETURNING j.*
      )
      SELECT * FROM moved`,
    values: [queues, limit, rules.highPriorityMax, rules.highLaneAttempts, rules.otherLaneAttempts, rules.backoffLow, rules.backoffHigh, LEASE_EXPIRED_MESSAGE, rules.backoffCap],
  });
  return rows;
}

/** Operator retry of one job: dead -> queued, attempts 0, now. Undefined when the job is not dead. */
export async function jobSetQueuedIfDead(db: Queryable, tenantId: string, id: string): Promise<JobRow | undefined> {
  const { rows } = await db.query<JobRow>({
    name: 'jobSetQueuedIfDead',
    text: `UPDATE public.jobs j SET status = 'queued', attempts = 0, run_at = now(), failed_at = NULL, updated_at = now()
      WHERE j.tenant_id = $1 AND j.id = $2 AND j.status = 'dead' RETURNING j.*`,
    values: [tenantId, id],
  });
  return rows[0];
}

/**
 * Wake the workers that listen on `fivetier_jobs`, as an insert into `jobs` does: jobs became
 * ready without one (a queue resumed, a dead job retried). Sent on its own, after the change
 * committed, so a worker that wakes finds the jobs. Run by operators.
 */
export async function jobsAnnounceReady(db: Queryable): Promise<void> {
  await db.query({ name: 'jobsAnnounceReady', text: `SELECT pg_catalog.pg_notify('fivetier_jobs', '')`, values: [] });
}

/** Operator cancel of one job: queued -> cancelled. Undefined when the job is not queued. */
export async function jobSetCancelledIfQueued(db: Queryable, tenantId: string, id: string): Promise<JobRow | undefined> {
  const { rows } = await db.query<JobRow>({
    name: 'jobSetCancelledIfQueued',
    text: `UPDATE public.jobs j SET status = 'cancelled', updated_at = now() WHERE j.tenant_id = $1 AND j.id = $2 AND j.status = 'queued' RETURNING j.*`,
    values: [tenantId, id],
  });
  return rows[0];
}

/**
 * Operator delete of one job that no worker holds (queued, completed, dead, cancelled), with
 * its logs. Undefined when there is no such job or a worker holds it.
 */
export async function jobDeleteIfNotLeased(db: Queryable, tenantId: string, id: string): Promise<JobRow | undefined> {
  const { rows } = await db.query<JobRow>({
    name: 'jobDeleteIfNotLeased',
    // why: job_logs has no foreign key (migration 0002), so the job's log rows go with it here
    text: `WITH gone AS (
        DELETE FROM public.jobs j WHERE j.tenant_id = $1 AND j.id = $2 AND j.status NOT IN ('dispatched', 'running') RETURNING j.*
      ), logs AS (
        DELETE FROM public.job_logs l USING gone WHERE l.tenant_id = gone.tenant_id AND l.job_id = gone.id
      )
      SELECT * FROM gone`,
    values: [tenantId, id],
  });
  return rows[0];
}

/** One job by its identity (tenant, id). Run by operators and tests. */
export async function jobGet(db: Queryable, tenantId: string, id: string): Promise<JobRow | undefined> {
  const { rows } = await db.query<JobRow>({ name: 'jobGet', text: 'SELECT * FROM public.jobs WHERE tenant_id = $1 AND id = $2', values: [tenantId, id] });
  return rows[0];
}

/**
 * The jobs of every tenant that carry this id (ids are unique per tenant only), at most
 * `limit`, by tenant. Run by operator actions to find the one job an id names; reads the
 * whole table (no index serves the id alone: see queue migration 0009), which is rare.
 */
export async function jobListById(db: Queryable, id: string, limit: number): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>({ name: 'jobListById', text: 'SELECT * FROM public.jobs WHERE id = $1 ORDER BY tenant_id LIMIT $2', values: [id, limit] });
  return rows;
}

/** Jobs in a state, oldest update first (dead letters with state 'dead'). `queue` NULL = all. */
export async function jobListByStatus(db: Queryable, status: string, queue: string | null, limit: number): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>({
    name: 'jobListByStatus',
    text: `SELECT * FROM public.jobs WHERE status = $1 AND ($2::text IS NULL OR queue_name = $2) ORDER BY updated_at LIMIT $3`,
    values: [status, queue, limit],
  });
  return rows;
}

/** Ready depth per queue and lane, and the age of the oldest ready job per queue. Run by the metrics sampler. */
export async function jobCountReadyByQueueLane(db: Queryable): Promise<Array<{ queue_name: string; lane: string; depth: number; oldest_age_s: number }>> {
  const { rows } = await db.query<{ queue_name: string; lane: string; depth: number; oldest_age_s: number }>({
    name: 'jobCountReadyByQueueLane',
    text: `SELECT queue_name,
        CASE WHEN priority <= 50 THEN 'high' WHEN priority <= 150 THEN 'normal' ELSE 'low' END AS lane,
        count(*)::int AS depth, extract(epoch FROM now() - min(run_at))::float8 AS oldest_age_s
      FROM public.jobs WHERE status = 'queued' AND run_at <= now() GROUP BY 1, 2`,
    values: [],
  });
  return rows;
}

/** Counts per queue and state. Run by `fivetier queue stats`. */
export async function jobCountByQueueStatus(db: Queryable): Promise<Array<{ queue_name: string; status: string; n: number }>> {
  const { rows } = await db.query<{ queue_name: string; status: string; n: number }>({
    name: 'jobCountByQueueStatus',
    text: 'SELECT queue_name, status, count(*)::int AS n FROM public.jobs GROUP BY 1, 2 ORDER BY 1, 2',
    values: [],
  });
  return rows;
}

/** Insert one job (the tenant's RLS applies when `db` is a tenant transaction). Undefined when the id exists. */
export async function jobInsert(db: Queryable, job: { tenantId: string; id: string; queue: string; type: string; priority: number | null; payload: unknown; runAt: Date | null; maxAttempts: number | null }): Promise<JobRow | undefined> {
  const { rows } = await db.query<JobRow>({
    name: 'jobInsert',
    text: `INSERT INTO public.jobs (tenant_id, id, queue_name, job_type, priority, payload, run_at, max_attempts)
      VALUES ($1, $2, $3::text, $4, coalesce($5::int, (SELECT default_priority FROM public.job_queues WHERE name = $3::text), 100), $6::jsonb, coalesce($7::timestamptz, now()), $8::int)
      ON CONFLICT (tenant_id, id) DO NOTHING RETURNING *`,
    values: [job.tenantId, job.id, job.queue, job.type, job.priority, JSON.stringify(job.payload ?? {}), job.runAt, job.maxAttempts],
  });
  return rows[0];
}

/** Insert many jobs of one tenant, queue, type and priority in one statement; returns how many were new. */
export async function jobInsertMany(db: Queryable, tenantId: string, queue: string, type: string, priority: number | null, ids: readonly string[], payloads: readonly unknown[]): Promise<number> {
  const { rowCount } = await db.query({
    name: 'jobInsertMany',
    text: `INSERT INTO public.jobs (tenant_id, id, queue_name, job_type, priority, payload)
      SELECT $1::uuid, x.id, $2::text, $3::text, coalesce($4::int, (SELECT default_priority FROM public.job_queues WHERE name = $2::text), 100), x.payload
      FROM unnest($5::uuid[], $6::jsonb[]) AS x (id, payload)
      ON CONFLICT (tenant_id, id) DO NOTHING`,
    values: [tenantId, queue, type, priority, ids, payloads.map((p) => JSON.stringify(p ?? {}))],
  });
  return rowCount ?? 0;
}
