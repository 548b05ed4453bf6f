-- fivetier queue tier, migration 0006: two indexes fewer on jobs.
--
-- why: a job's row is written three times (insert, claim, completion), and none of those
-- updates can be HOT (the status changes, and partial indexes name it), so every index gets an
-- entry for every version: index upkeep was the largest part of PostgreSQL's work per job in
-- bench/queue.ts. These two served nothing that needs them:
-- - idx_jobs_tenant_created (tenant_id, created_at): no statement reads a tenant's jobs in
--   creation order; the primary key (tenant_id, id) serves every per-tenant lookup.
-- - idx_jobs_queue_ready (queue_name, run_at) WHERE status = 'queued': read only by the metrics
--   sampler every 5 s, which counts every ready job per queue and lane anyway; it scans
--   idx_jobs_claim's queued entries instead.
DROP INDEX idx_jobs_tenant_created;
DROP INDEX idx_jobs_queue_ready;
