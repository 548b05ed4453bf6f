-- fivetier content tier, migration 0001: initial schema.
--
-- Heavy content only: e-mail bodies (text / HTML / headers) in `content_objects`, keyed by an
-- opaque `storage_key` that OLTP rows carry (emails.content_storage_key, no cross-database FK),
-- and their `attachments`. Supports compression, dedup by content hash, and expiry.
--
-- Runs inside one transaction opened by the migrator after `SET LOCAL ROLE fivetier_owner`.
-- Every table is tenant-owned: tenant_id uuid not null, keys start with tenant_id, RLS
-- enabled and forced (tenant_isolation + maintenance_access). PostgreSQL 15 only.

-- why: runtime and maintenance roles get DML on all tables the owner creates here.
ALTER DEFAULT PRIVILEGES FOR ROLE fivetier_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO fivetier_app, fivetier_maintenance;
ALTER DEFAULT PRIVILEGES FOR ROLE fivetier_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO fivetier_app, fivetier_maintenance;
-- fivetier_worker gets nothing in this tier.

-- why: the docs make storage_key alone the PK; keys must start with tenant_id, so the PK is
-- (tenant_id, storage_key). Keys are random (>= 128 bits) so they are unique in practice, and
-- idx_content_objects_storage_key serves lookups by key alone (consistency checker, sweeper).
CREATE TABLE content_objects (
    tenant_id              uuid NOT NULL,
    storage_key            varchar(500) NOT NULL,
    content_text           text,
    content_html           text,
    headers                jsonb,
    raw_size_bytes         integer,
    -- why: when the app compresses a body it stores the compressed bytes here (see
    -- docs/schema.md for the format) and leaves content_text / content_html null;
    -- uncompressed bodies are still compressed transparently by TOAST.
    content_compressed     bytea,
    compression_algorithm  varchar(20),
    compressed_size_bytes  integer,
    content_hash           varchar(64),   -- hex sha256 of the uncompressed content, for dedup
    created_at             timestamptz NOT NULL DEFAULT now(),
    expires_at             timestamptz,   -- retention hint; the expiry job acts on it
    last_accessed_at       timestamptz,
    PRIMARY KEY (tenant_id, storage_key),
    CONSTRAINT content_objects_compression_chk
        CHECK (content_compressed IS NULL OR compression_algorithm IS NOT NULL)
);
-- seed indexes (exact names and columns)
CREATE INDEX idx_content_expires ON content_objects (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX idx_content_hash ON content_objects (content_hash) WHERE content_hash IS NOT NULL;
CREATE INDEX idx_content_objects_storage_key ON content_objects (storage_key);
-- why: the orphan sweeper scans content older than its grace period, oldest first.
CREATE INDEX idx_content_objects_created ON content_objects (created_at);

CREATE TABLE attachments (
    id                   uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id            uuid NOT NULL,
    parent_storage_key   varchar(500) NOT NULL,
    filename             varchar(255) NOT NULL,
    mime_type            varchar(100) NOT NULL,
    size_bytes           integer NOT NULL CHECK (size_bytes >= 0),
    content              bytea NOT NULL,
    storage_disposition  varchar(50) NOT NULL DEFAULT 'attachment'
                         CHECK (storage_disposition IN ('inline', 'attachment')),
    created_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    -- why: same-database FK; deleting a body (expiry, orphan sweep, erasure) removes its files
    FOREIGN KEY (tenant_id, parent_storage_key)
        REFERENCES content_objects (tenant_id, storage_key) ON DELETE CASCADE
);
CREATE INDEX idx_attachments_parent ON attachments (tenant_id, parent_storage_key);

-- Row-level security
ALTER TABLE content_objects ENABLE ROW LEVEL SECURITY;
ALTER TABLE content_objects FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON content_objects FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON content_objects FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE attachments ENABLE ROW LEVEL SECURITY;
ALTER TABLE attachments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON attachments FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON attachments FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);
