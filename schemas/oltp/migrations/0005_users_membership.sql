-- fivetier OLTP tier, migration 0005: a tenant reaches only the users who joined it.
--
-- why: `users` is global identity, shared by every tenant a person belongs to. Before this,
-- any tenant could insert a `tenant_users` row linking any user id to itself (the foreign key
-- check does not go through RLS), then read that user and change its e-mail; `users_insert`
-- (WITH CHECK (true)) let any tenant register any address; and the unique-violation and
-- foreign-key errors told a tenant which addresses and user ids exist. The rule now
-- (docs/schema.md, "users and tenant_users"):
--
--   * the runtime role never writes `users`: identity (e-mail, names) is the person's, changed
--     by the account flow as fivetier_maintenance, like login;
--   * the runtime role never inserts into `tenant_users` and never changes who or which tenant
--     a membership is about, nor `joined_at`: the one way in is fivetier_invite_user(email,
--     roles), which links the address's user (created when there is none) to the current
--     tenant as an invitation and answers the same whether the address was known or not;
--   * a tenant sees a user only once that user has joined it (`joined_at`, set by the account
--     flow when the person accepts, as maintenance).
--
-- Runs inside one transaction as fivetier_owner (see 0001).

-- NULL = invited, not joined yet. Memberships that exist already count as joined (the value is
-- this migration's time: the owner cannot read rows of any tenant to copy created_at).
ALTER TABLE tenant_users ADD COLUMN joined_at timestamptz DEFAULT now();
ALTER TABLE tenant_users ALTER COLUMN joined_at DROP DEFAULT;

DROP POLICY users_insert ON users;
DROP POLICY tenant_isolation ON users;
CREATE POLICY tenant_members ON users FOR SELECT
    USING (EXISTS (SELECT 1 FROM tenant_users tu
                   WHERE tu.user_id = users.id
                     AND tu.tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid)
                     AND tu.joined_at IS NOT NULL
                     AND tu.deleted_at IS NULL));
-- why: fivetier_invite_user runs as the owner, which RLS binds too (FORCE); it alone looks an
-- address up across tenants and creates the identity. No login role is or can become the owner.
CREATE POLICY invite_lookup ON users FOR SELECT TO fivetier_owner USING (true);
CREATE POLICY invite_create ON users FOR INSERT TO fivetier_owner WITH CHECK (true);

REVOKE INSERT, UPDATE, DELETE ON users FROM fivetier_app;
REVOKE INSERT, UPDATE ON tenant_users FROM fivetier_app;
GRANT UPDATE (roles, email, updated_at, deleted_at) ON tenant_users TO fivetier_app;

-- Invite `p_email` to the current tenant (app.current_tenant_id) with `p_roles`: the live user
-- with that address (case-insensitive) is linked, or a new user is created for it, as an
-- invitation (joined_at NULL); inviting a member again changes nothing. Returns the user id,
-- which is a uuid either way: the answer, and every error, are the same whether the address
-- was known before or not. Raises 22023 for an address that is not one, 42501 without a tenant.
CREATE FUNCTION fivetier_invite_user(p_email text, p_roles text[] DEFAULT '{}')
    RETURNS uuid
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tenant uuid := nullif(current_setting('app.current_tenant_id', true), '')::uuid;
    v_email text := btrim(p_email);
    v_user uuid;
BEGIN
    IF v_tenant IS NULL THEN
        RAISE EXCEPTION 'fivetier_invite_user needs a tenant (app.current_tenant_id)' USING ERRCODE = '42501';
    END IF;
    IF v_email IS NULL OR length(v_email) NOT BETWEEN 3 AND 254 OR v_email !~ '^[^@[:space:]]+@[^@[:space:]]+$' THEN
        RAISE EXCEPTION 'not an e-mail address' USING ERRCODE = '22023';
    END IF;
    LOOP
        SELECT u.id INTO v_user FROM public.users u
         WHERE lower(u.email) = lower(v_email) AND u.deleted_at IS NULL;
        EXIT WHEN FOUND;
        BEGIN
            INSERT INTO public.users (id, email) VALUES (gen_random_uuid(), v_email) RETURNING id INTO v_user;
            EXIT;
        EXCEPTION WHEN unique_violation THEN
            -- another invite created it meanwhile: look it up again
        END;
    END LOOP;
    INSERT INTO public.tenant_users (tenant_id, user_id, roles, email)
    VALUES (v_tenant, v_user, coalesce(p_roles, '{}'), v_email)
    ON CONFLICT (tenant_id, user_id) DO NOTHING;
    RETURN v_user;
END;
$$;
REVOKE EXECUTE ON FUNCTION fivetier_invite_user(text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fivetier_invite_user(text, text[]) TO fivetier_app;
