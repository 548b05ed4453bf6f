-- fivetier OLTP tier, migration 0007: idempotency keys of the API's single send.
--
-- A client that retries `POST /v1/emails` with the same `Idempotency-Key` must send once. The
-- key's row is inserted in the same OLTP transaction as the email row, so the two commit or
-- roll back together: a retry either finds the key (and answers with the email it names) or
-- finds neither. A concurrent duplicate waits on the primary key and then fails with a unique
-- violation, after which it reads the winner's row.
-- request_hash (sha256 of the request) tells a retry from a different request reusing the key.
-- Runs inside one transaction as fivetier_owner (see 0001).

CREATE TABLE send_idempotency_keys (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key           varchar(255) NOT NULL,
    request_hash  bytea NOT NULL CHECK (octet_length(request_hash) = 32),
    email_id      uuid NOT NULL,
    storage_key   varchar(500) NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);
-- why: keys are kept for a while (retention by created_at), not forever
CREATE INDEX idx_send_idempotency_keys_created ON send_idempotency_keys (created_at);

ALTER TABLE send_idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE send_idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON send_idempotency_keys FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON send_idempotency_keys FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);
