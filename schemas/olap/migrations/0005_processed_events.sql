-- fivetier OLAP tier, migration 0005: processed event keys, and partition upkeep that covers
-- them and reports what retention drops.
--
-- The fact tables already have their per-period unique keys (the primary keys of 0001:
-- tenant, entity, UTC day), so upserts are well defined; this migration adds none.
--
-- processed_events holds the idempotency key of every delivery event the aggregates counted.
-- recordEvent inserts the key and updates the aggregates in one OLAP transaction, so an event
-- recorded twice (a job run twice, two workers at once) is counted once (invariant I4).
-- It is partitioned by the event's UTC day like the facts, so retention drops the keys of a
-- month together with the facts they guard.
--
-- Runs inside one transaction opened by the migrator after `SET LOCAL ROLE fivetier_owner`.

CREATE TABLE processed_events (
    tenant_id     uuid NOT NULL,
    event_id      uuid NOT NULL,
    period_start  date NOT NULL,   -- the event's UTC day (the facts' period)
    event_type    text NOT NULL,
    campaign_id   uuid NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, event_id, period_start),
    CONSTRAINT processed_events_type_chk CHECK (event_type IN
        ('sent', 'delivered', 'opened', 'clicked', 'replied', 'bounced', 'unsubscribed', 'complaint'))
) PARTITION BY RANGE (period_start);

CREATE TABLE processed_events_default PARTITION OF processed_events DEFAULT;
REVOKE ALL ON processed_events_default FROM fivetier_app;

ALTER TABLE processed_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE processed_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON processed_events FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON processed_events FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

-- ---------------------------------------------------------------------------------------
-- Partition upkeep, replacing 0001's functions (same signatures, privileges kept):
--   * the fixed table list gains processed_events, and lives in one function;
--   * olap_ensure_partition takes the parent's lock before it looks for the partition, so two
--     callers at once (two service instances) do not both try to create it;
--   * olap_retire_partitions lists, and unless p_dry_run drops, the partitions retention
--     removes: a dry run and a real run share this one selection, so they report the same list.
-- ---------------------------------------------------------------------------------------

-- why: the one list of tables the partition functions may touch.
CREATE FUNCTION olap_is_partitioned_table(p_table text) RETURNS boolean
    LANGUAGE sql
    IMMUTABLE
    SET search_path = public, pg_temp
AS $$
    SELECT p_table IN ('billing_analytics', 'campaign_analytics', 'mailbox_analytics', 'lead_analytics',
                       'warmup_analytics', 'sequence_step_analytics', 'admin_audit_log', 'processed_events');
$$;

CREATE OR REPLACE FUNCTION olap_ensure_partition(p_parent text, p_from date, p_to date) RETURNS text
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = public, pg_temp
    SET "TimeZone" = 'UTC'
AS $$
DECLARE
    v_part text := p_parent || '_p' || to_char(p_from, 'YYYYMMDD');
    v_key  text;
BEGIN
    IF NOT olap_is_partitioned_table(p_parent) THEN
        RAISE EXCEPTION 'olap_ensure_partition: % is not a partitioned OLAP table', p_parent;
    END IF;
    IF p_from IS NULL OR p_to IS NULL OR p_to <= p_from THEN
        RAISE EXCEPTION 'olap_ensure_partition: invalid range [%, %)', p_from, p_to;
    END IF;
    IF to_regclass(v_part) IS NOT NULL THEN
        RETURN v_part;
    END IF;
    v_key := CASE WHEN p_parent = 'admin_audit_log' THEN 'created_at' ELSE 'period_start' END;

    -- why: rows for this range may already sit in the DEFAULT partition; attaching would then
    -- fail, so build the partition standalone, move those rows in, then attach. The lock comes
    -- before the second look, so a caller that waited for another one finds its partition.
    EXECUTE format('LOCK TABLE %I IN SHARE ROW EXCLUSIVE MODE', p_parent);
    IF to_regclass(v_part) IS NOT NULL THEN
        RETURN v_part;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', v_part, p_parent);
    EXECUTE format('WITH moved AS (DELETE FROM %I WHERE %I >= $1 AND %I < $2 RETURNING *) '
                   'INSERT INTO %I SELECT * FROM moved',
                   p_parent || '_default', v_key, v_key, v_part)
        USING p_from::timestamptz, p_to::timestamptz;
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   p_parent, v_part, p_from, p_to);
    EXECUTE format('REVOKE ALL ON TABLE %I FROM fivetier_app', v_part);
    RETURN v_part;
END;
$$;

-- Lists every non-default partition of p_parent whose upper bound is <= p_before, oldest first,
-- and drops them unless p_dry_run.
CREATE FUNCTION olap_retire_partitions(p_parent text, p_before date, p_dry_run boolean)
    RETURNS TABLE (partition_name text, range_from timestamptz, range_to timestamptz)
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = public, pg_temp
    SET "TimeZone" = 'UTC'
AS $$
DECLARE
    r record;
BEGIN
    IF NOT olap_is_partitioned_table(p_parent) THEN
        RAISE EXCEPTION 'olap_retire_partitions: % is not a partitioned OLAP table', p_parent;
    END IF;
    IF p_before IS NULL THEN
        RAISE EXCEPTION 'olap_retire_partitions: no cut-off date';
    END IF;
    FOR r IN
        SELECT b.relname, b.lower_bound::timestamptz AS lower_bound, b.upper_bound::timestamptz AS upper_bound
        FROM (
            SELECT c.relname,
                   (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1] AS lower_bound,
                   (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1] AS upper_bound
            FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = p_parent::regclass
        ) b
        WHERE b.upper_bound IS NOT NULL AND b.upper_bound::timestamptz <= p_before::timestamptz
        ORDER BY b.upper_bound::timestamptz, b.relname
    LOOP
        IF NOT p_dry_run THEN
            EXECUTE format('DROP TABLE %I', r.relname);
        END IF;
        partition_name := r.relname;
        range_from := r.lower_bound;
        range_to := r.upper_bound;
        RETURN NEXT;
    END LOOP;
END;
$$;

-- why: one selection for retention; the 0001 entry point keeps working on top of it.
CREATE OR REPLACE FUNCTION olap_drop_partitions_before(p_parent text, p_before date) RETURNS integer
    LANGUAGE sql
    SECURITY DEFINER
    SET search_path = public, pg_temp
    SET "TimeZone" = 'UTC'
AS $$
    SELECT count(*)::integer FROM olap_retire_partitions(p_parent, p_before, false);
$$;

REVOKE ALL ON FUNCTION olap_retire_partitions(text, date, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION olap_retire_partitions(text, date, boolean) TO fivetier_maintenance;
