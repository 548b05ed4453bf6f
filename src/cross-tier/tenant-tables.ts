import { FivetierError } from '../errors/codes.js';
import type { TierClient, TxClient } from '../tiers/tier-client.js';

/** Tables a DatabaseTransaction never writes by name: the outbox is written by `insertQueue` only, outbox_rejected by the relay. */
const RESERVED_TABLES = new Set(['outbox', 'outbox_rejected', 'schema_migrations']);

/** Column names per tenant-owned table of one tier, read once from the catalog. */
type TableColumns = ReadonlyMap<string, ReadonlySet<string>>;

const catalogs = new WeakMap<TierClient, Promise<TableColumns>>();

async function readCatalog(c: TxClient): Promise<TableColumns> {
  const { rows } = await c.query<{ table_name: string; column_name: string }>({
    name: 'tenantTableColumns',
    text: `select c.table_name, c.column_name from information_schema.columns c
            where c.table_schema = 'public' and c.table_name in (
              select table_name from information_schema.columns where table_schema = 'public' and column_name = 'tenant_id')`,
  });
  const tables = new Map<string, Set<string>>();
  for (const r of rows) {
    if (RESERVED_TABLES.has(r.table_name)) continue;
    let cols = tables.get(r.table_name);
    if (!cols) tables.set(r.table_name, (cols = new Set()));
    cols.add(r.column_name);
  }
  return tables;
}

/**
 * Build `insert into public."table" ("col", ...) values ($1, ...) returning *` for a tenant table of
 * `tier`, checked against the catalog (read once per TierClient, on `c`). Identifiers come from
 * the catalog and are escaped; values are always parameters.
 * Throws FT_ERR_CROSS_TABLE_UNKNOWN or FT_ERR_CROSS_COLUMN_UNKNOWN.
 */
export async function buildTenantInsert(tier: TierClient, c: TxClient, table: string, row: Record<string, unknown>): Promise<{ text: string; values: unknown[] }> {
  let catalog = catalogs.get(tier);
  if (!catalog) {
    catalog = readCatalog(c);
    catalogs.set(tier, catalog);
    catalog.catch(() => catalogs.delete(tier));
  }
  const columns = (await catalog).get(table);
  if (!columns) throw new FivetierError('FT_ERR_CROSS_TABLE_UNKNOWN', [JSON.stringify(table), tier.name]);
  const names = Object.keys(row).filter((k) => row[k] !== undefined);
  for (const n of names) if (!columns.has(n)) throw new FivetierError('FT_ERR_CROSS_COLUMN_UNKNOWN', [table, JSON.stringify(n)]);
  const id = (s: string) => c.escapeIdentifier(s);
  const values = names.map((n) => {
    const v = row[n];
    // why: plain objects go to json/jsonb columns; pg would otherwise try to format them itself
    return v !== null && typeof v === 'object' && !(v instanceof Date) && !Array.isArray(v) && !Buffer.isBuffer(v) ? JSON.stringify(v) : v;
  });
  const text = names.length
    ? `insert into public.${id(table)} (${names.map(id).join(', ')}) values (${names.map((_, i) => `$${i + 1}`).join(', ')}) returning *`
    : `insert into public.${id(table)} default values returning *`;
  return { text, values };
}
