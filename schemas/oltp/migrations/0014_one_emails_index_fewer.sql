-- fivetier OLTP tier, migration 0014: one index fewer on emails.
--
-- why: a send updates its email twice (claimed, then sent), and neither update can be HOT (the
-- status changes, and indexes name it), so every index of `emails` gets an entry for each
-- version. idx_emails_tenant_campaign (tenant_id, campaign_id) WHERE campaign_id IS NOT NULL
-- is the prefix of idx_emails_campaign_status (tenant_id, campaign_id, status), which has the
-- same predicate and serves every look-up by campaign as well.
--
-- Runs inside one transaction opened by the migrator after `SET LOCAL ROLE fivetier_owner`.

DROP INDEX idx_emails_tenant_campaign;
