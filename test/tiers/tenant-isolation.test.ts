import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ConfigOverrides } from '../../src/config/config.js';
import { roleUrl } from '../../src/tiers/tier-client.js';
import { openTestFivetier } from '../helpers/platform.js';
import { pgbouncerMissing, startPgBouncer, UnnamedStatementClient, type PgBouncer } from '../helpers/pgbouncer.js';
import { tenantUserInvite, tenantUserSetJoined } from '../../src/tiers/oltp/queries/users.js';
import { ROLES, TIER_NAMES, type TierName } from '../../src/types.js';

/**
 * Driven by the catalog, not a hand list: every table with a tenant_id column in every tier.
 * Rows are planted as the admin (foreign-key triggers off, so any table can be seeded alone),
 * then the runtime role is tried against them.
 *
 * The suite runs twice: straight to PostgreSQL, and again through PgBouncer in transaction
 * pooling mode in front of OLTP and Content (one server connection per database and role, so
 * whatever a transaction leaves on its session reaches the next client of that role).
 */

/** Where the suite's connections go. */
interface IsolationTarget {
  /** Appended to the describe titles ('' for the direct run, whose titles stay as they were). */
  suffix: string;
  tiers: readonly TierName[];
  /** The tier's admin URL as this run reaches it; read once the run's hooks have started. */
  adminUrl: (tier: TierName) => string;
  /**
   * application_name after the session reset's RESET ALL: the value the server session started
   * with. PgBouncer opens its server sessions without one and SETs the client's on top.
   */
  resetApplicationName: (tier: TierName) => string;
  /** A client of the test's own (the admin, the runtime role). */
  client: (url: string) => pg.Client;
  /** What a platform the test opens on this tier needs on top of the test's pool settings. */
  platform: (tier: TierName, pool: NonNullable<NonNullable<ConfigOverrides['tiers']>[TierName]>['pool']) => ConfigOverrides;
}

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

/** Run `fn` on `client` (the runtime role) in a transaction with the tenant set as the library sets it; rolled back. */
async function inTenantTransaction<T>(client: pg.Client, tenant: string | undefined, fn: () => Promise<T>): Promise<T> {
  await client.query('begin');
  try {
    if (tenant) await client.query("select set_config('app.current_tenant_id', $1, true)", [tenant]);
    return await fn();
  } finally {
    await client.query('rollback');
  }
}

function isolationSuite(target: IsolationTarget): void {
  describe.each(target.tiers)(`tenant isolation in the %s tier${target.suffix}`, (tier: TierName) => {
    let adminUrl: string;
    let admin: pg.Client;
    let app: pg.Client;
    let tables: string[] = [];
    const columns = new Map<string, Column[]>();
    const tenantA = randomUUID();
    const tenantB = randomUUID();

    beforeAll(async () => {
      adminUrl = target.adminUrl(tier);
      admin = target.client(adminUrl);
      app = target.client(roleUrl(adminUrl, 'app', inject('rolePassword') || undefined));
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

    const asTenant = <T>(tenant: string | undefined, fn: () => Promise<T>) => inTenantTransaction(app, tenant, fn);

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

    it('a pooled connection comes back clean, whatever the transaction left on its session', async () => {
      // One connection in the pool: the next user gets the very connection the callback used.
      const ft = await openTestFivetier(target.platform(tier, { max: 1 }));
      const leftovers = async () =>
        (
          await ft.tiers[tier].pool.query(`select current_setting('app.current_tenant_id', true) as tenant, current_setting('application_name') as app,
            (select count(*)::int from pg_listening_channels()) as listens,
            (select count(*)::int from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()) as locks,
            (select count(*)::int from pg_cursors) as cursors`)
        ).rows[0];
      const clean = { tenant: '', app: target.resetApplicationName(tier), listens: 0, locks: 0, cursors: 0 };
      try {
        await ft.tiers[tier].withTenant(tenantA, async (c) => {
          await c.query("select set_config('app.current_tenant_id', $1, false)", [tenantA]);
          await c.query("set application_name = 'left behind'");
          await c.query('listen left_behind');
          await c.query('select pg_advisory_lock(42)');
          await c.query('declare held cursor with hold for select 1');
        });
        expect(await leftovers()).toEqual(clean);
        for (const table of tables) {
          const { rows } = await ft.tiers[tier].pool.query(`select count(*)::int as n from ${table}`);
          expect(rows[0].n, `${table} after a callback set the tenant for the session`).toBe(0);
        }
        // The same when the callback fails after leaving its state.
        await ft.tiers[tier]
          .withTenant(tenantA, async (c) => {
            await c.query('select pg_advisory_lock(43)');
            await c.query('listen left_behind');
            throw new Error('the callback fails');
          })
          .catch(() => {});
        expect(await leftovers()).toEqual(clean);
      } finally {
        await ft.close();
      }
    });

    it('no login role can create a temporary table, view or function (a temporary object would shadow a real table on the pooled connection)', async () => {
      for (const role of [ROLES.app, ROLES.worker, ROLES.maintenance]) {
        const { rows } = await admin.query('select has_database_privilege($1, current_database(), $2) as temp', [role, 'TEMPORARY']);
        expect(rows[0].temp, role).toBe(false);
      }
      const attempts = [
        'create temporary table emails (id uuid)',
        'create temporary table t_probe (id uuid) on commit drop',
        'create temporary view v_probe as select 1 as x',
        'create function pg_temp.f_probe() returns int language sql as $$ select 1 $$',
      ];
      for (const tenant of [undefined, tenantA]) {
        for (const sql of attempts) {
          const err = await asTenant(tenant, () => app.query(sql)).catch((e: { code?: string }) => e);
          expect((err as { code?: string }).code, `${sql} (tenant ${tenant ?? 'none'})`).toBe('42501');
        }
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

  /**
   * `users` is global identity, with no tenant_id, so the catalog-driven cases above do not reach
   * it: a tenant must never reach or link a user who did not join it, and nothing it is told may
   * say which addresses or user ids exist.
   */
  if (target.tiers.includes('oltp')) describe(`users and tenant_users (OLTP)${target.suffix}`, () => {
    let adminUrl: string;
    let admin: pg.Client;
    let app: pg.Client;
    const tenantA = randomUUID();
    const tenantB = randomUUID();
    const alice = randomUUID();
    const aliceEmail = `alice-${alice.slice(0, 8)}@example.com`;

    beforeAll(async () => {
      adminUrl = target.adminUrl('oltp');
      admin = target.client(adminUrl);
      app = target.client(roleUrl(adminUrl, 'app', inject('rolePassword') || undefined));
      await Promise.all([admin.connect(), app.connect()]);
      await admin.query('insert into public.tenants (id, name) values ($1, $2), ($3, $4)', [tenantA, 'A', tenantB, 'B']);
      await admin.query('insert into public.users (id, email, name) values ($1, $2, $3)', [alice, aliceEmail, 'Alice of A']);
      await admin.query('insert into public.tenant_users (tenant_id, user_id, email, joined_at) values ($1, $2, $3, now())', [tenantA, alice, aliceEmail]);
    });

    afterAll(async () => {
      await app?.end();
      await admin?.end();
    });

    const asTenant = <T>(tenant: string | undefined, fn: () => Promise<T>) => inTenantTransaction(app, tenant, fn);
    const errorOf = (p: Promise<unknown>) => p.then(() => undefined, (e: { code?: string; message?: string; detail?: string }) => e);
    const aliceRow = async () => (await admin.query('select email, name from public.users where id = $1', [alice])).rows[0];

    it("B cannot link A's user by id", async () => {
      const err = await errorOf(asTenant(tenantB, () => app.query('insert into public.tenant_users (tenant_id, user_id) values ($1, $2)', [tenantB, alice])));
      expect(err?.code).toBe('42501');
      // Nor move one of its own memberships onto A's user.
      const moved = await errorOf(asTenant(tenantB, () => app.query('update public.tenant_users set user_id = $1', [alice])));
      expect(moved?.code).toBe('42501');
      const { rows } = await admin.query('select tenant_id from public.tenant_users where user_id = $1', [alice]);
      expect(rows).toEqual([{ tenant_id: tenantA }]);
    });

    it("B cannot read or update A's user, even after inviting the address", async () => {
      for (const invited of [false, true]) {
        await asTenant(tenantB, async () => {
          if (invited) await tenantUserInvite(app, aliceEmail);
          expect((await app.query('select * from public.users where id = $1 or lower(email) = lower($2)', [alice, aliceEmail])).rows).toEqual([]);
          const upd = await errorOf(app.query("update public.users set email = 'taken@evil.example' where id = $1", [alice]));
          expect(upd?.code).toBe('42501');
        });
      }
      // B cannot accept its own invitation on the person's behalf.
      const selfJoin = await errorOf(asTenant(tenantB, () => app.query('update public.tenant_users set joined_at = now()')));
      expect(selfJoin?.code).toBe('42501');
      expect(await aliceRow()).toEqual({ email: aliceEmail, name: 'Alice of A' });
      // A reads its member, and cannot change the identity either: it is the person's.
      await asTenant(tenantA, async () => {
        expect((await app.query('select id from public.users where id = $1', [alice])).rows).toEqual([{ id: alice }]);
        expect((await errorOf(app.query("update public.users set name = 'renamed' where id = $1", [alice])))?.code).toBe('42501');
      });
    });

    it('B cannot register an address, and what it is told says nothing about a taken one', async () => {
      const fresh = `nobody-${randomUUID().slice(0, 8)}@example.com`;
      const answers: Array<{ code?: string; message?: string; detail?: string } | undefined> = [];
      for (const email of [aliceEmail, fresh]) {
        answers.push(await errorOf(asTenant(tenantB, () => app.query('insert into public.users (id, email) values ($1, $2)', [randomUUID(), email]))));
      }
      expect(answers.map((e) => e?.code)).toEqual(['42501', '42501']);
      expect(answers[0]!.message).toBe(answers[1]!.message);
      for (const e of answers) expect(`${e?.message} ${e?.detail ?? ''}`).not.toMatch(/alice|already exists|Key \(/i);

      // Inviting a taken address and a fresh one: the same kind of answer, no error, no user row to see.
      const seen = await asTenant(tenantB, async () => {
        const ids = [await tenantUserInvite(app, aliceEmail.toUpperCase()), await tenantUserInvite(app, fresh)];
        const members = await app.query('select user_id, email, joined_at from public.tenant_users order by email');
        const users = await app.query('select id from public.users');
        return { ids, members: members.rows, users: users.rows };
      });
      for (const id of seen.ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(seen.members.map((m) => m.joined_at)).toEqual([null, null]);
      expect(seen.users).toEqual([]);
      const bad = await errorOf(asTenant(tenantB, () => tenantUserInvite(app, 'not an address')));
      expect(bad?.code).toBe('22023');
      const noTenant = await errorOf(asTenant(undefined, () => tenantUserInvite(app, fresh)));
      expect(noTenant?.code).toBe('42501');
    });

    it('B sees a user once the person has joined it (as the account flow marks it)', async () => {
      const bob = `bob-${randomUUID().slice(0, 8)}@example.com`;
      await app.query('begin');
      await app.query("select set_config('app.current_tenant_id', $1, true)", [tenantB]);
      const bobId = await tenantUserInvite(app, bob, ['member']);
      await app.query('commit');
      const maintenance = target.client(roleUrl(adminUrl, 'maintenance', inject('rolePassword') || undefined));
      await maintenance.connect();
      try {
        expect(await tenantUserSetJoined(maintenance, tenantB, bobId)).toBe(true);
      } finally {
        await maintenance.end();
      }
      const rows = await asTenant(tenantB, async () => (await app.query('select id, email from public.users where id = $1', [bobId])).rows);
      expect(rows).toEqual([{ id: bobId, email: bob }]);
      expect(await asTenant(tenantA, async () => (await app.query('select id from public.users where id = $1', [bobId])).rows)).toEqual([]);
    });
  });
}

isolationSuite({
  suffix: '',
  tiers: TIER_NAMES,
  adminUrl: (tier) => inject('tierUrls')[tier],
  resetApplicationName: (tier) => `fivetier:${tier}:app`,
  client: (url) => new pg.Client({ connectionString: url }),
  platform: (tier, pool) => ({ tiers: { [tier]: { pool } } }),
});

const noPgBouncer = pgbouncerMissing();
if (noPgBouncer) console.warn(`tenant isolation: ${noPgBouncer}`);

describe.skipIf(noPgBouncer !== undefined)('through PgBouncer, transaction pooling, in front of OLTP and Content', () => {
  let bouncer: PgBouncer;
  beforeAll(async () => {
    bouncer = await startPgBouncer(inject('pgAdminUrl'), inject('rolePassword') || undefined, { poolSize: 1 });
  });
  afterAll(async () => {
    await bouncer?.stop();
  });

  isolationSuite({
    suffix: ', through PgBouncer (transaction pooling)',
    tiers: ['oltp', 'content'],
    adminUrl: (tier) => bouncer.through(inject('tierUrls')[tier]),
    resetApplicationName: () => '',
    // why: PgBouncer 1.18 does not carry prepared statements between transactions (see docs/configuration.md)
    client: (url) => new UnnamedStatementClient({ connectionString: url }),
    platform: (tier, pool) => ({
      // PgBouncer refuses statement_timeout as a startup parameter, and keeps no prepared statements
      tiers: { [tier]: { url: bouncer.through(inject('tierUrls')[tier]), pool: { ...pool, namedStatements: 0, statementTimeoutMillis: 0 } } },
    }),
  });
});
