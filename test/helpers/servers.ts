import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { startEmbeddedServer } from '../../src/embedded/embedded-server.js';

/**
 * Where the tests find PostgreSQL: FIVETIER_TEST_PG_URL (an admin URL of any database on the
 * server), else a local server at 127.0.0.1:5432 with trust auth, else an embedded server that
 * the test run starts itself. So `npm test` works on a machine with no PostgreSQL installed.
 */
export interface TestPostgres {
  adminUrl: string;
  /** Password for fivetier's login roles: the embedded server asks for one, trust servers do not. */
  rolePassword: string | undefined;
  stop: () => Promise<void>;
}

/** The data folder of the embedded server a test run starts when it finds no PostgreSQL. */
export const TEST_SERVER_DATA_DIR = join(tmpdir(), 'fivetier-test-pg');

/**
 * The PostgreSQL logs a test run's statements can land in: its own embedded server's, and the
 * system server's under /var/log/postgresql. Some may be missing or unreadable to this user.
 */
export function testServerLogFiles(): string[] {
  const system = existsSync('/var/log/postgresql') ? readdirSync('/var/log/postgresql').map((f) => join('/var/log/postgresql', f)) : [];
  return [join(TEST_SERVER_DATA_DIR, 'postgres.log'), ...system];
}

export async function findTestPostgres(log: (l: string) => void): Promise<TestPostgres> {
  // FIVETIER_TEST_EMBEDDED=1 skips the look-around: what a machine without PostgreSQL gets.
  const candidates =
    process.env.FIVETIER_TEST_EMBEDDED === '1'
      ? []
      : ([process.env.FIVETIER_TEST_PG_URL, 'postgresql://postgres@127.0.0.1:5432/postgres'].filter(Boolean) as string[]);
  for (const url of candidates) {
    if (await canConnect(url)) return { adminUrl: url, rolePassword: process.env.FIVETIER_ROLE_PASSWORD || undefined, stop: async () => {} };
    if (url === process.env.FIVETIER_TEST_PG_URL) throw new Error(`FIVETIER_TEST_PG_URL=${url}: cannot connect; start that server or unset the variable`);
  }
  log('starting an embedded PostgreSQL for the tests (none given, none at 127.0.0.1:5432)');
  const server = await startEmbeddedServer({
    dataDir: TEST_SERVER_DATA_DIR,
    port: Number(process.env.FIVETIER_TEST_EMBEDDED_PORT ?? 54339),
    databases: [],
    // why: the data is thrown away after the run; waiting for disk flushes only slows the tests
    settings: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
  });
  return { adminUrl: server.urlFor('postgres'), rolePassword: server.rolePassword, stop: () => server.stop() };
}

/**
 * Where the tests find Redis: FIVETIER_TEST_REDIS_URL, else redis://127.0.0.1:6379. Undefined
 * when none answers; Redis tests then skip, except under CI=true, where a missing Redis fails.
 */
export async function findTestRedis(): Promise<string | undefined> {
  const url = process.env.FIVETIER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
    return url;
  } catch {
    if (process.env.CI === 'true') throw new Error(`CI=true but no Redis answers at ${url}`);
    return undefined;
  } finally {
    redis.disconnect();
  }
}

/** Delete every key matching `pattern` (SCAN, not KEYS, so a busy Redis is not blocked). */
export async function deleteRedisKeys(url: string, pattern: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The URL of another database on the same server as `adminUrl`. */
export function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Create an empty database; returns its admin URL. */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`create database ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  return databaseUrl(adminUrl, name);
}

/** Drop a database, closing whatever connections are still open to it. */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`drop database if exists ${client.escapeIdentifier(name)} with (force)`);
  } finally {
    await client.end();
  }
}
