import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import type { Fivetier } from '../../src/platform.js';
import { TIER_NAMES, type TierName } from '../../src/types.js';

/** One registered route: its URL pattern and methods. */
export interface RouteEntry {
  url: string;
  methods: string[];
}

/**
 * Every route the app has registered, read from Fastify's own route tree (`printRoutes`), so a
 * test covers whatever routes exist without a list of its own. Each entry is checked against
 * `hasRoute`, so a change in the printed format fails loudly instead of dropping routes.
 */
export function registeredRoutes(app: FastifyInstance): RouteEntry[] {
  const stack: string[] = [];
  const routes: RouteEntry[] = [];
  for (const line of app.printRoutes().split('\n')) {
    const indent = line.search(/[^\s│├└─]/);
    if (indent < 0) continue;
    const depth = Math.floor(indent / 4);
    const m = /^(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line.slice(indent))!;
    stack.length = depth;
    stack[depth] = m[1]!;
    if (!m[2]) continue;
    const url = stack.join('');
    const methods = m[2].split(',').map((s) => s.trim());
    for (const method of methods) {
      if (!app.hasRoute({ method: method as 'GET', url })) throw new Error(`route tree parsed as ${method} ${url}, which hasRoute does not know; printRoutes changed its format`);
    }
    routes.push({ url, methods });
  }
  return routes;
}

/**
 * Every row of every table in every tier, as JSON text per table, read as the tier's admin (so
 * row-level security hides nothing). What the platform holds, to compare before and after.
 * `ignore`: columns left out of every row (bookkeeping a read may touch, such as when an API
 * key was last used).
 */
export async function snapshotTiers(ft: Fivetier, ignore: readonly string[] = []): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const tier of TIER_NAMES) Object.assign(out, await snapshotTier(ft, tier, ignore));
  return out;
}

async function snapshotTier(ft: Fivetier, tier: TierName, ignore: readonly string[]): Promise<Record<string, string[]>> {
  const client = new pg.Client({ connectionString: ft.adminUrl(tier) });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ name: string }>(
      `select format('%I.%I', n.nspname, c.relname) as name from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and not c.relispartition and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' order by 1`,
    );
    const out: Record<string, string[]> = {};
    for (const { name } of tables) {
      const { rows } = await client.query<{ r: string }>(`select (to_jsonb(t) - $1::text[])::text as r from ${name} t order by 1`, [ignore]);
      out[`${tier}:${name}`] = rows.map((r) => r.r);
    }
    return out;
  } finally {
    await client.end();
  }
}
