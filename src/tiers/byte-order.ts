import type { TxClient } from './tier-client.js';

/**
 * Collations whose order is the order of the bytes of UTF-8 text, so an index in one of them
 * hands keys out in the order `COLLATE "C"` would sort them. glibc's C.UTF-8 sorts by code
 * point (which is UTF-8 byte order) since glibc 2.35, and as a Debian patch before that.
 */
const BYTE_ORDER_COLLATIONS = new Set(['c', 'posix', 'c.utf-8', 'c.utf8', 'ucs_basic']);

/**
 * True when text column `column` of `table` (schema-qualified) sorts in byte order: its
 * collation, or the database's when it has the default, is one of the above under libc.
 * Throws on SQL errors (a table or column that does not exist among them).
 */
export async function columnSortsAsBytes(c: TxClient, table: string, column: string): Promise<boolean> {
  const { rows } = await c.query<{ collation: string; provider: string }>({
    name: 'columnSortsAsBytes',
    // why: to_jsonb reads datlocprovider where it exists (PostgreSQL 15+) and yields null before, when libc was the only provider
    text: `select case when co.collname = 'default' then d.datcollate else co.collname end as collation,
                  case when co.collname = 'default' then coalesce(to_jsonb(d) ->> 'datlocprovider', 'c') else co.collprovider::text end as provider
             from pg_catalog.pg_attribute a
             join pg_catalog.pg_collation co on co.oid = a.attcollation
             join pg_catalog.pg_database d on d.datname = pg_catalog.current_database()
            where a.attrelid = $1::regclass and a.attname = $2`,
    values: [table, column],
  });
  const row = rows[0];
  return row !== undefined && (row.provider === 'c' || row.provider === 'd') && BYTE_ORDER_COLLATIONS.has(row.collation.toLowerCase());
}
