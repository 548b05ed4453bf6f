import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { unreadNotifications } from '../../src/notifications/in-app.js';
import type { Fivetier } from '../../src/platform.js';
import { notificationListUnreadStatement } from '../../src/tiers/notifications/queries/notifications.js';
import { newTenant, openTestFivetier } from '../helpers/platform.js';

/**
 * Must-show 6 of issue 9: a user's unread notifications come from an index scan on
 * `idx_notifications_unread`, over 100,000 rows. The rows are planted set-based as the admin,
 * shaped like a shared database: tenant A has 50 users with about 1,660 notifications each,
 * tenant B 10 users of its own, one in ten rows unread, over 90 days; the reader also has a few
 * rows in tenant B (users are global identities); and 3,000 small tenants hold a row each (the
 * many tenants that make the policy's tenant condition look rare to the planner). The plan
 * asserted on is the plan of the very statement `unreadNotifications` sends, planned as the
 * runtime role with the tenant set.
 */

const ROWS = 100_000;
const SMALL_TENANTS = 3_000;
const READER_ROWS_IN_B = 20;
const USERS_A = 50;
const USERS_B = 10;

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

describe('unread notifications over 100,000 rows', () => {
  let ft: Fivetier;
  let admin: pg.Client;
  const tenantA = newTenant();
  const tenantB = newTenant();
  const usersA = Array.from({ length: USERS_A }, () => randomUUID());
  const usersB = Array.from({ length: USERS_B }, () => randomUUID());
  const reader = usersA[0]!;
  const tenants = [tenantA, tenantB];

  beforeAll(async () => {
    ft = await openTestFivetier();
    admin = new pg.Client({ connectionString: inject('tierUrls').notifications });
    await admin.connect();
    // One row in six is tenant B's; unread is drawn at random (seeded), so it does not go with
    // the user; created_at spreads over 90 days; one row in seven expires in 30 days.
    await admin.query('select setseed(0.42)');
    const main = ROWS - SMALL_TENANTS - READER_ROWS_IN_B;
    await admin.query(
      `insert into public.notifications (tenant_id, user_id, type, title, message, is_read, read_at, created_at, expires_at)
       select case when s.g % 6 = 0 then $2::uuid else $1::uuid end,
              case when s.g % 6 = 0 then ($4::uuid[])[1 + s.g % $7] else ($3::uuid[])[1 + s.g % $6] end,
              'SEED', 'seed ' || s.g, 'seeded notification ' || s.g,
              not s.unread, case when not s.unread then now() end,
              now() - make_interval(secs => s.g * 77.0),
              case when s.g % 7 = 0 then now() + interval '30 days' end
       from (select g, random() < 0.1 as unread from generate_series(1, $5::int) as g) as s`,
      [tenantA, tenantB, usersA, usersB, main, USERS_A, USERS_B],
    );
    await admin.query(
      `insert into public.notifications (tenant_id, user_id, type, title, message)
       select $1, $2, 'SEED', 'in B', 'reader in tenant B' from generate_series(1, $3::int)`,
      [tenantB, reader, READER_ROWS_IN_B],
    );
    const small = await admin.query(
      `insert into public.notifications (tenant_id, user_id, type, title, message)
       select gen_random_uuid(), gen_random_uuid(), 'SEED', 'small', 'small tenant' from generate_series(1, $1::int)
       returning tenant_id`,
      [SMALL_TENANTS],
    );
    tenants.push(...small.rows.map((r) => r.tenant_id as string));
    await admin.query('analyze public.notifications');
  });

  afterAll(async () => {
    await admin?.query('delete from public.notifications where tenant_id = any ($1::uuid[])', [tenants]);
    await admin?.end();
    await ft?.close();
  });

  it('the seed holds 100,000 rows', async () => {
    const { rows } = await admin.query('select count(*)::int as n from public.notifications where tenant_id = any ($1::uuid[])', [tenants]);
    expect(rows[0].n).toBe(ROWS);
  });

  it('plans an index scan on idx_notifications_unread in order, with no sort', async () => {
    const statement = notificationListUnreadStatement(tenantA, reader, 20);
    // Unnamed, so PostgreSQL plans it with these values each time it runs (no generic plan).
    expect(statement).not.toHaveProperty('name');
    const plan = await ft.notifications.withTenant(tenantA, async (c) => {
      const { rows } = await c.query({ text: `explain (format json) ${statement.text}`, values: statement.values });
      return rows[0]['QUERY PLAN'][0].Plan as PlanNode;
    });
    const all = nodes(plan);
    const onTable = all.filter((n) => n['Relation Name'] === 'notifications' || n['Index Name'] !== undefined);
    expect(onTable.map((n) => [n['Node Type'], n['Index Name']])).toEqual([['Index Scan', 'idx_notifications_unread']]);
    // The index gives the order: no Sort or Incremental Sort above it.
    expect(all.filter((n) => n['Node Type'].includes('Sort'))).toEqual([]);
  });

  it('returns the newest unread, visible notifications of that user in that tenant only', async () => {
    const got = await unreadNotifications(ft, tenantA, reader, { limit: 20 });
    const { rows: expected } = await admin.query(
      `select id from public.notifications
       where tenant_id = $1 and user_id = $2 and not is_read and deleted_at is null and (expires_at is null or expires_at > now())
       order by created_at desc limit 20`,
      [tenantA, reader],
    );
    expect(got).toHaveLength(20);
    expect(got.map((n) => n.id)).toEqual(expected.map((r) => r.id));
    expect(new Set(got.map((n) => `${n.tenant_id} ${n.user_id} ${n.is_read}`))).toEqual(new Set([`${tenantA} ${reader} false`]));
  });
});
