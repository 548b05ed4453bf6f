-- fivetier queue tier, migration 0009: no index on the job id alone.
--
-- why: a job's row is written three times (insert, claim, completion) and none of those updates
-- can be HOT, so every index of jobs gets an entry for every version of the row: idx_jobs_id
-- cost three index entries per job. It served look-ups by id alone; the worker's batched
-- statements now name each job by its full key (tenant_id, id), which the primary key serves,
-- and the operator's look-up of a job by its id alone (`fivetier queue retry <id>` and the
-- like, given no tenant: a rare action) reads the table instead.
DROP INDEX idx_jobs_id;
