import pg from 'pg';
import type { TierName } from '../types.js';
import { loadMigrations } from './migration-files.js';

/**
 * How far a tier's database is migrated, as an operator would say it:
 * `current`, `not migrated` (no database or no history yet), `N migrations pending`, or
 * `newer than this fivetier`. Undefined when the admin connection itself fails: then the
 * tier's own error (from the health check) is the news.
 */
export async function migrationState(tier: TierName, adminUrl: string, schemasDir?: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2_000, application_name: `fivetier:status:${tier}` });
  client.on('error', () => {}); // a drop shows as the failed query below
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    return (err as { code?: string }).code === '3D000' ? 'not migrated (the database does not exist yet)' : undefined;
  }
  try {
    const { rows } = await client.query<{ t: string | null }>("select to_regclass('public.fivetier_migrations')::text as t");
    if (rows[0]?.t == null) return 'not migrated';
    const applied = new Set((await client.query<{ version: number }>('select version from public.fivetier_migrations')).rows.map((r) => r.version));
    const known = loadMigrations(tier, schemasDir).map((m) => m.version);
    if ([...applied].some((v) => !known.includes(v))) return 'newer than this fivetier (the database has migrations this version does not know)';
    const pending = known.filter((v) => !applied.has(v)).length;
    if (pending > 0) return applied.size === 0 ? 'not migrated' : `${pending} migration${pending === 1 ? '' : 's'} pending`;
    return 'current';
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}
