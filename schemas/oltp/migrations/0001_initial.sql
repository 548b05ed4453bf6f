-- fivetier OLTP tier, migration 0001: initial schema.
--
-- The system of record: tenants and identity, the business entities (companies, domains,
-- mailboxes, leads, templates, campaigns and their steps), billing references (plans,
-- subscriptions), per-tenant config, the small `emails` metadata rows (bodies live in the
-- content tier, referenced by the opaque `content_storage_key`), API keys, and the
-- transactional outbox that feeds the queue tier.
--
-- Runs inside one transaction opened by the migrator after `SET LOCAL ROLE fivetier_owner`,
-- so every object is owned by fivetier_owner. Rules (see docs/schema.md):
--   * every tenant-owned table has `tenant_id uuid not null`, and its PK / unique keys start
--     with tenant_id (Citus-distributable by tenant_id);
--   * RLS enabled AND forced on every table with tenant_id; policy `tenant_isolation` reads
--     the tenant from the transaction-local setting app.current_tenant_id (nothing visible
--     when it is unset); `maintenance_access` lets fivetier_maintenance work across tenants;
--   * PostgreSQL 15 features only.

-- why: runtime and maintenance roles get DML on every table this migration (and later ones,
-- run as fivetier_owner) creates; the owner itself is still subject to RLS (FORCE).
ALTER DEFAULT PRIVILEGES FOR ROLE fivetier_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO fivetier_app, fivetier_maintenance;
ALTER DEFAULT PRIVILEGES FOR ROLE fivetier_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO fivetier_app, fivetier_maintenance;

-- ---------------------------------------------------------------------------------------
-- Identity: tenants, users, tenant_users (Nile-style)
-- ---------------------------------------------------------------------------------------

CREATE TABLE tenants (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text,
    compute_id  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    -- why: the nil uuid is reserved for system jobs / platform-wide events in other tiers
    CONSTRAINT tenants_id_not_nil CHECK (id <> '00000000-0000-0000-0000-000000000000')
);

-- why: global identity (one person may belong to several tenants), so no tenant_id.
CREATE TABLE users (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email              text,
    name               text,
    given_name         text,
    family_name        text,
    picture            text,
    email_verified_at  timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    deleted_at         timestamptz
);
-- why: one live identity per e-mail address (users is global, so this key need not start
-- with tenant_id; in Citus it would be a reference table).
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE deleted_at IS NULL AND email IS NOT NULL;

CREATE TABLE tenant_users (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    roles       text[] NOT NULL DEFAULT '{}',
    email       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    PRIMARY KEY (tenant_id, user_id)
);
-- why: the users RLS policy and ON DELETE CASCADE from users look memberships up by user.
CREATE INDEX idx_tenant_users_user ON tenant_users (user_id);

-- ---------------------------------------------------------------------------------------
-- Business entities
-- ---------------------------------------------------------------------------------------

CREATE TABLE companies (
    id                       uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id                uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name                     varchar(100) NOT NULL,
    workspace_name           varchar(255),
    logo_url                 text,
    status                   varchar(20) NOT NULL DEFAULT 'active',
    industry                 varchar(100),
    company_size             varchar(50),
    onboarding_started_at    timestamptz,
    onboarding_completed_at  timestamptz,
    hide_onboarding          boolean NOT NULL DEFAULT false,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    -- why: the docs make workspace_name globally unique; unique keys must start with tenant_id
    CONSTRAINT companies_workspace_name_key UNIQUE (tenant_id, workspace_name)
);

CREATE TABLE domains (
    id                         uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id                  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    company_id                 uuid,
    domain                     varchar(253) NOT NULL,
    verification_status        varchar(50) NOT NULL DEFAULT 'pending',
    dns_records                jsonb,
    is_primary                 boolean NOT NULL DEFAULT false,
    verified_at                timestamptz,
    mailu_domain               text,
    dns_ttl_observed           integer,
    dns_last_verified_at       timestamptz,
    dns_verification_error     text,
    dns_verification_attempts  integer NOT NULL DEFAULT 0,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT domains_domain_key UNIQUE (tenant_id, domain),
    FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX idx_domains_company ON domains (tenant_id, company_id);

CREATE TABLE email_accounts (
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    domain_id       uuid,
    email           varchar(255) NOT NULL,
    provider        varchar(50) NOT NULL DEFAULT 'mailu',
    vault_key_path  varchar(500),
    imap_settings   jsonb,
    smtp_settings   jsonb,
    status          varchar(50) NOT NULL DEFAULT 'active',
    last_warmed_at  timestamptz,
    daily_count     integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT email_accounts_email_key UNIQUE (tenant_id, email),
    FOREIGN KEY (tenant_id, domain_id) REFERENCES domains (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX idx_email_accounts_domain ON email_accounts (tenant_id, domain_id);

CREATE TABLE leads (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email       varchar(255) NOT NULL,
    name        varchar(200),
    company     varchar(200),
    status      varchar(20) NOT NULL DEFAULT 'active',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT leads_email_key UNIQUE (tenant_id, email)
);

CREATE TABLE templates (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        varchar(100) NOT NULL,
    subject     varchar(255),
    content     text,
    is_started  boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE campaigns (
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    company_id    uuid,
    name          varchar(200) NOT NULL,
    description   text,
    status        varchar(50) NOT NULL DEFAULT 'draft'
                  CHECK (status IN ('draft', 'scheduled', 'sending', 'completed', 'paused')),
    scheduled_at  timestamptz,
    completed_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id) ON DELETE CASCADE
);
-- seed index (exact name and columns)
CREATE INDEX idx_campaigns_tenant_dates ON campaigns (tenant_id, created_at, status);
CREATE INDEX idx_campaigns_company ON campaigns (tenant_id, company_id);

-- why: the docs give this table no tenant_id; it gets one so RLS and distribution work, and
-- every FK carries it.
CREATE TABLE campaign_sequence_steps (
    id                   uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id            uuid NOT NULL,
    campaign_id          uuid NOT NULL,
    step_order           integer NOT NULL,
    step_type            varchar(50) NOT NULL DEFAULT 'email'
                         CHECK (step_type IN ('email', 'wait', 'condition')),
    email_account_id     uuid,
    template_id          uuid,
    subject_override     varchar(500),
    from_name_override   varchar(100),
    wait_duration_hours  integer,
    wait_until_at        timestamptz,
    condition_type       varchar(50),
    condition_value      varchar(100),
    send_condition       text,
    is_active            boolean NOT NULL DEFAULT true,
    executed_count       integer NOT NULL DEFAULT 0,
    last_executed_at     timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id) ON DELETE CASCADE,
    -- why: deleting a mailbox or template must not delete or block the step; PG15 column
    -- lists null only the step's reference, never tenant_id.
    FOREIGN KEY (tenant_id, email_account_id) REFERENCES email_accounts (tenant_id, id)
        ON DELETE SET NULL (email_account_id),
    FOREIGN KEY (tenant_id, template_id) REFERENCES templates (tenant_id, id)
        ON DELETE SET NULL (template_id)
);
CREATE INDEX idx_campaign_sequence_steps_campaign_order
    ON campaign_sequence_steps (tenant_id, campaign_id, step_order);
CREATE INDEX idx_campaign_sequence_steps_email_account
    ON campaign_sequence_steps (tenant_id, email_account_id) WHERE email_account_id IS NOT NULL;
CREATE INDEX idx_campaign_sequence_steps_template
    ON campaign_sequence_steps (tenant_id, template_id) WHERE template_id IS NOT NULL;

-- ---------------------------------------------------------------------------------------
-- Billing: plans (global catalogue), subscriptions, tenant_config
-- ---------------------------------------------------------------------------------------

-- why: global reference data, no tenant_id and no RLS; the app may only read it.
CREATE TABLE plans (
    id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                     varchar(100) NOT NULL,
    slug                     varchar(100) NOT NULL UNIQUE,
    description              text,
    max_users                integer,
    max_domains              integer,
    max_campaigns_per_month  integer,
    api_rate_limit           integer,
    max_email_accounts       integer,
    max_emails_per_month     integer,
    max_warmups              integer,
    max_contacts             integer,
    max_storage_gb           integer,
    api_access               boolean NOT NULL DEFAULT false,
    priority_support         boolean NOT NULL DEFAULT false,
    advanced_analytics       boolean NOT NULL DEFAULT false,
    white_label              boolean NOT NULL DEFAULT false,
    price_monthly            integer,  -- minor currency units (cents)
    price_yearly             integer,  -- minor currency units (cents)
    notes                    text,
    is_active                boolean NOT NULL DEFAULT true,
    stripe_product_id        varchar(255),
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_plans_stripe_product ON plans (stripe_product_id) WHERE stripe_product_id IS NOT NULL;

CREATE TABLE subscriptions (
    id                       uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id                uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    plan_id                  uuid REFERENCES plans (id),
    pending_plan_id          uuid REFERENCES plans (id),
    status                   varchar(50) NOT NULL DEFAULT 'active'
                             CHECK (status IN ('active', 'past_due', 'canceled', 'unpaid')),
    current_period_start     timestamptz,
    current_period_end       timestamptz,
    cancel_at_period_end     boolean NOT NULL DEFAULT false,
    cancel_reason            text,
    canceled_at              timestamptz,
    billing_contact_user_id  uuid,
    stripe_subscription_id   varchar(255),
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT subscriptions_stripe_key UNIQUE (tenant_id, stripe_subscription_id),
    -- why: the billing contact must be a member of the same tenant (not any global user)
    FOREIGN KEY (tenant_id, billing_contact_user_id) REFERENCES tenant_users (tenant_id, user_id)
        ON DELETE SET NULL (billing_contact_user_id)
);
-- why: Stripe webhooks arrive before the tenant is known; looked up by the maintenance role.
CREATE INDEX idx_subscriptions_stripe ON subscriptions (stripe_subscription_id)
    WHERE stripe_subscription_id IS NOT NULL;

CREATE TABLE tenant_config (
    tenant_id                     uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    stripe_customer_id            varchar(255),
    billing_email                 varchar(255),
    billing_address               jsonb,
    notify_on_billing_changes     boolean NOT NULL DEFAULT false,
    notify_on_system_updates      boolean NOT NULL DEFAULT false,
    notify_on_security_alerts     boolean NOT NULL DEFAULT false,
    theme_primary_color           varchar(7),
    theme_logo_url                varchar(500),
    theme_favicon_url             varchar(500),
    ui_sidebar_default_collapsed  boolean NOT NULL DEFAULT false,
    ui_date_format                varchar(20),
    ui_timezone                   varchar(50),
    created_at                    timestamptz NOT NULL DEFAULT now(),
    updated_at                    timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------------------------------
-- emails: OLTP message metadata (the seed's table). Rows stay small; bodies never live here.
-- ---------------------------------------------------------------------------------------

-- why: campaign_id / email_account_id / lead_id are plain ids without FKs: this is the
-- highest-volume table, message history must survive deleting a campaign or mailbox, and
-- erasure deletes a lead's messages explicitly.
CREATE TABLE emails (
    id                   uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id            uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    campaign_id          uuid,
    email_account_id     uuid,
    lead_id              uuid,
    recipient            varchar(254) NOT NULL,
    subject              varchar(998),
    status               varchar(20) NOT NULL DEFAULT 'queued'
                         CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'bounced', 'failed')),
    -- opaque key of the body in the content tier (content_objects.storage_key); no FK
    content_storage_key  varchar(500),
    sent_at              timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
-- seed index (exact name and columns)
CREATE INDEX idx_emails_tenant_status ON emails (tenant_id, status);
-- why: the consistency checker and orphan sweeper probe keys coming from the content tier.
CREATE INDEX idx_emails_content_storage_key ON emails (content_storage_key);
CREATE INDEX idx_emails_tenant_campaign ON emails (tenant_id, campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX idx_emails_tenant_lead ON emails (tenant_id, lead_id) WHERE lead_id IS NOT NULL;

-- ---------------------------------------------------------------------------------------
-- api_keys: per-tenant keys, stored hashed
-- ---------------------------------------------------------------------------------------

CREATE TABLE api_keys (
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name          varchar(100) NOT NULL,
    key_prefix    varchar(16) NOT NULL,       -- shown to users, identifies the key
    key_hash      bytea NOT NULL CHECK (octet_length(key_hash) = 32),  -- sha256(secret), never the secret
    scopes        text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT api_keys_prefix_key UNIQUE (tenant_id, key_prefix)
);
-- why: authentication looks a key up by prefix before the tenant is known; that single
-- lookup runs as fivetier_maintenance (no SECURITY DEFINER function). Not unique: uniqueness
-- is per tenant, the caller compares key_hash for every candidate row.
CREATE INDEX idx_api_keys_prefix ON api_keys (key_prefix);

-- ---------------------------------------------------------------------------------------
-- outbox: written in the same transaction as the business rows; the relay (fivetier_worker)
-- copies rows into queue-tier `jobs` (job id = outbox id) and then deletes them.
-- ---------------------------------------------------------------------------------------

CREATE TABLE outbox (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    queue_name  varchar(100) NOT NULL DEFAULT 'default',
    job_type    varchar(100) NOT NULL,
    payload     jsonb NOT NULL DEFAULT '{}',
    priority    integer NOT NULL DEFAULT 100 CHECK (priority BETWEEN 1 AND 1000),
    run_at      timestamptz NOT NULL DEFAULT now(),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
-- why: the relay drains oldest first, across tenants, and the backlog-age metric reads min().
CREATE INDEX idx_outbox_created ON outbox (created_at);

-- why: wake the relay (LISTEN fivetier_outbox) when an inserting transaction commits;
-- per statement, and NOTIFY folds duplicates within a transaction, so it stays cheap.
CREATE FUNCTION fivetier_outbox_notify() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_notify('fivetier_outbox', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER outbox_notify
    AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION fivetier_outbox_notify();

-- ---------------------------------------------------------------------------------------
-- Privileges beyond the defaults
-- ---------------------------------------------------------------------------------------

-- why: the relay reads, updates and deletes outbox rows of every tenant; nothing else.
GRANT SELECT, UPDATE, DELETE ON outbox TO fivetier_worker;
-- why: the plan catalogue is managed by operations (maintenance role), read-only for the app.
REVOKE INSERT, UPDATE, DELETE ON plans FROM fivetier_app;

-- ---------------------------------------------------------------------------------------
-- Row-level security
-- ---------------------------------------------------------------------------------------

-- tenants: the row's id IS the tenant.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants FOR ALL
    USING (id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON tenants FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

-- users: visible/updatable only when a membership links the user to the current tenant
-- (tenant_users is itself RLS-filtered to the current tenant). Inserting is open so sign-up /
-- invite can create the identity first and the membership second; note that
-- INSERT ... RETURNING on users is refused until the membership exists (RETURNING needs the
-- row to pass the SELECT policy), so the app generates the id itself.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users FOR ALL
    USING (EXISTS (SELECT 1 FROM tenant_users tu
                   WHERE tu.user_id = users.id
                     AND tu.tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid)))
    WITH CHECK (EXISTS (SELECT 1 FROM tenant_users tu
                   WHERE tu.user_id = users.id
                     AND tu.tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid)));
CREATE POLICY users_insert ON users FOR INSERT WITH CHECK (true);
CREATE POLICY maintenance_access ON users FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

-- Every tenant-owned table: the same two policies (outbox also gets worker_access).
ALTER TABLE tenant_users ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_users FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON tenant_users FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE companies ENABLE ROW LEVEL SECURITY;
ALTER TABLE companies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON companies FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON companies FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE domains ENABLE ROW LEVEL SECURITY;
ALTER TABLE domains FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON domains FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON domains FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE email_accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE email_accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON email_accounts FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON email_accounts FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE leads ENABLE ROW LEVEL SECURITY;
ALTER TABLE leads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON leads FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON leads FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE templates ENABLE ROW LEVEL SECURITY;
ALTER TABLE templates FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON templates FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON templates FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE campaigns ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaigns FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaigns FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON campaigns FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE campaign_sequence_steps ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_sequence_steps FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaign_sequence_steps FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON campaign_sequence_steps FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE subscriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE subscriptions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON subscriptions FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON subscriptions FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE tenant_config ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_config FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_config FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON tenant_config FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE emails ENABLE ROW LEVEL SECURITY;
ALTER TABLE emails FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON emails FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON emails FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON api_keys FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON outbox FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);
CREATE POLICY worker_access ON outbox FOR ALL TO fivetier_worker USING (true) WITH CHECK (true);
