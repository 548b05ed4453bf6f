-- fivetier OLAP tier, migration 0001: initial schema.
--
-- Aggregated analytics only (daily facts per tenant and entity) plus the compliance audit
-- log. Filled by idempotent aggregation jobs (INSERT ... ON CONFLICT on the per-period key);
-- no correctness path reads OLAP.
--
-- Decisions (see docs/schema.md):
--   * ids are uuid (tenant_id and the logical OLTP ids), not the docs' TEXT, so RLS and joins
--     against OLTP ids are type-safe; there are no FKs at all (the docs' billing_id FK is
--     dropped: FKs between partitioned tables block detaching / dropping partitions for
--     retention, and facts are keyed by tenant + period anyway);
--   * one row per (tenant, entity, day): period_start date is the day; it is the primary key
--     (starting with tenant_id, ending with the partition key), so there is no surrogate id;
--   * every table is RANGE-partitioned by time (period_start, admin_audit_log: created_at)
--     with a DEFAULT partition; olap_ensure_partition() / olap_drop_partitions_before()
--     create and drop the real partitions (run by the maintenance role);
--   * RLS is enabled and forced on the partitioned parents. Policies apply only when rows are
--     reached through the parent, so fivetier_app has no privileges on partitions at all.
--
-- Runs inside one transaction opened by the migrator after `SET LOCAL ROLE fivetier_owner`.
-- PostgreSQL 15 only.

-- why: runtime and maintenance roles get DML on all tables the owner creates here.
ALTER DEFAULT PRIVILEGES FOR ROLE fivetier_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO fivetier_app, fivetier_maintenance;
ALTER DEFAULT PRIVILEGES FOR ROLE fivetier_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO fivetier_app, fivetier_maintenance;
-- fivetier_worker gets nothing in this tier.

-- ---------------------------------------------------------------------------------------
-- Fact tables
-- ---------------------------------------------------------------------------------------

-- why: usage per tenant and period (billing, dashboards, overage checks). Rows are daily by
-- convention (period_end = period_start + 1); period_end stays in the key so a monthly
-- rollup row can live beside daily rows without colliding.
CREATE TABLE billing_analytics (
    tenant_id        uuid NOT NULL,
    period_start     date NOT NULL,
    period_end       date NOT NULL,
    subscription_id  uuid,
    emails_sent      integer NOT NULL DEFAULT 0,
    mailboxes_used   integer NOT NULL DEFAULT 0,
    domains_used     integer NOT NULL DEFAULT 0,
    campaigns_used   integer NOT NULL DEFAULT 0,
    leads_used       integer NOT NULL DEFAULT 0,
    warmups_active   integer NOT NULL DEFAULT 0,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, period_start, period_end),
    CONSTRAINT billing_analytics_period_chk CHECK (period_end > period_start)
) PARTITION BY RANGE (period_start);

CREATE TABLE campaign_analytics (
    tenant_id        uuid NOT NULL,
    campaign_id      uuid NOT NULL,
    period_start     date NOT NULL,
    company_id       uuid,            -- OLTP campaigns.company_id is optional
    sent             integer NOT NULL DEFAULT 0,
    delivered        integer NOT NULL DEFAULT 0,
    opened_tracked   integer NOT NULL DEFAULT 0,
    clicked_tracked  integer NOT NULL DEFAULT 0,
    replied          integer NOT NULL DEFAULT 0,
    bounced          integer NOT NULL DEFAULT 0,
    unsubscribed     integer NOT NULL DEFAULT 0,
    spam_complaints  integer NOT NULL DEFAULT 0,
    status           text,
    completed_leads  integer NOT NULL DEFAULT 0,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, campaign_id, period_start)
) PARTITION BY RANGE (period_start);

CREATE TABLE mailbox_analytics (
    tenant_id        uuid NOT NULL,
    mailbox_id       uuid NOT NULL,   -- OLTP email_accounts.id
    period_start     date NOT NULL,
    company_id       uuid,
    sent             integer NOT NULL DEFAULT 0,
    delivered        integer NOT NULL DEFAULT 0,
    opened_tracked   integer NOT NULL DEFAULT 0,
    clicked_tracked  integer NOT NULL DEFAULT 0,
    replied          integer NOT NULL DEFAULT 0,
    bounced          integer NOT NULL DEFAULT 0,
    unsubscribed     integer NOT NULL DEFAULT 0,
    spam_complaints  integer NOT NULL DEFAULT 0,
    warmup_status    text,
    health_score     integer NOT NULL DEFAULT 0,
    current_volume   integer NOT NULL DEFAULT 0,
    campaign_status  text,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, mailbox_id, period_start)
) PARTITION BY RANGE (period_start);

-- why: the entity is a lead within a campaign, so both ids are in the key; the docs give this
-- table no tenant column at all.
CREATE TABLE lead_analytics (
    tenant_id        uuid NOT NULL,
    lead_id          uuid NOT NULL,
    campaign_id      uuid NOT NULL,
    period_start     date NOT NULL,
    sent             integer NOT NULL DEFAULT 0,
    delivered        integer NOT NULL DEFAULT 0,
    opened_tracked   integer NOT NULL DEFAULT 0,
    clicked_tracked  integer NOT NULL DEFAULT 0,
    replied          integer NOT NULL DEFAULT 0,
    bounced          integer NOT NULL DEFAULT 0,
    unsubscribed     integer NOT NULL DEFAULT 0,
    spam_complaints  integer NOT NULL DEFAULT 0,
    status           text,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, lead_id, campaign_id, period_start)
) PARTITION BY RANGE (period_start);
CREATE INDEX idx_lead_analytics_campaign ON lead_analytics (tenant_id, campaign_id, period_start);

CREATE TABLE warmup_analytics (
    tenant_id            uuid NOT NULL,
    mailbox_id           uuid NOT NULL,
    period_start         date NOT NULL,
    company_id           uuid,
    sent             integer NOT NULL DEFAULT 0,
    delivered        integer NOT NULL DEFAULT 0,
    opened_tracked   integer NOT NULL DEFAULT 0,
    clicked_tracked  integer NOT NULL DEFAULT 0,
    replied          integer NOT NULL DEFAULT 0,
    bounced          integer NOT NULL DEFAULT 0,
    unsubscribed     integer NOT NULL DEFAULT 0,
    spam_complaints  integer NOT NULL DEFAULT 0,
    health_score         integer NOT NULL DEFAULT 0,
    progress_percentage  integer NOT NULL DEFAULT 0,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, mailbox_id, period_start)
) PARTITION BY RANGE (period_start);

CREATE TABLE sequence_step_analytics (
    tenant_id        uuid NOT NULL,
    step_id          uuid NOT NULL,   -- OLTP campaign_sequence_steps.id
    period_start     date NOT NULL,
    campaign_id      uuid NOT NULL,
    company_id       uuid,
    sent             integer NOT NULL DEFAULT 0,
    delivered        integer NOT NULL DEFAULT 0,
    opened_tracked   integer NOT NULL DEFAULT 0,
    clicked_tracked  integer NOT NULL DEFAULT 0,
    replied          integer NOT NULL DEFAULT 0,
    bounced          integer NOT NULL DEFAULT 0,
    unsubscribed     integer NOT NULL DEFAULT 0,
    spam_complaints  integer NOT NULL DEFAULT 0,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, step_id, period_start)
) PARTITION BY RANGE (period_start);
CREATE INDEX idx_sequence_step_analytics_campaign ON sequence_step_analytics (tenant_id, campaign_id, period_start);

-- ---------------------------------------------------------------------------------------
-- admin_audit_log: high-risk admin actions only (role / billing / tenant config changes,
-- PII exports, impersonation, deletion). Platform-level actions use the nil uuid tenant.
-- ---------------------------------------------------------------------------------------

CREATE TABLE admin_audit_log (
    id                   uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id            uuid NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    admin_user_id        uuid NOT NULL,
    action               text NOT NULL,
    resource_type        text NOT NULL,
    resource_id          text NOT NULL,   -- text: resources are not all uuid-keyed
    old_values           jsonb,
    new_values           jsonb,
    ip_address           text,
    user_agent           text,
    notes                text,
    metadata             jsonb,
    data_classification  varchar(20),
    retention_category   varchar(20),
    PRIMARY KEY (tenant_id, id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX idx_admin_audit_log_tenant_created ON admin_audit_log (tenant_id, created_at DESC);
CREATE INDEX idx_admin_audit_log_resource ON admin_audit_log (tenant_id, resource_type, resource_id);
CREATE INDEX idx_admin_audit_log_admin_user ON admin_audit_log (admin_user_id, created_at DESC);

-- ---------------------------------------------------------------------------------------
-- DEFAULT partitions. why: a row whose period has no partition yet still lands somewhere;
-- olap_ensure_partition() moves such rows into the real partition when it is created.
-- fivetier_app gets no privileges on any partition: only the RLS-protected parent is reachable.
-- ---------------------------------------------------------------------------------------

CREATE TABLE billing_analytics_default PARTITION OF billing_analytics DEFAULT;
REVOKE ALL ON billing_analytics_default FROM fivetier_app;
CREATE TABLE campaign_analytics_default PARTITION OF campaign_analytics DEFAULT;
REVOKE ALL ON campaign_analytics_default FROM fivetier_app;
CREATE TABLE mailbox_analytics_default PARTITION OF mailbox_analytics DEFAULT;
REVOKE ALL ON mailbox_analytics_default FROM fivetier_app;
CREATE TABLE lead_analytics_default PARTITION OF lead_analytics DEFAULT;
REVOKE ALL ON lead_analytics_default FROM fivetier_app;
CREATE TABLE warmup_analytics_default PARTITION OF warmup_analytics DEFAULT;
REVOKE ALL ON warmup_analytics_default FROM fivetier_app;
CREATE TABLE sequence_step_analytics_default PARTITION OF sequence_step_analytics DEFAULT;
REVOKE ALL ON sequence_step_analytics_default FROM fivetier_app;
CREATE TABLE admin_audit_log_default PARTITION OF admin_audit_log DEFAULT;
REVOKE ALL ON admin_audit_log_default FROM fivetier_app;

-- ---------------------------------------------------------------------------------------
-- Partition upkeep. why: creating and dropping partitions needs the table owner; these two
-- SECURITY DEFINER functions (fixed search_path, fixed table list, EXECUTE for
-- fivetier_maintenance only) let the scheduled maintenance job do exactly that and no more.
-- Partitions are named <parent>_pYYYYMMDD after their lower bound; bounds are UTC days.
-- ---------------------------------------------------------------------------------------

CREATE FUNCTION olap_ensure_partition(p_parent text, p_from date, p_to date) RETURNS text
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = public, pg_temp
    SET "TimeZone" = 'UTC'
AS $$
DECLARE
    v_part text := p_parent || '_p' || to_char(p_from, 'YYYYMMDD');
    v_key  text;
BEGIN
    IF p_parent NOT IN ('billing_analytics', 'campaign_analytics', 'mailbox_analytics', 'lead_analytics',
                        'warmup_analytics', 'sequence_step_analytics', 'admin_audit_log') THEN
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
    -- fail, so build the partition standalone, move those rows in, then attach.
    EXECUTE format('LOCK TABLE %I IN SHARE ROW EXCLUSIVE MODE', p_parent);
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

-- Drops every non-default partition of p_parent whose upper bound is <= p_before (retention).
CREATE FUNCTION olap_drop_partitions_before(p_parent text, p_before date) RETURNS integer
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = public, pg_temp
    SET "TimeZone" = 'UTC'
AS $$
DECLARE
    r       record;
    v_upper text;
    v_count integer := 0;
BEGIN
    IF p_parent NOT IN ('billing_analytics', 'campaign_analytics', 'mailbox_analytics', 'lead_analytics',
                        'warmup_analytics', 'sequence_step_analytics', 'admin_audit_log') THEN
        RAISE EXCEPTION 'olap_drop_partitions_before: % is not a partitioned OLAP table', p_parent;
    END IF;
    FOR r IN
        SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = p_parent::regclass
    LOOP
        v_upper := (regexp_match(r.bound, 'TO \(''([^'']+)''\)'))[1];
        IF v_upper IS NOT NULL AND v_upper::timestamptz <= p_before::timestamptz THEN
            EXECUTE format('DROP TABLE %I', r.relname);
            v_count := v_count + 1;
        END IF;
    END LOOP;
    RETURN v_count;
END;
$$;

REVOKE ALL ON FUNCTION olap_ensure_partition(text, date, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION olap_drop_partitions_before(text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION olap_ensure_partition(text, date, date) TO fivetier_maintenance;
GRANT EXECUTE ON FUNCTION olap_drop_partitions_before(text, date) TO fivetier_maintenance;

-- ---------------------------------------------------------------------------------------
-- Privileges beyond the defaults
-- ---------------------------------------------------------------------------------------

-- why: the audit log is append-only for the app; retention and erasure (maintenance) may
-- still update / delete.
REVOKE UPDATE, DELETE ON admin_audit_log FROM fivetier_app;

-- ---------------------------------------------------------------------------------------
-- Row-level security (on the partitioned parents)
-- ---------------------------------------------------------------------------------------

ALTER TABLE billing_analytics ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_analytics FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON billing_analytics FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON billing_analytics FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE campaign_analytics ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_analytics FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaign_analytics FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON campaign_analytics FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE mailbox_analytics ENABLE ROW LEVEL SECURITY;
ALTER TABLE mailbox_analytics FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON mailbox_analytics FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON mailbox_analytics FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE lead_analytics ENABLE ROW LEVEL SECURITY;
ALTER TABLE lead_analytics FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON lead_analytics FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON lead_analytics FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE warmup_analytics ENABLE ROW LEVEL SECURITY;
ALTER TABLE warmup_analytics FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON warmup_analytics FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON warmup_analytics FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE sequence_step_analytics ENABLE ROW LEVEL SECURITY;
ALTER TABLE sequence_step_analytics FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sequence_step_analytics FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON sequence_step_analytics FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE admin_audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE admin_audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON admin_audit_log FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON admin_audit_log FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);
