-- fivetier OLTP tier, migration 0012: erasures in progress (src/lifecycle/erasure.ts).
--
-- One row per erasure of an address within a tenant, or of a whole tenant, while it runs. The
-- erasure walks the tiers in a fixed order and records each finished step here, with the ids and
-- storage keys it collected before it deleted the rows that led to them, so a run that crashed
-- resumes at the step it stopped in. The row is deleted when the erasure ends: what stays is
-- the admin_audit_log entry in OLAP, which carries the subject's hash only.
--
--   address       the lower-cased address while the erasure runs (it finds the rows by it); null
--                 for a tenant erasure.
--   subject_hash  sha256 of the lower-cased address, or of the tenant id.
--   step          the next step to run (see STEPS in src/lifecycle/erasure.ts).
--   refs          ids and storage keys collected in the first step: no personal data.
--
-- Runs inside one transaction opened by the migrator after `SET LOCAL ROLE fivetier_owner`.

CREATE TABLE public.erasures (
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('address', 'tenant')),
    address       varchar(254),
    subject_hash  bytea NOT NULL CHECK (length(subject_hash) = 32),
    step          text NOT NULL DEFAULT 'collect',
    refs          jsonb NOT NULL DEFAULT '{}',
    requested_by  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    -- why: a second request for the same subject resumes the first rather than racing it
    CONSTRAINT erasures_subject_key UNIQUE (tenant_id, kind, subject_hash)
);

ALTER TABLE public.erasures ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.erasures FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON public.erasures FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON public.erasures FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);
