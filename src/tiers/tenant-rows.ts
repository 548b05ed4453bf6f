/**
 * Statements on every tenant table of a tier, driven by the catalog rather than a hand list, so
 * a table a later migration adds is covered without a change here: list the tables with a
 * `tenant_id` column, delete one tenant's rows in small batches, and redact a text in the text
 * and JSON columns of some tenants' rows. Run by erasure (src/lifecycle/erasure.ts) as
 * fivetier_maintenance. Identifiers come from the catalog and are escaped; values are parameters.
 */
import type { TxClient } from './tier-client.js';

/** A table with a tenant_id column, and its text and JSON columns. */
export interface TenantTable {
  table: string;
  /** A partitioned parent (its partitions are reached through it and are not listed). */
  partitioned: boolean;
  /** Columns of type text, varchar, char, json or jsonb (tenant_id aside). */
  textColumns: Array<{ name: string; json: 'json' | 'jsonb' | null }>;
}

/** The tier's tenant tables (partitions aside), in name order. Throws on SQL errors. */
export async function tenantTablesList(c: TxClient): Promise<TenantTable[]> {
  const { rows } = await c.query<{ table_name: string; relkind: string; column_name: string | null; data_type: string | null }>({
    name: 'tenantTablesList',
    text: `select k.relname as table_name, k.relkind::text as relkind, a.attname as column_name, format_type(a.atttypid, null) as data_type
             from pg_class k
             join pg_attribute t on t.attrelid = k.oid and t.attname = 'tenant_id' and not t.attisdropped
             left join pg_attribute a on a.attrelid = k.oid and a.attnum > 0 and not a.attisdropped
                  and format_type(a.atttypid, null) in ('text', 'character varying', 'character', 'json', 'jsonb')
            where k.relnamespace = 'public'::regnamespace and k.relkind in ('r', 'p') and not k.relispartition
            order by k.relname, a.attnum`,
  });
  const tables = new Map<string, TenantTable>();
  for (const r of rows) {
    let t = tables.get(r.table_name);
    if (!t) tables.set(r.table_name, (t = { table: r.table_name, partitioned: r.relkind === 'p', textColumns: [] }));
    if (r.column_name) t.textColumns.push({ name: r.column_name, json: r.data_type === 'json' || r.data_type === 'jsonb' ? r.data_type : null });
  }
  return [...tables.values()];
}

/**
 * Delete up to `limit` rows of `tenantId` from `table` (by physical row id, so any table works
 * whatever its key; `tableoid` with it for a partitioned one). Returns how many went.
 * Throws on SQL errors.
 */
export async function tenantRowsDeleteBatch(c: TxClient, table: TenantTable, tenantId: string, limit: number): Promise<number> {
  const t = `public.${c.escapeIdentifier(table.table)}`;
  const text = table.partitioned
    ? `delete from ${t} x using (select tableoid as toid, ctid as tid from ${t} where tenant_id = $1 limit $2) s
        where x.tableoid = s.toid and x.ctid = s.tid`
    : `delete from ${t} where ctid = any(array(select ctid from ${t} where tenant_id = $1 limit $2))`;
  const res = await c.query({ text, values: [tenantId, limit] });
  return res.rowCount ?? 0;
}

/** How many rows `tenantId` has in `table`. Throws on SQL errors. */
export async function tenantRowsCount(c: TxClient, table: TenantTable, tenantId: string): Promise<number> {
  const { rows } = await c.query<{ n: number }>({ text: `select count(*)::int as n from public.${c.escapeIdentifier(table.table)} where tenant_id = $1`, values: [tenantId] });
  return rows[0]!.n;
}

/**
 * In the rows of `tenantIds` in `table`, replace every case-insensitive match of `pattern` (a
 * PostgreSQL regular expression) in the text and JSON columns by `replacement`, except in the
 * columns `skip` names. Returns how many rows changed. Throws on SQL errors (a JSON column whose
 * replacement is not valid JSON any more, a unique index the replacement collides with).
 */
export async function tenantRowsRedact(c: TxClient, table: TenantTable, tenantIds: readonly string[], pattern: string, replacement: string, skip: ReadonlySet<string> = new Set()): Promise<number> {
  const cols = table.textColumns.filter((col) => !skip.has(col.name));
  if (cols.length === 0) return 0;
  const id = (s: string) => c.escapeIdentifier(s);
  const sets = cols.map((col) =>
    col.json
      ? `${id(col.name)} = case when ${id(col.name)}::text ~* $2 then regexp_replace(${id(col.name)}::text, $2, $3, 'gi')::${col.json} else ${id(col.name)} end`
      : `${id(col.name)} = case when ${id(col.name)} ~* $2 then regexp_replace(${id(col.name)}, $2, $3, 'gi') else ${id(col.name)} end`,
  );
  const where = cols.map((col) => (col.json ? `${id(col.name)}::text ~* $2` : `${id(col.name)} ~* $2`)).join(' or ');
  const res = await c.query({
    text: `update public.${id(table.table)} set ${sets.join(', ')} where tenant_id = any($1::uuid[]) and (${where})`,
    values: [tenantIds, pattern, replacement],
  });
  return res.rowCount ?? 0;
}
