-- fivetier notifications tier, migration 0005: what in-app notifications and admin events need
-- beyond the tier documentation's columns.
--
-- notifications:
--   priority    how prominently a client shows it (the queue docs' notifications API has one).
--   data        small structured payload (ids and counts, e.g. the campaign id), never bodies.
--   dedup_key   a producer's idempotency key: a job that runs twice (jobs run at least once)
--               or ten callers at once create one notification per recipient, not ten.
-- admin_system_events:
--   resolution_note  what the operator who resolved the event wrote about it.
--
-- Hiding stays `deleted_at` (the documented soft delete); no extra flag is needed.
--
-- Runs inside one transaction opened by the migrator after `SET LOCAL ROLE fivetier_owner`.

ALTER TABLE public.notifications
    ADD COLUMN priority  varchar(10) NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    ADD COLUMN data      jsonb,
    ADD COLUMN dedup_key text CHECK (dedup_key IS NULL OR length(dedup_key) BETWEEN 1 AND 200);

-- why: one notification per tenant, recipient and key, enforced by the database so that
-- concurrent producers need no lock (INSERT ... ON CONFLICT DO NOTHING). NULLS NOT DISTINCT
-- (PostgreSQL 15) makes a tenant-wide row (user_id null) count as one recipient too. Rows
-- without a key are left out of the index.
CREATE UNIQUE INDEX idx_notifications_dedup ON public.notifications (tenant_id, user_id, dedup_key) NULLS NOT DISTINCT
    WHERE dedup_key IS NOT NULL;

-- why: a user's notifications are nearly all in one tenant (users are global identities that
-- rarely join a second tenant). Without this the planner multiplies the selectivities of
-- `user_id = ` and `tenant_id = ` as if independent, expects about one row for a user's unread
-- notifications, and picks a bitmap scan and a sort over the in-order scan of
-- idx_notifications_unread that stops after the page.
CREATE STATISTICS public.stx_notifications_user_tenant (dependencies) ON user_id, tenant_id FROM public.notifications;

ALTER TABLE public.admin_system_events
    ADD COLUMN resolution_note text CHECK (resolution_note IS NULL OR length(resolution_note) <= 2000);
