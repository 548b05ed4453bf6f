import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { roleUrl } from '../../src/tiers/tier-client.js';
import { ROLES, TIER_NAMES, type TierName } from '../../src/types.js';

/**
 * Driven by the catalog, not a hand list: every table with a tenant_id column in every tier.
 * Rows are planted as the admin (foreign-key triggers off, so any table can be seeded alone),
 * then the runtime role is tried against them.
 */

interface Column {
  name: string;
  type: string;
  nullable: boolean;
  hasDefault: boolean;
  checkValue: string | undefined;
}

async function tenantTables(admin: pg.Client): Promise<string[]> {
  const { rows } = await admin.query<{ table_name: string }>(`
    select c.table_name from information_schema.columns c
    join pg_class k on k.relname = c.table_name and k.relnamespace = 'public'::regnamespace
    where c.table_schema = 'public' and c.column_name = 'tenant_id'
      and k.relkind in ('r', 'p') and not k.relispartition
    order by 1`);
  return rows.map((r) => r.table_name);
}

async function columnsOf(admin: pg.Client, table: string): Promise<Column[]> {
  const { rows } = await admin.query(
    `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, not a.attnotnull as nullable,
            (a.atthasdef or a.attidentity <> '') as has_default,
            (select substring(pg_get_constraintdef(con.oid) from '''([^'']*)''')
               from pg_constraint con
              where con.conrelid = a.attrelid and con.contype = 'c' and con.conkey = array[a.attnum]
              limit 1) as check_value
       from pg_attribute a
      where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped
      order by a.attnum`,
    [`public.${table}`],
  );
  return rows.map((r) => ({ name: r.name, type: r.type, nullable: r.nullable, hasDefault: r.has_default, checkValue: r.check_value ?? undefined }));
}

/** A value of the column's type that its NOT NULL and simple CHECK constraints accept. */
function valueFor(col: Column, position: number): unknown {
  if (col.checkValue !== undefined) return col.checkValue;
  const t = col.type;
  if (t === 'uuid') return randomUUID();
  if (t.startsWith('character') || t === 'text') return `v${Math.random().toString(36).slice(2, 8)}`;
  if (t === 'integer' || t === 'bigint' || t === 'smallint' || t.startsWith('numeric')) return 1;
  if (t === 'boolean') return false;
  // Later columns get later times, so checks such as period_end > period_start hold.
  if (t.startsWith('timestamp')) return new Date(Date.UTC(2026, 5, 1) + position * 1000);
  if (t === 'date') return new Date(Date.UTC(2026, 0, 1) + position * 86_400_000).toISOString().slice(0, 10);
  if (t === 'jsonb' || t === 'json') return {};
  if (t === 'bytea') return Buffer.alloc(32, 1); // the size of a sha256, which key hashes must be
  if (t.endsWith('[]')) return [];
  if (t === 'interval') return '1 second';
  throw new Error(`no test value for type ${t}`);
}

/** Column names and values for a valid row of `table` belonging to `tenant`. */
function rowFor(columns: Column[], tenant: string): { names: string[]; values: unknown[] } {
  const names: string[] = [];
  const values: unknown[] = [];
  for (const col of columns) {
    if (col.name === 'tenant_id') {
      names.push(col.name);
      values.push(tenant);
    } else if (!col.nullable && !col.hasDefault) {
      names.push(col.name);
      values.push(valueFor(col, names.length));
    }
  }
  return { names, values };
}

function insertSql(table: string, names: string[]): string {
  return `insert into ${table} (${names.map((n) => `"${n}"`).join(', ')}) values (${names.map((_, i) => `$${i + 1}`).join(', ')})`;
}

describe.each(TIER_NAMES)('tenant isolation in the %s tier', (tier: TierName) => {
  const adminUrl = inject('tierUrls')[tier];
  let admin: pg.Client;
  let app: pg.Client;
  let tables: string[] = [];
  const columns = new Map<string, Column[]>();
  const tenantA = randomUUID();
  const tenantB = randomUUID();

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: adminUrl });
    app = new pg.Client({ connectionString: roleUrl(adminUrl, 'app', inject('rolePassword') || undefined) });
    await Promise.all([admin.connect(), app.connect()]);
    tables = await tenantTables(admin);
    await admin.query('begin');
    // Seed each table on its own: the foreign keys are enforced by triggers this switches off.
    await admin.query('set local session_replication_role = replica');
    for (const table of tables) {
      const cols = await columnsOf(admin, table);
      columns.set(table, cols);
      for (const tenant of [tenantA, tenantB]) {
        const { names, values } = rowFor(cols, tenant);
        await admin.query(insertSql(table, names), values);
      }
    }
    await admin.query('commit');
  });

  afterAll(async () => {
    await app?.end();
    await admin?.end();
  });

  /** Run `fn` as the runtime role in a transaction with the tenant set as the library sets it. */
  async function asTenant<T>(tenant: string | undefined, fn: () => Promise<T>): Promise<T> {
    await app.query('begin');
    try {
      if (tenant) await app.query("select set_config('app.current_tenant_id', $1, true)", [tenant]);
      return await fn();
    } finally {
      await app.query('rollback');
    }
  }

  it('has tenant tables, each with RLS enabled and forced', async () => {
    expect(tables.length).toBeGreaterThan(0);
    const { rows } = await admin.query(
      `select relname, relrowsecurity, relforcerowsecurity from pg_class where relname = any($1) and relnamespace = 'public'::regnamespace`,
      [tables],
    );
    for (const r of rows) expect([r.relname, r.relrowsecurity, r.relforcerowsecurity]).toEqual([r.relname, true, true]);
  });

  it('the runtime role sees no rows with no tenant set', async () => {
    for (const table of tables) {
      const { rows } = await asTenant(undefined, () => app.query(`select count(*)::int as n from ${table}`));
      expect(rows[0].n, table).toBe(0);
    }
  });

  it("the runtime role sees only the current tenant's rows", async () => {
    for (const table of tables) {
      const { rows } = await asTenant(tenantA, () => app.query(`select tenant_id from ${table} where tenant_id in ($1, $2)`, [tenantA, tenantB]));
      expect(rows.map((r) => r.tenant_id), table).toEqual([tenantA]);
    }
  });

  it("the runtime role cannot insert another tenant's rows", async () => {
    for (const table of tables) {
      const { names, values } = rowFor(columns.get(table)!, tenantB);
      const err = await asTenant(tenantA, () => app.query(insertSql(table, names), values)).catch((e: { code?: string }) => e);
      expect((err as { code?: string }).code, table).toBe('42501');
    }
  });

  it("the runtime role cannot update or delete another tenant's rows, nor move its own rows to another tenant", async () => {
    // Either RLS hides the rows (0 affected) or the table refuses the statement to the
    // runtime role outright (append-only tables such as admin_audit_log): both protect them.
    const attempt = (sql: string, params: unknown[]) =>
      asTenant(tenantA, () => app.query(sql, params)).then(
        (r) => r.rowCount,
        (e: { code?: string }) => e.code,
      );
    for (const table of tables) {
      expect(await attempt(`update ${table} set tenant_id = tenant_id where tenant_id = $1`, [tenantB]), `${table} update`).toBeOneOf([0, '42501']);
      expect(await attempt(`delete from ${table} where tenant_id = $1`, [tenantB]), `${table} delete`).toBeOneOf([0, '42501']);
      expect(await attempt(`update ${table} set tenant_id = $2 where tenant_id = $1`, [tenantA, tenantB]), `${table} move`).toBe('42501');
      const { rows } = await admin.query(`select count(*)::int as n from ${table} where tenant_id = $1`, [tenantB]);
      expect(rows[0].n, `${table} still has tenant B's row`).toBe(1);
    }
  });

  it('the runtime role is not superuser, not BYPASSRLS, and owns nothing', async () => {
    const { rows } = await admin.query('select rolsuper, rolbypassrls from pg_roles where rolname = $1', [ROLES.app]);
    expect(rows[0]).toEqual({ rolsuper: false, rolbypassrls: false });
    const owned = await admin.query('select count(*)::int as n from pg_class where relowner = (select oid from pg_roles where rolname = $1)', [ROLES.app]);
    expect(owned.rows[0].n).toBe(0);
    const member = await admin.query("select count(*)::int as n from pg_auth_members where member = (select oid from pg_roles where rolname = $1)", [ROLES.app]);
    expect(member.rows[0].n, 'the runtime role is a member of no role it could SET ROLE to').toBe(0);
  });
});
