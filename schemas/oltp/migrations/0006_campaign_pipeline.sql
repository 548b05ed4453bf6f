-- fivetier OLTP tier, migration 0006: what the email pipeline needs to send campaigns.
--
-- * campaigns name their template and sender, and keep how far the fan-out got (a keyset
--   cursor over the campaign's leads), so a fan-out that stops (pause, crash, deploy) resumes
--   where it was and never makes a lead's email twice.
-- * campaign_leads: which leads a campaign goes to.
-- * emails: at most one email per campaign and lead (the fan-out inserts with ON CONFLICT DO
--   NOTHING), 'suppressed' as an outcome, and a send claim (token and deadline) so two runs of
--   one email.send job never deliver the same email at once.
-- * suppressions: addresses a tenant must not send to, keyed by a hash of the address so an
--   erasure can drop the address and keep the suppression.
-- * plans: the send rate per second, per plan.
-- Runs inside one transaction as fivetier_owner (see 0001).

ALTER TABLE campaigns
    ADD COLUMN template_id     uuid,
    ADD COLUMN from_address    varchar(255),
    ADD COLUMN fanout_after    uuid,
    ADD COLUMN fanout_done     boolean NOT NULL DEFAULT false,
    ADD COLUMN started_at      timestamptz,
    -- why: deleting a template must not delete or block the campaign; PG15 column lists null only
    -- the campaign's reference, never tenant_id.
    ADD FOREIGN KEY (tenant_id, template_id) REFERENCES templates (tenant_id, id) ON DELETE SET NULL (template_id);

CREATE TABLE campaign_leads (
    tenant_id    uuid NOT NULL,
    campaign_id  uuid NOT NULL,
    lead_id      uuid NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, campaign_id, lead_id),
    FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX idx_campaign_leads_lead ON campaign_leads (tenant_id, lead_id);

ALTER TABLE emails DROP CONSTRAINT emails_status_check;
ALTER TABLE emails ADD CONSTRAINT emails_status_check
    CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'bounced', 'failed', 'suppressed'));
ALTER TABLE emails
    ADD COLUMN send_token  uuid,
    ADD COLUMN send_until  timestamptz;
CREATE UNIQUE INDEX idx_emails_campaign_lead ON emails (tenant_id, campaign_id, lead_id)
    WHERE campaign_id IS NOT NULL AND lead_id IS NOT NULL;
-- why: "how many of this campaign's emails still wait" decides when it completes
CREATE INDEX idx_emails_campaign_status ON emails (tenant_id, campaign_id, status) WHERE campaign_id IS NOT NULL;

CREATE TABLE suppressions (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- sha256 of the lower-cased address
    address_hash  bytea NOT NULL CHECK (length(address_hash) = 32),
    -- null once the address is erased; the suppression stays
    address       varchar(254),
    reason        varchar(20) NOT NULL CHECK (reason IN ('bounce', 'complaint', 'unsubscribe', 'manual')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, address_hash)
);

ALTER TABLE plans ADD COLUMN send_rate_per_second integer CHECK (send_rate_per_second > 0);

ALTER TABLE campaign_leads ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_leads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaign_leads FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON campaign_leads FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE suppressions ENABLE ROW LEVEL SECURITY;
ALTER TABLE suppressions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON suppressions FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON suppressions FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);
