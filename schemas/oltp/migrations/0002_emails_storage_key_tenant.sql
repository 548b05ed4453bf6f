-- fivetier OLTP tier, migration 0002: a covering index for content-key lookups.
--
-- why: the consistency checker (I3) and the orphan sweeper ask, for batches of content keys,
-- whether any email of that tenant references the key. With (content_storage_key, tenant_id)
-- that is an index-only probe; the single-column index of 0001 needed a heap visit per key to
-- check tenant_id. The new index serves lookups by key alone as well, so the old one goes.
-- Runs inside one transaction as fivetier_owner (see 0001).

CREATE INDEX idx_emails_storage_key_tenant ON emails (content_storage_key, tenant_id);
DROP INDEX idx_emails_content_storage_key;
