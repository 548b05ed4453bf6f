-- fivetier queue tier, migration 0001: initial schema.
--
-- The durable job store. PostgreSQL `jobs` is the source of truth (Redis, when configured,
-- is only a dispatch layer and may lose everything). `job_queues` holds per-queue settings,
-- `job_logs` a bounded per-attempt history. Jobs arrive from the OLTP outbox via the relay,
-- which uses the outbox row's id as the job id, so `INSERT ... ON CONFLICT (tenant_id, id)
-- DO NOTHING` makes the relay idempotent.
--
-- System jobs (not owned by any tenant: maintenance, partition upkeep, ...) use the nil uuid
-- '00000000-0000-0000-0000-000000000000' as tenant_id (OLTP forbids it as a real tenant id).
--
-- Runs inside one transaction opened by the migrator after `SET LOCAL ROLE fivetier_owner`.
-- PostgreSQL 15 only.

-- why: runtime and maintenance roles get DML on all tables the owner creates here.
ALTER DEFAULT PRIVILEGES FOR ROLE fivetier_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO fivetier_app, fivetier_maintenance;
ALTER DEFAULT PRIVILEGES FOR ROLE fivetier_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO fivetier_app, fivetier_maintenance;

-- why: global settings, no tenant_id, no RLS. Lower priority number runs sooner
-- (<=50 high lane, 51-150 normal, >150 low).
CREATE TABLE job_queues (
    name              varchar(100) PRIMARY KEY,
    default_priority  integer NOT NULL DEFAULT 100 CHECK (default_priority BETWEEN 1 AND 1000),
    paused            boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

INSERT INTO job_queues (name, default_priority) VALUES
    ('email-sending', 100),
    ('email-processing', 75),
    ('analytics', 150),
    ('default', 100);

-- why: the job state machine (src/queue/job-states.ts, docs/state-machines.md). A retry goes
-- back to 'queued' with a later run_at; 'dead' is the dead-letter state.
CREATE TABLE jobs (
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL,
    queue_name        varchar(100) NOT NULL REFERENCES job_queues (name),
    job_type          varchar(100) NOT NULL,
    priority          integer NOT NULL DEFAULT 100 CHECK (priority BETWEEN 1 AND 1000),
    payload           jsonb NOT NULL DEFAULT '{}',   -- ids and small config only
    status            text NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'dispatched', 'running', 'completed', 'dead', 'cancelled')),
    attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- why: NULL means "by lane" (5 for priority <= 50, else 3), so the relay's plain INSERT
    -- gets the right limit without knowing the rule.
    max_attempts      integer CHECK (max_attempts IS NULL OR max_attempts >= 1),
    run_at            timestamptz NOT NULL DEFAULT now(),
    lease_owner       text,
    lease_expires_at  timestamptz,
    last_error        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    completed_at      timestamptz,
    failed_at         timestamptz,
    PRIMARY KEY (tenant_id, id),
    -- why: states carry the facts that define them, so a buggy transition fails loudly
    CONSTRAINT jobs_completed_has_time CHECK (status <> 'completed' OR completed_at IS NOT NULL),
    CONSTRAINT jobs_dead_has_time      CHECK (status <> 'dead' OR failed_at IS NOT NULL),
    CONSTRAINT jobs_leased_has_lease   CHECK (status NOT IN ('dispatched', 'running') OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
    CONSTRAINT jobs_unleased_no_lease  CHECK (status IN ('dispatched', 'running') OR lease_owner IS NULL)
);
-- why: workers and operators address a job by id alone (Redis carries the id).
CREATE INDEX idx_jobs_id ON jobs (id);
-- why: the fair claim walks tenants with queued jobs (skip scan on tenant_id), then takes each
-- tenant's next jobs by priority: WHERE status = 'queued' AND tenant_id = $t ORDER BY priority, run_at
-- ... FOR UPDATE SKIP LOCKED.
CREATE INDEX idx_jobs_claim ON jobs (tenant_id, priority, run_at) WHERE status = 'queued';
-- why: depth and oldest-ready metrics per queue.
CREATE INDEX idx_jobs_queue_ready ON jobs (queue_name, run_at) WHERE status = 'queued';
-- why: the rescuer finds expired leases of dispatched / running jobs (only they hold a lease,
-- see the CHECKs). The predicate is on the lease, not the status, so the planner never uses this
-- index (full of dead entries under load) for the per-job transitions that guard on status.
CREATE INDEX idx_jobs_lease ON jobs (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
-- why: dead-letter listing and retention by age of finished jobs. Partial, so that no index
-- on status covers the hot states: a burst of inserts leaves the statistics stale, and the
-- planner must not then pick a status index over the primary key for the per-job transitions.
CREATE INDEX idx_jobs_dead ON jobs (updated_at) WHERE status = 'dead';
CREATE INDEX idx_jobs_finished ON jobs (updated_at) WHERE status IN ('completed', 'cancelled');
CREATE INDEX idx_jobs_tenant_created ON jobs (tenant_id, created_at);

CREATE TABLE job_logs (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL,
    job_id       uuid NOT NULL,
    status       text NOT NULL CHECK (status IN ('attempting', 'success', 'retry', 'failed')),
    message      text,
    attempt      integer,
    started_at   timestamptz,
    finished_at  timestamptz,
    duration_ms  integer,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX idx_job_logs_job ON job_logs (tenant_id, job_id, attempt);
CREATE INDEX idx_job_logs_created ON job_logs (created_at);

-- why: without Redis, idle workers LISTEN on fivetier_jobs and claim when a job commits.
-- Per statement (a relay batch is one notification); payload empty, workers just re-poll.
CREATE FUNCTION fivetier_jobs_notify() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_notify('fivetier_jobs', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_notify
    AFTER INSERT ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION fivetier_jobs_notify();

-- Privileges beyond the defaults
-- why: the relay and the dispatcher / workers work across tenants on these three tables only.
GRANT SELECT, INSERT, UPDATE, DELETE ON job_queues, jobs, job_logs TO fivetier_worker;
-- why: queue settings (pause, priorities) are operator actions, not tenant actions.
REVOKE INSERT, UPDATE, DELETE ON job_queues FROM fivetier_app;

-- Row-level security (job_queues has no tenant_id and no RLS)
ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON jobs FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON jobs FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);
CREATE POLICY worker_access ON jobs FOR ALL TO fivetier_worker USING (true) WITH CHECK (true);

ALTER TABLE job_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_logs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON job_logs FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON job_logs FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);
CREATE POLICY worker_access ON job_logs FOR ALL TO fivetier_worker USING (true) WITH CHECK (true);
