import { ROLES } from '../types.js';

/**
 * Run before any migration of a tier, as the admin connection, under the migration lock.
 * Creates the cluster-wide roles (concurrent migrators on other databases of the same server
 * may race to create them, hence the caught duplicates), lets the admin act as the owner role,
 * and creates the table that records applied migrations. Idempotent.
 *
 * The same text opens every generated `schemas/<tier>/schema.sql`, so `psql -f` builds what
 * the migrator builds.
 */
export const BOOTSTRAP_SQL = `
DO $bootstrap$
BEGIN
  BEGIN CREATE ROLE ${ROLES.owner} NOLOGIN;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
  BEGIN CREATE ROLE ${ROLES.app} LOGIN NOINHERIT;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
  BEGIN CREATE ROLE ${ROLES.worker} LOGIN NOINHERIT;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
  BEGIN CREATE ROLE ${ROLES.maintenance} LOGIN NOINHERIT;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
  -- The admin runs migrations as the owner role, so it must be a member of it.
  IF NOT pg_has_role(current_user, '${ROLES.owner}', 'MEMBER') THEN
    EXECUTE format('GRANT ${ROLES.owner} TO %I', current_user);
  END IF;
END
$bootstrap$;

-- PostgreSQL 15 no longer lets everyone create in public: the owner role needs it explicitly.
GRANT USAGE, CREATE ON SCHEMA public TO ${ROLES.owner};
GRANT USAGE ON SCHEMA public TO ${ROLES.app}, ${ROLES.worker}, ${ROLES.maintenance};

-- Applied migrations, with the checksum of the file as it was applied. Owned by the admin;
-- the runtime roles have no access to it.
CREATE TABLE IF NOT EXISTS fivetier_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
`.trim();

/**
 * Key of the advisory lock the migrator holds while it works on a database. Advisory locks are
 * per database, so migrators of different tiers never wait for each other.
 */
export const MIGRATION_LOCK_KEY = 0x5f7469657200; // "_tier" in hex, a constant nobody else uses
