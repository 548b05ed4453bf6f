import pg from 'pg';
import { FivetierError } from '../errors/codes.js';
import { ROLES, type TierName } from '../types.js';
import { BOOTSTRAP_SQL, MIGRATION_LOCK_KEY } from './bootstrap.js';
import { loadMigrations, type MigrationFile } from './migration-files.js';
import { scramVerifier, verifierMatches } from './scram.js';

/** How long the migrator waits for a tier's connection, in ms. */
export const MIGRATE_CONNECT_TIMEOUT_MS = 5_000;

/** What one run of the migrator did on one tier. */
export interface MigrateResult {
  tier: TierName;
  /** Names of the migrations this run applied (empty when the database was up to date). */
  applied: string[];
  /** Latest version now in the database. */
  version: number;
}

export interface MigrateOptions {
  /** Password to set on the login roles; undefined leaves passwords alone. */
  rolePassword?: string | undefined;
  /** Where the tier folders are; defaults to the package's `schemas/`. */
  schemasDir?: string;
  /** Called once per applied migration, for progress output. */
  onApplied?: (tier: TierName, name: string) => void;
  /**
   * Tiers whose database the migrator creates when it does not exist yet, each with an admin
   * URL of another database on the same server to create it from (the queue store on the OLTP
   * server). Other tiers' databases must exist: a typo in a URL must not create a database.
   */
  createDatabaseVia?: Partial<Record<TierName, string>>;
}

/**
 * Bring one tier's database up to date. Holds an advisory lock for the whole run, so two
 * migrators started at once apply each migration exactly once (the second finds nothing to do).
 * Each migration runs in its own transaction as the owner role and is recorded with its
 * checksum.
 *
 * Throws FT_ERR_MIGRATION_CHANGED when an applied migration's file has changed,
 * FT_ERR_MIGRATION_DB_NEWER when the database has a migration this code does not know, and
 * FT_ERR_MIGRATION_FAILED (with the database error as cause) when a migration fails; the
 * failed migration leaves nothing behind.
 */
export async function migrateTier(tier: TierName, adminUrl: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const files = loadMigrations(tier, options.schemasDir);
  const client = await connectAdmin(tier, adminUrl, options.createDatabaseVia?.[tier]);
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await retryCatalogRace(() => client.query(BOOTSTRAP_SQL));
    const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
      'select version, name, checksum from public.fivetier_migrations order by version',
    );
    const pending = plan(tier, files, rows);
    const applied: string[] = [];
    for (const file of pending) {
      await applyOne(client, tier, file);
      applied.push(file.name);
      options.onApplied?.(tier, file.name);
    }
    if (options.rolePassword !== undefined) await setRolePasswords(client, options.rolePassword);
    return { tier, applied, version: files.at(-1)?.version ?? 0 };
  } catch (err) {
    if (err instanceof FivetierError) throw err;
    throw new FivetierError('FT_ERR_TIER_UNAVAILABLE', [tier, `migration stopped: ${(err as Error).message}`], { cause: err });
  } finally {
    // Ending the session releases the advisory lock too; unlock first for a pooled admin URL.
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    await client.end().catch(() => {});
  }
}

/**
 * The migrator's admin connection. A tier in `createVia` whose database does not exist yet
 * (SQLSTATE 3D000) gets it created first, from the other database's connection.
 */
async function connectAdmin(tier: TierName, adminUrl: string, createVia: string | undefined): Promise<pg.Client> {
  const connect = async (url: string) => {
    // why: a tier that accepts connections and never answers must not hang start-up
    const client = new pg.Client({ connectionString: url, application_name: `fivetier:migrate:${tier}`, connectionTimeoutMillis: MIGRATE_CONNECT_TIMEOUT_MS, keepAlive: true });
    // why: a connection that drops between statements emits 'error' on the client; without a
    // listener that kills the process. The pending or next query fails too, and that failure
    // is what migrateTier reports.
    client.on('error', () => {});
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
  };
  try {
    try {
      return await connect(adminUrl);
    } catch (err) {
      if (createVia === undefined || (err as { code?: string }).code !== '3D000') throw err;
      const database = decodeURIComponent(new URL(adminUrl).pathname.slice(1));
      const via = await connect(createVia);
      try {
        await via.query(`create database ${via.escapeIdentifier(database)}`);
      } catch (createErr) {
        // Another migrator created it a moment ago: fine.
        if ((createErr as { code?: string }).code !== '42P04') throw createErr;
      } finally {
        await via.end().catch(() => {});
      }
      return await connect(adminUrl);
    }
  } catch (err) {
    throw new FivetierError('FT_ERR_TIER_UNAVAILABLE', [tier, (err as Error).message], { cause: err });
  }
}

/** Check history against the files and return what is left to apply. */
function plan(tier: TierName, files: MigrationFile[], applied: { version: number; name: string; checksum: string }[]): MigrationFile[] {
  const byVersion = new Map(files.map((f) => [f.version, f]));
  for (const row of applied) {
    const file = byVersion.get(row.version);
    if (!file) throw new FivetierError('FT_ERR_MIGRATION_DB_NEWER', [tier, row.name]);
    if (file.checksum !== row.checksum) {
      throw new FivetierError('FT_ERR_MIGRATION_CHANGED', [tier, file.name, row.checksum.slice(0, 12), file.checksum.slice(0, 12)]);
    }
  }
  const done = new Set(applied.map((r) => r.version));
  return files.filter((f) => !done.has(f.version));
}

async function applyOne(client: pg.Client, tier: TierName, file: MigrationFile): Promise<void> {
  try {
    await client.query('begin');
    await client.query(`set local role ${ROLES.owner}`);
    await client.query(file.sql);
    await client.query('reset role');
    await client.query('insert into fivetier_migrations (version, name, checksum) values ($1, $2, $3)', [
      file.version,
      file.name,
      file.checksum,
    ]);
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw new FivetierError('FT_ERR_MIGRATION_FAILED', [tier, file.name, (err as Error).message], { cause: err });
  }
}

/**
 * Roles live in the cluster, not the database, so migrators of two tiers on one server can
 * touch the same role row at once; PostgreSQL then fails one with "tuple concurrently updated".
 * Advisory locks are per database and cannot prevent it: retry instead.
 */
async function retryCatalogRace<T>(fn: () => Promise<T>, attempts = 20): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const raced = /tuple concurrently (updated|deleted)/.test((err as Error).message);
      if (!raced || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
    }
  }
}

/**
 * Give the login roles `password`, as a SCRAM verifier made here: the password itself never
 * travels in SQL, so no server log (statement logging, or the statement quoted with an error)
 * can show it. A role whose stored verifier already accepts the password is left alone, which
 * also keeps concurrent migrators of one server from colliding on the role rows. Reading
 * `pg_authid` needs a superuser; another admin sets the verifier every time.
 */
async function setRolePasswords(client: pg.Client, password: string): Promise<void> {
  const roles = [ROLES.app, ROLES.worker, ROLES.maintenance];
  const current = new Map<string, string | null>();
  try {
    const { rows } = await client.query<{ rolname: string; rolpassword: string | null }>(
      'select rolname, rolpassword from pg_catalog.pg_authid where rolname = any($1)',
      [roles],
    );
    for (const r of rows) current.set(r.rolname, r.rolpassword);
  } catch (err) {
    if ((err as { code?: string }).code !== '42501') throw err; // not a superuser: set them all
  }
  for (const role of roles) {
    if (verifierMatches(current.get(role), password)) continue;
    // ALTER ROLE takes no bind parameters; the verifier is base64 and '$' only, safe as a literal.
    const verifier = client.escapeLiteral(scramVerifier(password));
    await retryCatalogRace(() => client.query(`alter role ${role} password ${verifier}`));
  }
}

/**
 * Migrate several tiers at once (each on its own connection). Resolves with one result per
 * tier; rejects with the first failure after every tier has finished.
 */
export async function migrateTiers(
  urls: Partial<Record<TierName, string>>,
  options: MigrateOptions = {},
): Promise<MigrateResult[]> {
  const entries = Object.entries(urls) as [TierName, string][];
  const settled = await Promise.allSettled(entries.map(([tier, url]) => migrateTier(tier, url, options)));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<MigrateResult>).value);
}
