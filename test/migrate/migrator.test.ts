import { cpSync, mkdtempSync, appendFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFivetierError } from '../../src/errors/codes.js';
import { loadMigrations, SCHEMAS_DIR } from '../../src/migrate/migration-files.js';
import { MIGRATION_LOCK_KEY } from '../../src/migrate/bootstrap.js';
import { migrateTier } from '../../src/migrate/migrator.js';
import { scramVerifier, verifierMatches } from '../../src/migrate/scram.js';
import { TIER_NAMES } from '../../src/types.js';
import { scratchDatabases } from '../helpers/platform.js';
import { exitCode, spawnCli } from '../helpers/processes.js';

/** Run the real CLI in a child process; resolves with its exit code and output. */
async function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawnCli(args, env);
  return { code: await exitCode(child), out: child.output() };
}

async function history(url: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ version: number }>('select version from fivetier_migrations order by version')).rows.map((r) => r.version);
  } finally {
    await client.end();
  }
}

describe('migrator', () => {
  let dbs: Awaited<ReturnType<typeof scratchDatabases>>;
  beforeAll(async () => {
    dbs = await scratchDatabases(TIER_NAMES, 'race');
  });
  afterAll(() => dbs?.drop());

  it('two migrators started at the same moment both exit 0 and apply each migration once', async () => {
    const env = Object.fromEntries(TIER_NAMES.map((t) => [`${t.toUpperCase()}_DB_URL`, dbs.urls[t]]));
    const [a, b] = await Promise.all([runCli(['migrate'], env), runCli(['migrate'], env)]);
    expect(a.code, a.out).toBe(0);
    expect(b.code, b.out).toBe(0);
    for (const tier of TIER_NAMES) {
      const versions = loadMigrations(tier).map((m) => m.version);
      expect(await history(dbs.urls[tier])).toEqual(versions);
      // Exactly one of the two runs applied each migration.
      for (const m of loadMigrations(tier)) {
        const appliedBy = [a.out, b.out].filter((o) => o.includes(`${tier}: applied ${m.name}`)).length;
        expect(appliedBy, `${tier} ${m.name}`).toBe(1);
      }
    }
  });

  it('refuses a changed, already-applied migration with a clear message', async () => {
    const changed = mkdtempSync(`${tmpdir()}/fivetier-schemas-`);
    cpSync(SCHEMAS_DIR, changed, { recursive: true });
    const first = loadMigrations('content', changed)[0]!;
    appendFileSync(`${changed}/content/migrations/${first.name}`, '\n-- edited after it was applied\n');
    const err = await migrateTier('content', dbs.urls.content, { schemasDir: changed }).catch((e: unknown) => e);
    expect(isFivetierError(err, 'FT_ERR_MIGRATION_CHANGED')).toBe(true);
    expect((err as Error).message).toMatch(/content: migration 0001_\w+\.sql was changed after it was applied/);
  });

  it('refuses a database that is newer than the code', async () => {
    const older = mkdtempSync(`${tmpdir()}/fivetier-schemas-`);
    cpSync(SCHEMAS_DIR, older, { recursive: true });
    writeFileSync(`${older}/notifications/migrations/9999_future.sql`, 'select 1;');
    await migrateTier('notifications', dbs.urls.notifications, { schemasDir: older });
    const err = await migrateTier('notifications', dbs.urls.notifications).catch((e: unknown) => e);
    expect(isFivetierError(err, 'FT_ERR_MIGRATION_DB_NEWER')).toBe(true);
    expect((err as Error).message).toContain('9999_future.sql');
  });

  it('rolls a failing migration back whole and names it', async () => {
    const broken = mkdtempSync(`${tmpdir()}/fivetier-schemas-`);
    cpSync(SCHEMAS_DIR, broken, { recursive: true });
    writeFileSync(`${broken}/olap/migrations/0500_broken.sql`, 'create table half_done (id int); select no_such_function();');
    const err = await migrateTier('olap', dbs.urls.olap, { schemasDir: broken }).catch((e: unknown) => e);
    expect(isFivetierError(err, 'FT_ERR_MIGRATION_FAILED')).toBe(true);
    expect((err as Error).message).toContain('0500_broken.sql');
    const client = new pg.Client({ connectionString: dbs.urls.olap });
    await client.connect();
    const { rows } = await client.query("select to_regclass('public.half_done') as t");
    await client.end();
    expect(rows[0].t).toBeNull();
  });

  it('survives its connection being terminated between statements: the migrate fails with a message, the process does not crash', async () => {
    const fresh = await scratchDatabases(TIER_NAMES, 'cut');
    const blocker = new pg.Client({ connectionString: fresh.urls.olap });
    await blocker.connect();
    try {
      // Hold the migration lock on one tier, so its migrator waits there, between statements.
      await blocker.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      const env = Object.fromEntries(TIER_NAMES.map((t) => [`${t.toUpperCase()}_DB_URL`, fresh.urls[t]]));
      const child = spawnCli(['migrate'], env);
      let terminated = 0;
      for (let i = 0; i < 300 && terminated === 0; i++) {
        const { rowCount } = await blocker.query(
          "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'fivetier:migrate:olap' and wait_event_type = 'Lock'",
        );
        terminated = rowCount ?? 0;
        if (terminated === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(terminated, 'the olap migrator never waited on the lock').toBe(1);
      expect(await exitCode(child)).toBe(1);
      const out = child.output();
      expect(out).toMatch(/fivetier: the olap tier is unavailable: migration stopped: terminating connection due to administrator command \[FT_ERR_TIER_UNAVAILABLE\]/);
      expect(out).not.toMatch(/Unhandled 'error' event|\n\s+at /);
      // The other tiers' migrators were not taken down with it.
      expect(await history(fresh.urls.oltp)).toEqual(loadMigrations('oltp').map((m) => m.version));
    } finally {
      await blocker.end();
      await fresh.drop();
    }
  });

  it("makes SCRAM verifiers in PostgreSQL's format and recognises them", async () => {
    const verifier = scramVerifier('pässwörd ﬁ with spaces');
    expect(verifier).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/);
    expect(verifierMatches(verifier, 'pässwörd ﬁ with spaces')).toBe(true);
    expect(verifierMatches(verifier, 'pässwörd fi with spaces')).toBe(true); // SASLprep: NFKC folds the ligature
    expect(verifierMatches(verifier, 'another')).toBe(false);
    expect(verifierMatches('md5abc', 'x')).toBe(false);
    expect(verifierMatches(null, 'x')).toBe(false);
  });
});
