-- fivetier content tier, migration 0005: HTML bodies stored once per tenant and hash.
--
-- Every writer keeps inserting into content_objects as before. A trigger moves content_html
-- into content_bodies (tenant_id, content_hash), counted by reference, and leaves the row with
-- its storage key, headers and sizes. A body goes when the last row that references it goes, so
-- one email's expiry, erasure or orphan sweep never removes a body another email still uses.
-- content_text (the seed's plain-text bodies) stays in its row: existing readers select it
-- directly. Reads of a body go through contentObjectGetByKey, which joins the two.
--
-- Concurrency: the insert side is INSERT ... ON CONFLICT DO UPDATE (ref_count + 1) and the
-- delete side an UPDATE (ref_count - 1) then a DELETE of a row whose count reached 0, both
-- holding the body row's lock until commit. An insert racing the last delete either increments
-- first (the count never reaches 0) or waits for the delete to commit and then inserts afresh.

CREATE TABLE content_bodies (
    tenant_id      uuid NOT NULL,
    content_hash   varchar(64) NOT NULL,   -- hex sha256 of content_html (UTF-8)
    content_html   text NOT NULL,
    ref_count      integer NOT NULL CHECK (ref_count >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, content_hash)
);

ALTER TABLE content_bodies ENABLE ROW LEVEL SECURITY;
ALTER TABLE content_bodies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON content_bodies FOR ALL
    USING (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (select nullif(current_setting('app.current_tenant_id', true), '')::uuid));
CREATE POLICY maintenance_access ON content_bodies FOR ALL TO fivetier_maintenance USING (true) WITH CHECK (true);

-- Drop one reference to a body; the last one removes it. The UPDATE holds the body row's lock
-- until commit, so a concurrent acquire waits and then re-inserts the body.
CREATE FUNCTION content_body_release_ref(p_tenant uuid, p_hash text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $fn$
DECLARE
    left_refs integer;
BEGIN
    UPDATE public.content_bodies SET ref_count = ref_count - 1
     WHERE tenant_id = p_tenant AND content_hash = p_hash AND ref_count > 0
    RETURNING ref_count INTO left_refs;
    IF left_refs = 0 THEN
        DELETE FROM public.content_bodies WHERE tenant_id = p_tenant AND content_hash = p_hash AND ref_count = 0;
    END IF;
END
$fn$;

-- BEFORE INSERT OR UPDATE: move a new content_html into content_bodies.
CREATE FUNCTION content_body_acquire() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $fn$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.content_html IS NULL THEN
            -- why: the row's hash is its reference to a stored body; it moves only with a new body
            IF OLD.content_html IS NULL AND OLD.content_hash IS NOT NULL THEN
                NEW.content_hash := OLD.content_hash;
            END IF;
            RETURN NEW;
        END IF;
        IF OLD.content_html IS NULL AND OLD.content_hash IS NOT NULL THEN
            PERFORM public.content_body_release_ref(OLD.tenant_id, OLD.content_hash);
        END IF;
        NEW.raw_size_bytes := octet_length(NEW.content_html);
    ELSIF NEW.content_html IS NULL THEN
        RETURN NEW;
    END IF;
    -- why: the database computes the hash; a caller's value could name another tenant's or another body
    NEW.content_hash := encode(sha256(convert_to(NEW.content_html, 'UTF8')), 'hex');
    NEW.raw_size_bytes := coalesce(NEW.raw_size_bytes, octet_length(NEW.content_html));
    INSERT INTO public.content_bodies AS b (tenant_id, content_hash, content_html, ref_count)
    VALUES (NEW.tenant_id, NEW.content_hash, NEW.content_html, 1)
    ON CONFLICT (tenant_id, content_hash) DO UPDATE SET ref_count = b.ref_count + 1;
    NEW.content_html := NULL;
    RETURN NEW;
END
$fn$;

-- AFTER DELETE: a row whose body lives in content_bodies (content_html null, hash set) lets go of it.
CREATE FUNCTION content_body_release() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $fn$
BEGIN
    IF OLD.content_html IS NULL AND OLD.content_hash IS NOT NULL THEN
        PERFORM public.content_body_release_ref(OLD.tenant_id, OLD.content_hash);
    END IF;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER content_objects_body_acquire
    BEFORE INSERT OR UPDATE OF content_html, content_hash ON content_objects
    FOR EACH ROW EXECUTE FUNCTION content_body_acquire();
CREATE TRIGGER content_objects_body_release
    AFTER DELETE ON content_objects
    FOR EACH ROW EXECUTE FUNCTION content_body_release();
