import pg from 'pg';
import { Redis } from 'ioredis';
import { TIER_NAMES, type TierName } from '../../src/types.js';

/** One place a text was found: tier, table, column, rows. */
export interface Hit {
  tier: TierName;
  table: string;
  column: string;
  rows: number;
}

/**
 * Every text, varchar, char, json, jsonb and bytea column of every table (partitions included)
 * in every tier, read as the admin (no row-level security), searched for `needle`
 * (case-insensitive; bytea as UTF-8 bytes). Returns where it was found.
 */
export async function scanTiers(urls: Record<TierName, string>, needle: string): Promise<Hit[]> {
  const hits: Hit[] = [];
  for (const tier of TIER_NAMES) {
    const client = new pg.Client({ connectionString: urls[tier] });
    await client.connect();
    try {
      const { rows: cols } = await client.query<{ table_name: string; column_name: string; data_type: string }>(
        `select c.table_name, c.column_name, c.data_type from information_schema.columns c
           join pg_class k on k.relname = c.table_name and k.relnamespace = 'public'::regnamespace and k.relkind = 'r'
          where c.table_schema = 'public' and c.data_type in ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea')`,
      );
      for (const col of cols) {
        const id = `public.${client.escapeIdentifier(col.table_name)}`;
        const column = client.escapeIdentifier(col.column_name);
        const where = col.data_type === 'bytea' ? `position(convert_to(lower($1), 'UTF8') in ${column}) > 0 or position(convert_to($1, 'UTF8') in ${column}) > 0` : `strpos(lower(${column}::text), lower($1)) > 0`;
        const { rows } = await client.query<{ n: number }>(`select count(*)::int as n from ${id} where ${where}`, [needle]);
        if (rows[0]!.n > 0) hits.push({ tier, table: col.table_name, column: col.column_name, rows: rows[0]!.n });
      }
    } finally {
      await client.end();
    }
  }
  return hits;
}

/** Every row, in every table of every tier, whose column named `tenant_id` is `tenantId`. */
export async function tenantRowsEverywhere(urls: Record<TierName, string>, tenantId: string): Promise<Hit[]> {
  const hits: Hit[] = [];
  for (const tier of TIER_NAMES) {
    const client = new pg.Client({ connectionString: urls[tier] });
    await client.connect();
    try {
      const { rows: tables } = await client.query<{ table_name: string }>(
        `select c.table_name from information_schema.columns c
           join pg_class k on k.relname = c.table_name and k.relnamespace = 'public'::regnamespace and k.relkind = 'r'
          where c.table_schema = 'public' and c.column_name = 'tenant_id'`,
      );
      for (const t of tables) {
        const { rows } = await client.query<{ n: number }>(`select count(*)::int as n from public.${client.escapeIdentifier(t.table_name)} where tenant_id::text = $1`, [tenantId]);
        if (rows[0]!.n > 0) hits.push({ tier, table: t.table_name, column: 'tenant_id', rows: rows[0]!.n });
      }
      if (tier === 'oltp') {
        const { rows } = await client.query<{ n: number }>('select count(*)::int as n from public.tenants where id::text = $1', [tenantId]);
        if (rows[0]!.n > 0) hits.push({ tier, table: 'tenants', column: 'id', rows: rows[0]!.n });
      }
    } finally {
      await client.end();
    }
  }
  return hits;
}

/** Every Redis key (whole server, SCAN) whose name or content holds `needle` (case-insensitive). */
export async function scanRedis(url: string, needle: string): Promise<string[]> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  const n = needle.toLowerCase();
  const holds = (s: string) => s.toLowerCase().includes(n);
  const found: string[] = [];
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        if (holds(key)) {
          found.push(key);
          continue;
        }
        const type = await redis.type(key);
        let values: string[] = [];
        if (type === 'string') values = [(await redis.get(key)) ?? ''];
        else if (type === 'hash') values = Object.entries(await redis.hgetall(key)).flat();
        else if (type === 'list') values = await redis.lrange(key, 0, -1);
        else if (type === 'set') values = await redis.smembers(key);
        else if (type === 'zset') values = await redis.zrange(key, '0', '-1');
        else if (type === 'stream') values = ((await redis.xrange(key, '-', '+')) as Array<[string, string[]]>).flatMap(([, f]) => f);
        if (values.some(holds)) found.push(key);
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return found;
}
