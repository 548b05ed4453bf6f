-- fivetier olap tier, migration 0002: nobody but the admin may create temporary objects.
--
-- why: PostgreSQL grants TEMPORARY on every new database to PUBLIC, and pg_temp comes first in
-- every search_path. A runtime role that creates a temporary table named like a real one (say
-- `emails`) inside one tenant's transaction keeps it for the life of the pooled connection, and
-- an unqualified statement of the next tenant on that connection then reads or writes the
-- temporary table instead. The library qualifies its statements (`public.emails`); this takes
-- the temporary schema away from fivetier's roles altogether.
--
-- Only the database's owner (or a superuser) can revoke what the owner granted to PUBLIC, and
-- migrations run as fivetier_owner, so this one statement runs as the migrating admin and the
-- owner role is taken up again afterwards. The database's name differs per deployment. If the
-- admin cannot revoke it (it neither owns the database nor is superuser), the migration fails
-- and says what the owner must run, rather than leave the hole open.
DO $no_temp$
DECLARE
    db text := current_database();
    role_name text;
BEGIN
    EXECUTE 'RESET ROLE';
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', db);
    EXECUTE 'SET LOCAL ROLE fivetier_owner';
    FOREACH role_name IN ARRAY ARRAY['fivetier_app', 'fivetier_worker', 'fivetier_maintenance'] LOOP
        IF has_database_privilege(role_name, db, 'TEMPORARY') THEN
            RAISE EXCEPTION 'role % can still create temporary objects in database %', role_name, db
                USING HINT = format('As the database owner run: REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC, %I', db, role_name);
        END IF;
    END LOOP;
END
$no_temp$;
