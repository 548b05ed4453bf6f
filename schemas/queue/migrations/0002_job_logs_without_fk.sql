-- fivetier queue tier, migration 0002: job_logs keeps no foreign key to jobs.
--
-- why: every finished attempt inserts a job_logs row, and the foreign key made PostgreSQL check
-- the parent job for each one through a cached plan. A plan cached while `jobs` was small is a
-- scan of the whole table, and it stays cached on long-lived worker connections: Redis dispatch
-- fell from about 3,700 to under 800 jobs/s in bench/queue.ts. The log rows are written in the
-- same statement as the job's transition, so they cannot point at a job that does not exist;
-- deleting a job deletes its log rows in the same statement (jobDeleteIfNotLeased).
ALTER TABLE job_logs DROP CONSTRAINT job_logs_tenant_id_job_id_fkey;
