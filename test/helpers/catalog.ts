import pg from 'pg';

/**
 * A comparable description of a database's privileges and its schema `public`: tables and their RLS flags and
 * ACLs, columns, constraints, indexes, policies, triggers, functions and the migration history.
 * Two databases built the same way give equal snapshots.
 */
export type CatalogSnapshot = Record<'database' | 'tables' | 'columns' | 'constraints' | 'indexes' | 'policies' | 'triggers' | 'functions' | 'defaultAcls' | 'migrations', string[]>;

export async function catalogSnapshot(url: string): Promise<CatalogSnapshot> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const q = async (sql: string) => (await client.query(sql)).rows.map((r) => Object.values(r).map(String).join(' | ')).sort();
  try {
    return {
      // The database's own privileges (migrations revoke TEMPORARY from PUBLIC).
      database: await q(`select coalesce(datacl::text, '') from pg_database where datname = current_database()`),
      tables: await q(`
        select c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner),
               coalesce(c.relacl::text, ''), coalesce(pg_get_partkeydef(c.oid), '')
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'S')`),
      columns: await q(`
        select table_name, column_name, data_type, coalesce(character_maximum_length::text, ''),
               is_nullable, coalesce(column_default, ''), ordinal_position
        from information_schema.columns where table_schema = 'public'`),
      constraints: await q(`
        select conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        from pg_constraint where connamespace = 'public'::regnamespace`),
      indexes: await q(`select tablename, indexname, indexdef from pg_indexes where schemaname = 'public'`),
      policies: await q(`
        select tablename, policyname, permissive, roles::text, cmd, coalesce(qual, ''), coalesce(with_check, '')
        from pg_policies where schemaname = 'public'`),
      triggers: await q(`select tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) from pg_trigger where not tgisinternal`),
      functions: await q(`
        select p.proname, pg_get_function_identity_arguments(p.oid), md5(p.prosrc), p.prosecdef,
               pg_get_userbyid(p.proowner), coalesce(p.proconfig::text, ''), coalesce(p.proacl::text, '')
        from pg_proc p where p.pronamespace = 'public'::regnamespace`),
      defaultAcls: await q(`select pg_get_userbyid(defaclrole), defaclobjtype, defaclacl::text from pg_default_acl`),
      migrations: await q(`select version, name, checksum from fivetier_migrations`),
    };
  } finally {
    await client.end();
  }
}
