import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../src/config/config.js';
import { migrateTiers } from '../src/migrate/migrator.js';
import { openFivetier, type Fivetier } from '../src/platform.js';
import { TIER_NAMES, type TierName } from '../src/types.js';

/**
 * Fresh, migrated databases (one per tier) for a benchmark, on the server of
 * FIVETIER_BENCH_PG_URL (an admin URL; default postgresql://postgres@127.0.0.1:5432/postgres).
 * `drop()` removes them unless FIVETIER_BENCH_KEEP=1.
 */
export async function benchDatabases(label: string): Promise<{ urls: Record<TierName, string>; open: (pool?: Partial<Record<TierName, number>>) => Promise<Fivetier>; drop: () => Promise<void> }> {
  const admin = process.env.FIVETIER_BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const prefix = `ft_bench_${label}_${randomBytes(3).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  const urls = {} as Record<TierName, string>;
  for (const t of TIER_NAMES) {
    await client.query(`create database ${client.escapeIdentifier(`${prefix}_${t}`)}`);
    const u = new URL(admin);
    u.pathname = `/${prefix}_${t}`;
    urls[t] = u.toString();
  }
  await client.end();
  await migrateTiers(urls);
  return {
    urls,
    open: (pool = {}) =>
      openFivetier({
        config: loadConfig({}, { tiers: Object.fromEntries(TIER_NAMES.map((t) => [t, { url: urls[t], pool: pool[t] ? { max: pool[t] } : {} }])) as never, systemPoolMax: 4 }),
        migrate: false,
      }),
    drop: async () => {
      if (process.env.FIVETIER_BENCH_KEEP === '1') return;
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      for (const t of TIER_NAMES) await c.query(`drop database if exists ${c.escapeIdentifier(`${prefix}_${t}`)} with (force)`);
      await c.end();
    },
  };
}

/** Percentile of sorted numbers. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The median of numbers in any order (of an even count, the upper of the middle two). */
export function median(xs: readonly number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 50);
}

/**
 * Start a measurement from the same quiet server, as pgbench does: VACUUM ANALYZE every database
 * of the benchmark (the tables each system left behind), then CHECKPOINT (`adminUrl`: any
 * database of the server, as a superuser).
 * why: a system that deletes or updates 20,000 rows leaves autovacuum work behind, and whichever
 * system ran next paid for it: fivetier's PostgreSQL-only rounds measured 23,000 jobs/s when run
 * first and 19,000 right after graphile-worker (which deletes every finished job). ANALYZE, so
 * that no run is planned from statistics autovacuum happened to take in the middle of another.
 */
export async function settle(adminUrl: string, databases: readonly string[]): Promise<void> {
  for (const url of databases) await runOn(url, 'VACUUM ANALYZE');
  await runOn(adminUrl, 'CHECKPOINT');
}

/** One statement on its own connection. */
export async function runOn(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}
