-- fivetier content tier, migration 0010: content keys in (storage_key, tenant_id) order.
--
-- why: the consistency checker (src/cross-tier/consistency-checker.ts) merges every email's
-- (content_storage_key, tenant_id), read off OLTP's index in that order (0002 there), with
-- every content row's (storage_key, tenant_id) in the same order. With only (storage_key) here,
-- PostgreSQL sorted all content keys at each check: the longest part of it, about half of the
-- check's time at a million rows, and an on-disk sort past a few million. (storage_key,
-- tenant_id) yields them in order, index-only, and still serves lookups by key alone, so the
-- old index goes and writes cost what they did.
-- Runs inside one transaction as fivetier_owner (see 0001).
CREATE INDEX idx_content_objects_storage_key_tenant ON content_objects (storage_key, tenant_id);
DROP INDEX idx_content_objects_storage_key;
