-- fivetier OLAP tier, migration 0006: table statistics the service keeps fresh.
--
-- why: PostgreSQL plans with the statistics ANALYZE leaves, and autovacuum refreshes them at
-- most once a minute per database (autovacuum_naptime). A table that grows from nothing in
-- seconds (a fresh install's first campaign writes 20,000 emails) is planned meanwhile as if it
-- held a handful of rows: the claim of 20 emails by id read every email of the tenant, 20 ms a
-- claim instead of a fraction of one. The service's leader calls this function every few
-- seconds; it analyzes the tables of this tier that changed by a tenth (and at least
-- `min_changes` rows) since their last analysis. Only the owner of a table may ANALYZE it, so
-- the function runs as the owner role, on the owner's tables of this schema only.
--
-- Runs inside one transaction opened by the migrator after `SET LOCAL ROLE fivetier_owner`.

CREATE FUNCTION fivetier_analyze_stale(min_changes bigint DEFAULT 1000, fraction double precision DEFAULT 0.1)
    RETURNS TABLE (table_name text, changed bigint)
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.relname::text AS relname, s.n_mod_since_analyze AS n
        FROM pg_stat_user_tables s
        JOIN pg_class c ON c.oid = s.relid
        WHERE s.schemaname = 'public' AND c.relkind = 'r' AND c.relowner = 'fivetier_owner'::regrole
          AND s.n_mod_since_analyze >= greatest(min_changes, fraction * greatest(c.reltuples, 0))
        ORDER BY s.n_mod_since_analyze DESC
    LOOP
        EXECUTE format('ANALYZE public.%I', r.relname);
        table_name := r.relname;
        changed := r.n;
        RETURN NEXT;
    END LOOP;
END;
$$;

REVOKE ALL ON FUNCTION fivetier_analyze_stale(bigint, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fivetier_analyze_stale(bigint, double precision) TO fivetier_maintenance;
