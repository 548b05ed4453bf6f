/**
 * Statements on `jobs`. One function per statement; `$n` parameters only. Every state change
 * guards on the expected current state (and, for leased states, the lease owner and attempt)
 * and returns the row, so a caller can tell "moved" from "someone else moved it first".
 * Each function throws what `pg` throws (connection lost, constraint violated).
 */
import type { JobRow } from '../../../queue/job-states.js';
import type { Queryable } from './queryable.js';

/** The limit by lane, in SQL (kept equal to `defaultMaxAttempts`). */
const MAX_ATTEMPTS_SQL = 'coalesce(j.max_attempts, CASE WHEN j.priority <= 50 THEN 5 ELSE 3 END)';

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
const FAIR_PICK = `
  WITH RECURSIVE tenants AS (
    (SELECT tenant_id FROM jobs WHERE status = 'queued' ORDER BY tenant_id LIMIT 1)
    UNION ALL
    SELECT (SELECT q.tenant_id FROM jobs q WHERE q.status = 'queued' AND q.tenant_id > t.tenant_id ORDER BY q.tenant_id LIMIT 1)
    FROM tenants t WHERE t.tenant_id IS NOT NULL
  ),
  picked AS (
    SELECT c.* FROM tenants t
    CROSS JOIN LATERAL (
      SELECT r.ctid AS row_ctid, r.tenant_id, r.id, r.priority, r.run_at FROM jobs r
      WHERE r.status = 'queued' AND r.tenant_id = t.tenant_id AND r.run_at <= now()
        AND ($1::text[] IS NULL OR r.queue_name = ANY ($1::text[]))
        -- why: a paused queue dispatches nothing until resumed
        AND r.queue_name NOT IN (SELECT name FROM job_queues WHERE paused)
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

/**
 * Claim up to `limit` ready jobs for Redis dispatch: queued -> dispatched under a dispatch lease.
 * Run by the Redis dispatcher.
 */
export async function jobSetDispatchedFair(db: Queryable, queues: readonly string[] | null, limit: number, owner: string, leaseMs: number): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>({
    text: `${FAIR_PICK}
      UPDATE jobs j SET status = 'dispatched', lease_owner = $3,
        lease_expires_at = now() + make_interval(secs => $4::double precision / 1000), updated_at = now()
      -- why: address the rows locked above by ctid (a TID scan); a join may plan a scan of the whole table
      WHERE j.ctid = ANY (ARRAY(SELECT row_ctid FROM chosen)) AND j.status = 'queued'
      RETURNING j.*`,
    values: [queues, limit, owner, leaseMs],
  });
  return rows;
}

/**
 * Claim up to `limit` ready jobs to run here: queued -> running, attempts + 1, lease = the job
 * type's timeout (`timeoutsMs[job_type]`, else `defaultTimeoutMs`) + `graceMs`.
 * Run by workers in PostgreSQL-only mode.
 */
export async function jobSetRunningFair(db: Queryable, queues: readonly string[] | null, limit: number, owner: string, timeoutsMs: Record<string, number>, defaultTimeoutMs: number, graceMs: number): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>({
    text: `${FAIR_PICK}
      UPDATE jobs j SET status = 'running', lease_owner = $3, attempts = j.attempts + 1,
        lease_expires_at = now() + make_interval(secs => (coalesce(($4::jsonb ->> j.job_type)::double precision, $5) + $6) / 1000),
        started_at = now(), updated_at = now()
      -- why: address the rows locked above by ctid (a TID scan); a join may plan a scan of the whole table
      WHERE j.ctid = ANY (ARRAY(SELECT row_ctid FROM chosen)) AND j.status = 'queued'
      RETURNING j.*`,
    values: [queues, limit, owner, JSON.stringify(timeoutsMs), defaultTimeoutMs, graceMs],
  });
  return rows;
}

/**
 * Start a job taken from Redis: dispatched -> running, attempts + 1, lease = timeout + grace.
 * Returns undefined when the job is no longer dispatched (a duplicate Redis copy, a rescue, an
 * operator action): the caller drops that copy. Run by workers in Redis mode.
 */
export async function jobSetRunningIfDispatched(db: Queryable, tenantId: string, id: string, owner: string, timeoutsMs: Record<string, number>, defaultTimeoutMs: number, graceMs: number): Promise<JobRow | undefined> {
  const { rows } = await db.query<JobRow>({
    name: 'jobSetRunningIfDispatched',
    text: `UPDATE jobs j SET status = 'running', lease_owner = $3, attempts = j.attempts + 1,
        lease_expires_at = now() + make_interval(secs => (coalesce(($4::jsonb ->> j.job_type)::double precision, $5) + $6) / 1000),
        started_at = now(), updated_at = now()
      WHERE j.tenant_id = $1 AND j.id = $2 AND j.status = 'dispatched'
      RETURNING j.*`,
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
        UPDATE jobs j SET status = 'completed', completed_at = now(), updated_at = now(),
          lease_owner = NULL, lease_expires_at = NULL
        WHERE j.tenant_id = $1 AND j.id = $2 AND j.status = 'running' AND j.lease_owner = $3 AND j.attempts = $4
        RETURNING j.*
      ), logged AS (
        INSERT INTO job_logs (tenant_id, job_id, status, attempt, started_at, finished_at, duration_ms)
        SELECT tenant_id, id, 'success', attempts, started_at, now(), $5 FROM done
      )
      SELECT * FROM done`,
    values: [tenantId, id, owner, attempt, Math.round(durationMs)],
  });
  return rows[0];
}

/**
 * Many `jobSetCompletedIfRunning` in one statement (each with its own lease owner and attempt);
 * returns the rows that moved. Run by workers, batching completions.
 */
export async function jobSetCompletedManyIfRunning(db: Queryable, jobs: ReadonlyArray<{ tenantId: string; id: string; owner: string; attempt: number; durationMs: number }>): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>({
    name: 'jobSetCompletedManyIfRunning',
    text: `WITH input AS (
        SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::int[]) AS x (tenant_id, id, owner, attempt, duration_ms)
      ), done AS (
        UPDATE jobs j SET status = 'completed', completed_at = now(), updated_at = now(),
          lease_owner = NULL, lease_expires_at = NULL
        -- why: = ANY uses the primary key; a join with the input may plan a scan of the whole table
        WHERE j.id = ANY ($2::uuid[]) AND j.status = 'running'
          AND (j.tenant_id, j.id, j.lease_owner, j.attempts) IN (SELECT tenant_id, id, owner, attempt FROM input)
        RETURNING j.*
      ), logged AS (
        INSERT INTO job_logs (tenant_id, job_id, status, attempt, started_at, finished_at, duration_ms)
        SELECT d.tenant_id, d.id, 'success', d.attempts, d.started_at, now(), x.duration_ms FROM done d JOIN input x ON x.tenant_id = d.tenant_id AND x.id = d.id
      )
      SELECT * FROM done`,
    values: [jobs.map((j) => j.tenantId), jobs.map((j) => j.id), jobs.map((j) => j.owner), jobs.map((j) => j.attempt), jobs.map((j) => Math.round(j.durationMs))],
  });
  return rows;
}

/**
 * Many `jobSetRunningIfDispatched` in one statement (one owner); returns the rows that moved.
 * Run by workers in Redis mode, batching starts.
 */
export async function jobSetRunningManyIfDispatched(db: Queryable, refs: ReadonlyArray<{ tenantId: string; id: string }>, owner: string, timeoutsMs: Record<string, number>, defaultTimeoutMs: number, graceMs: number): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>({
    name: 'jobSetRunningManyIfDispatched',
    text: `UPDATE jobs j SET status = 'running', lease_owner = $3, attempts = j.attempts + 1,
        lease_expires_at = now() + make_interval(secs => (coalesce(($4::jsonb ->> j.job_type)::double precision, $5) + $6) / 1000),
        started_at = now(), updated_at = now()
      -- why: = ANY uses the primary key; a join with the input may plan a scan of the whole table
      WHERE j.id = ANY ($2::uuid[]) AND j.status = 'dispatched'
        AND (j.tenant_id, j.id) IN (SELECT * FROM unnest($1::uuid[], $2::uuid[]))
      RETURNING j.*`,
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
        UPDATE jobs j SET status = 'queued', run_at = now() + make_interval(secs => $5::double precision),
          last_error = $6, updated_at = now(), lease_owner = NULL, lease_expires_at = NULL
        WHERE j.tenant_id = $1 AND j.id = $2 AND j.status = 'running' AND j.lease_owner = $3 AND j.attempts = $4
        RETURNING j.*
      ), logged AS (
        INSERT INTO job_logs (tenant_id, job_id, status, message, attempt, started_at, finished_at, duration_ms)
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
        UPDATE jobs j SET status = 'dead', failed_at = now(), last_error = $5, updated_at = now(),
          lease_owner = NULL, lease_expires_at = NULL
        WHERE j.tenant_id = $1 AND j.id = $2 AND j.status = 'running' AND j.lease_owner = $3 AND j.attempts = $4
        RETURNING j.*
      ), logged AS (
        INSERT INTO job_logs (tenant_id, job_id, status, message, attempt, started_at, finished_at, duration_ms)
        SELECT tenant_id, id, 'failed', $5, attempts, started_at, now(), $6 FROM moved
      )
      SELECT * FROM moved`,
    values: [tenantId, id, owner, attempt, error, Math.round(durationMs)],
  });
  return rows[0];
}

/**
 * Give back jobs this owner holds and has not finished: dispatched or running -> queued, now.
 * The attempt stays counted for running jobs. Run by graceful shutdown and by the dispatcher when
 * Redis refused a batch.
 */
export async function jobSetQueuedIfLeasedBy(db: Queryable, owner: string, ids: readonly string[] | null): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>({
    name: 'jobSetQueuedIfLeasedBy',
    text: `UPDATE jobs j SET status = 'queued', run_at = now(), updated_at = now(), lease_owner = NULL, lease_expires_at = NULL
      WHERE j.status IN ('dispatched', 'running') AND j.lease_owner = $1 AND ($2::uuid[] IS NULL OR j.id = ANY ($2::uuid[]))
      RETURNING j.*`,
    values: [owner, ids],
  });
  return rows;
}

/**
 * Rescue up to `limit` jobs whose lease expired: dispatched -> queued (Redis lost it); running
 * -> queued (the worker died or hung; the attempt counts), or -> dead when it was the last
 * attempt. Run by the rescuer.
 */
export async function jobSetQueuedIfLeaseExpired(db: Queryable, queues: readonly string[] | null, limit: number): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>({
    name: 'jobSetQueuedIfLeaseExpired',
    text: `UPDATE jobs j SET
        status = CASE WHEN j.status = 'running' AND j.attempts >= ${MAX_ATTEMPTS_SQL} THEN 'dead' ELSE 'queued' END,
        failed_at = CASE WHEN j.status = 'running' AND j.attempts >= ${MAX_ATTEMPTS_SQL} THEN now() ELSE j.failed_at END,
        last_error = CASE WHEN j.status = 'running' THEN 'lease expired: the worker died or exceeded the timeout' ELSE j.last_error END,
        run_at = now(), updated_at = now(), lease_owner = NULL, lease_expires_at = NULL
      FROM (
        SELECT tenant_id, id FROM jobs
        WHERE status IN ('dispatched', 'running') AND lease_expires_at < now()
          AND ($1::text[] IS NULL OR queue_name = ANY ($1::text[]))
        ORDER BY lease_expires_at LIMIT $2
        FOR UPDATE SKIP LOCKED
      ) x
      WHERE j.tenant_id = x.tenant_id AND j.id = x.id
        -- why: re-check under the lock; the worker may have finished meanwhile
        AND j.status IN ('dispatched', 'running') AND j.lease_expires_at < now()
      RETURNING j.*`,
    values: [queues, limit],
  });
  return rows;
}

/** Operator retry: dead -> queued, attempts 0, now. Undefined when the job is not dead. */
export async function jobSetQueuedIfDead(db: Queryable, id: string): Promise<JobRow | undefined> {
  const { rows } = await db.query<JobRow>({
    name: 'jobSetQueuedIfDead',
    text: `UPDATE jobs j SET status = 'queued', attempts = 0, run_at = now(), failed_at = NULL, updated_at = now()
      WHERE j.id = $1 AND j.status = 'dead' RETURNING j.*`,
    values: [id],
  });
  return rows[0];
}

/** Operator cancel: queued -> cancelled. Undefined when the job is not queued. */
export async function jobSetCancelledIfQueued(db: Queryable, id: string): Promise<JobRow | undefined> {
  const { rows } = await db.query<JobRow>({
    name: 'jobSetCancelledIfQueued',
    text: `UPDATE jobs j SET status = 'cancelled', updated_at = now() WHERE j.id = $1 AND j.status = 'queued' RETURNING j.*`,
    values: [id],
  });
  return rows[0];
}

/**
 * Operator delete: remove a job that no worker holds (queued, completed, dead, cancelled), with
 * its logs. Undefined when there is no such job or a worker holds it.
 */
export async function jobDeleteIfNotLeased(db: Queryable, id: string): Promise<JobRow | undefined> {
  const { rows } = await db.query<JobRow>({
    name: 'jobDeleteIfNotLeased',
    // why: job_logs has no foreign key (migration 0002), so the job's log rows go with it here
    text: `WITH gone AS (
        DELETE FROM jobs j WHERE j.id = $1 AND j.status NOT IN ('dispatched', 'running') RETURNING j.*
      ), logs AS (
        DELETE FROM job_logs l USING gone WHERE l.tenant_id = gone.tenant_id AND l.job_id = gone.id
      )
      SELECT * FROM gone`,
    values: [id],
  });
  return rows[0];
}

/** One job by id (any tenant). Run by operators and tests. */
export async function jobGetById(db: Queryable, id: string): Promise<JobRow | undefined> {
  const { rows } = await db.query<JobRow>({ name: 'jobGetById', text: 'SELECT * FROM jobs WHERE id = $1', values: [id] });
  return rows[0];
}

/** Jobs in a state, oldest update first (dead letters with state 'dead'). `queue` NULL = all. */
export async function jobListByStatus(db: Queryable, status: string, queue: string | null, limit: number): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>({
    name: 'jobListByStatus',
    text: `SELECT * FROM jobs WHERE status = $1 AND ($2::text IS NULL OR queue_name = $2) ORDER BY updated_at LIMIT $3`,
    values: [status, queue, limit],
  });
  return rows;
}

/** Jobs held in Redis right now (dispatched), for the dispatcher's window. */
export async function jobCountDispatched(db: Queryable, queues: readonly string[] | null): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    name: 'jobCountDispatched',
    // why: lease_expires_at IS NOT NULL lets the planner use idx_jobs_lease (dispatched rows hold a lease)
    text: `SELECT count(*)::int AS n FROM jobs WHERE lease_expires_at IS NOT NULL AND status = 'dispatched' AND ($1::text[] IS NULL OR queue_name = ANY ($1::text[]))`,
    values: [queues],
  });
  return rows[0]?.n ?? 0;
}

/** Ready depth per queue and lane, and the age of the oldest ready job per queue. Run by the metrics sampler. */
export async function jobCountReadyByQueueLane(db: Queryable): Promise<Array<{ queue_name: string; lane: string; depth: number; oldest_age_s: number }>> {
  const { rows } = await db.query<{ queue_name: string; lane: string; depth: number; oldest_age_s: number }>({
    name: 'jobCountReadyByQueueLane',
    text: `SELECT queue_name,
        CASE WHEN priority <= 50 THEN 'high' WHEN priority <= 150 THEN 'normal' ELSE 'low' END AS lane,
        count(*)::int AS depth, extract(epoch FROM now() - min(run_at))::float8 AS oldest_age_s
      FROM jobs WHERE status = 'queued' AND run_at <= now() GROUP BY 1, 2`,
    values: [],
  });
  return rows;
}

/** Counts per queue and state. Run by `fivetier queue stats`. */
export async function jobCountByQueueStatus(db: Queryable): Promise<Array<{ queue_name: string; status: string; n: number }>> {
  const { rows } = await db.query<{ queue_name: string; status: string; n: number }>({
    name: 'jobCountByQueueStatus',
    text: 'SELECT queue_name, status, count(*)::int AS n FROM jobs GROUP BY 1, 2 ORDER BY 1, 2',
    values: [],
  });
  return rows;
}

/** Insert one job (the tenant's RLS applies when `db` is a tenant transaction). Undefined when the id exists. */
export async function jobInsert(db: Queryable, job: { tenantId: string; id: string; queue: string; type: string; priority: number | null; payload: unknown; runAt: Date | null; maxAttempts: number | null }): Promise<JobRow | undefined> {
  const { rows } = await db.query<JobRow>({
    name: 'jobInsert',
    text: `INSERT INTO jobs (tenant_id, id, queue_name, job_type, priority, payload, run_at, max_attempts)
      VALUES ($1, $2, $3::text, $4, coalesce($5::int, (SELECT default_priority FROM job_queues WHERE name = $3::text), 100), $6::jsonb, coalesce($7::timestamptz, now()), $8::int)
      ON CONFLICT (tenant_id, id) DO NOTHING RETURNING *`,
    values: [job.tenantId, job.id, job.queue, job.type, job.priority, JSON.stringify(job.payload ?? {}), job.runAt, job.maxAttempts],
  });
  return rows[0];
}

/** Insert many jobs of one tenant, queue, type and priority in one statement; returns how many were new. */
export async function jobInsertMany(db: Queryable, tenantId: string, queue: string, type: string, priority: number | null, ids: readonly string[], payloads: readonly unknown[]): Promise<number> {
  const { rowCount } = await db.query({
    name: 'jobInsertMany',
    text: `INSERT INTO jobs (tenant_id, id, queue_name, job_type, priority, payload)
      SELECT $1::uuid, x.id, $2::text, $3::text, coalesce($4::int, (SELECT default_priority FROM job_queues WHERE name = $2::text), 100), x.payload
      FROM unnest($5::uuid[], $6::jsonb[]) AS x (id, payload)
      ON CONFLICT (tenant_id, id) DO NOTHING`,
    values: [tenantId, queue, type, priority, ids, payloads.map((p) => JSON.stringify(p ?? {}))],
  });
  return rowCount ?? 0;
}
