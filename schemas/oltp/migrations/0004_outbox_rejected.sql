-- fivetier OLTP tier, migration 0004: outbox rows the queue tier cannot take are set aside.
--
-- why: the relay moves the oldest outbox rows first, in batches. One row it cannot relay (a
-- payload far over the cap, written before the cap existed or straight by SQL, or a row the
-- queue tier refuses) used to fail every batch that held it, so no tenant's jobs moved. The
-- relay now moves such a row here, whole, in the same OLTP transaction that takes it out of
-- the outbox, with the reason, and relays the rest. Operators look here (and at the admin
-- event the relay records) to fix and re-queue, or delete; nothing is relayed from here.
-- Runs inside one transaction as fivetier_owner (see 0001).

CREATE TABLE outbox_rejected (
    id             uuid NOT NULL,
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- text, not the outbox's varchar(100): whatever the outbox held must fit here
    queue_name     text NOT NULL,
    job_type       text NOT NULL,
    payload        jsonb NOT NULL,
    priority       integer NOT NULL,
    run_at         timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    -- size of the payload's JSON text when it was set aside, in bytes
    payload_bytes  bigint NOT NULL,
    reason         text NOT NULL,
    rejected_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX idx_outbox_rejected_rejected ON outbox_rejected (rejected_at);

-- why: the relay (fivetier_worker) writes here (UPDATE for an id set aside twice); it never deletes here.
GRANT SELECT, INSERT, UPDATE ON outbox_rejected TO fivetier_worker;

ALTER TABLE outbox_rejected ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox_rejected FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox_rejected FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON outbox_rejected FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);
CREATE POLICY worker_access ON outbox_rejected FOR ALL TO fivetier_worker USING (true) WITH CHECK (true);
