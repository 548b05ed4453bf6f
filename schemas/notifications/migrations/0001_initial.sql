-- fivetier notifications tier, migration 0001: initial schema.
--
-- User-facing notifications (in-app / email / push) and curated admin system events. Must
-- stay readable when OLTP or OLAP are down, so it references users and tenants only by id.
--
-- admin_system_events.tenant_id is NOT NULL: platform-wide events use the nil uuid
-- '00000000-0000-0000-0000-000000000000' (never a real tenant), so RLS applies uniformly;
-- they are read/written with app.current_tenant_id set to the nil uuid or by the
-- maintenance role.
--
-- Runs inside one transaction opened by the migrator after `SET LOCAL ROLE fivetier_owner`.
-- PostgreSQL 15 only.

-- why: runtime and maintenance roles get DML on all tables the owner creates here.
ALTER DEFAULT PRIVILEGES FOR ROLE fivetier_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO fivetier_app, fivetier_maintenance;
ALTER DEFAULT PRIVILEGES FOR ROLE fivetier_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO fivetier_app, fivetier_maintenance;
-- fivetier_worker gets nothing in this tier.

CREATE TABLE notifications (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL,
    user_id     uuid,                 -- null = tenant-wide
    type        varchar(100) NOT NULL, -- e.g. CAMPAIGN_COMPLETED, QUOTA_WARNING
    title       text NOT NULL,
    message     text NOT NULL,
    channel     varchar(20) NOT NULL DEFAULT 'in_app' CHECK (channel IN ('in_app', 'email', 'push')),
    is_read     boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    read_at     timestamptz,
    expires_at  timestamptz,
    deleted_at  timestamptz,          -- hidden by the user (soft delete)
    PRIMARY KEY (tenant_id, id)
);
-- seed index (exact name and columns)
CREATE INDEX idx_notifications_unread ON notifications (user_id, created_at DESC) WHERE is_read = FALSE;
CREATE INDEX idx_notifications_user_tenant_created ON notifications (user_id, tenant_id, created_at DESC);
-- why: tenant-wide notifications (user_id null) and per-tenant listing.
CREATE INDEX idx_notifications_tenant_created ON notifications (tenant_id, created_at DESC);
-- why: retention deletes expired rows.
CREATE INDEX idx_notifications_expires ON notifications (expires_at) WHERE expires_at IS NOT NULL;

-- why: uuid id (not identity) so ids can be made before insert (e.g. when an event is first
-- logged externally during an outage and recorded later, idempotently).
CREATE TABLE admin_system_events (
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL,       -- nil uuid = platform-wide
    created_at   timestamptz NOT NULL DEFAULT now(),
    event_type   text NOT NULL,       -- incident_opened, quota_reached, job_failure, ...
    severity     text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    description  text NOT NULL,
    details      jsonb,               -- kept small
    user_id      uuid,
    is_resolved  boolean NOT NULL DEFAULT false,
    resolved_at  timestamptz,
    resolved_by  uuid,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX idx_admin_system_events_created ON admin_system_events (created_at DESC);
CREATE INDEX idx_admin_system_events_tenant ON admin_system_events (tenant_id, created_at DESC);
CREATE INDEX idx_admin_system_events_severity ON admin_system_events (severity, created_at DESC);
-- why: the dashboard shows open incidents first.
CREATE INDEX idx_admin_system_events_unresolved ON admin_system_events (created_at DESC) WHERE NOT is_resolved;

-- Row-level security
ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE notifications FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notifications FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON notifications FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE admin_system_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE admin_system_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON admin_system_events FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON admin_system_events FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);
