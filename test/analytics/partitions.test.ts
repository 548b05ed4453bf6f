import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OLAP_PARTITIONED_TABLES, campaignStats, dropOlapPartitions, ensureOlapPartitions, recordEvent, type DeliveryEvent } from '../../src/analytics/index.js';
import { migrateTier } from '../../src/migrate/migrator.js';
import type { Fivetier } from '../../src/platform.js';
import { CAMPAIGN_DAYS_SQL } from '../../src/tiers/olap/queries/campaign-analytics.js';
import { newTenant, openTestFivetier, scratchDatabases } from '../helpers/platform.js';

/**
 * Partition upkeep and retention on a scratch OLAP database of its own: dropping partitions is
 * cross-tenant, and the run's shared database holds other test files' rows.
 * The current month is fixed by the `now` option, so partition names are known in advance.
 */

const NOW = new Date('2026-06-15T10:00:00Z');

function sent(tenantId: string, campaignId: string, occurredAt: string): DeliveryEvent {
  return { eventId: randomUUID(), tenantId, type: 'sent', campaignId, occurredAt };
}

describe('OLAP partitions ahead of time, and retention', () => {
  let ft: Fivetier;
  let scratch: Awaited<ReturnType<typeof scratchDatabases>>;

  beforeAll(async () => {
    scratch = await scratchDatabases(['olap'], 'parts');
    await migrateTier('olap', scratch.urls.olap);
    ft = await openTestFivetier({ tiers: { olap: { url: scratch.urls.olap } } });
  });
  afterAll(async () => {
    await ft?.close();
    await scratch?.drop();
  });

  /** Every partition in the database: name -> "parent [from, to)" (bounds as PostgreSQL prints them). */
  async function partitions(): Promise<Map<string, string>> {
    const { rows } = await ft.olap.withMaintenance((c) =>
      c.query<{ name: string; parent: string; bound: string }>(
        `select c.relname as name, p.relname as parent, pg_get_expr(c.relpartbound, c.oid) as bound
           from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
          where p.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')`,
      ),
    );
    return new Map(rows.map((r) => [r.name, `${r.parent} ${r.bound}`]));
  }

  /** The partition that holds a tenant's rows of `table`, read as maintenance. */
  async function whereRowsLive(table: string, tenantId: string): Promise<string[]> {
    const { rows } = await ft.olap.withMaintenance((c) => c.query<{ part: string }>(`select tableoid::regclass::text as part from public.${table} where tenant_id = $1`, [tenantId]));
    return rows.map((r) => r.part);
  }

  it('knows every partitioned table of the schema', async () => {
    const { rows } = await ft.olap.withMaintenance((c) => c.query<{ relname: string }>(`select relname from pg_class where relkind = 'p' and relnamespace = 'public'::regnamespace order by 1`));
    expect(rows.map((r) => r.relname)).toEqual([...OLAP_PARTITIONED_TABLES].sort());
  });

  it('creates the current month and N months ahead for every partitioned table, idempotently', async () => {
    const first = await ensureOlapPartitions(ft, { monthsAhead: 2, now: NOW });
    expect(first).toHaveLength(OLAP_PARTITIONED_TABLES.length * 3);
    expect(new Set(first.map((p) => p.status))).toEqual(new Set(['created']));
    const parts = await partitions();
    for (const table of OLAP_PARTITIONED_TABLES) {
      const audit = table === 'admin_audit_log';
      for (const [from, to] of [['2026-06-01', '2026-07-01'], ['2026-07-01', '2026-08-01'], ['2026-08-01', '2026-09-01']] as const) {
        const name = `${table}_p${from.replaceAll('-', '')}`;
        const bound = audit ? `FOR VALUES FROM ('${from} 00:00:00+00') TO ('${to} 00:00:00+00')` : `FOR VALUES FROM ('${from}') TO ('${to}')`;
        expect(parts.get(name), name).toBe(`${table} ${bound}`);
      }
    }
    // Only the RLS-protected parents are reachable for the runtime role.
    const granted = await ft.olap.withMaintenance((c) =>
      c.query<{ n: number }>(`select count(*)::int as n from unnest($1::text[]) as t(name) where has_table_privilege('fivetier_app', 'public.' || t.name, 'SELECT,INSERT,UPDATE,DELETE')`, [first.map((p) => p.partition)]),
    );
    expect(granted.rows[0]!.n).toBe(0);

    const again = await ensureOlapPartitions(ft, { monthsAhead: 2, now: NOW });
    expect(again.map((p) => [p.partition, p.status])).toEqual(first.map((p) => [p.partition, 'existing']));
    expect(await partitions()).toEqual(parts);
  });

  it('two calls at once create each partition once, and both succeed', async () => {
    const now = new Date('2027-03-10T00:00:00Z');
    const [a, b] = await Promise.all([ensureOlapPartitions(ft, { monthsAhead: 1, now }), ensureOlapPartitions(ft, { monthsAhead: 1, now })]);
    expect(a.map((p) => p.partition)).toEqual(b.map((p) => p.partition));
    const parts = await partitions();
    for (const table of OLAP_PARTITIONED_TABLES) {
      expect(parts.has(`${table}_p20270301`)).toBe(true);
      expect(parts.has(`${table}_p20270401`)).toBe(true);
    }
  });

  it('leaves a month alone that another partition covers in part, and says so', async () => {
    // A ten-day partition made by hand, through the same schema function.
    await ft.olap.withMaintenance((c) => c.query("select public.olap_ensure_partition('warmup_analytics', '2028-01-10', '2028-01-20')"));
    const result = await ensureOlapPartitions(ft, { monthsAhead: 0, now: new Date('2028-01-15T00:00:00Z') });
    expect(result.find((p) => p.table === 'warmup_analytics')).toEqual({ table: 'warmup_analytics', partition: 'warmup_analytics_p20280110', from: '2028-01-01', to: '2028-02-01', status: 'overlapping' });
    expect(result.filter((p) => p.status === 'created')).toHaveLength(OLAP_PARTITIONED_TABLES.length - 1);
    expect((await partitions()).has('warmup_analytics_p20280101')).toBe(false);
  });

  it('moves rows of a new partition\'s month out of the DEFAULT partition, keys included', async () => {
    const tenantId = newTenant();
    const campaignId = randomUUID();
    const e = sent(tenantId, campaignId, '2025-03-10T09:00:00Z');
    expect(await recordEvent(ft, e)).toBe(true);
    expect(await whereRowsLive('campaign_analytics', tenantId)).toEqual(['campaign_analytics_default']);
    expect(await whereRowsLive('processed_events', tenantId)).toEqual(['processed_events_default']);

    const made = await ensureOlapPartitions(ft, { monthsAhead: 0, now: new Date('2025-03-20T00:00:00Z') });
    expect(made.filter((p) => p.status === 'created')).toHaveLength(OLAP_PARTITIONED_TABLES.length);
    expect(await whereRowsLive('campaign_analytics', tenantId)).toEqual(['campaign_analytics_p20250301']);
    expect(await whereRowsLive('processed_events', tenantId)).toEqual(['processed_events_p20250301']);
    expect(await whereRowsLive('billing_analytics', tenantId)).toEqual(['billing_analytics_p20250301']);
    // The moved key still guards the event, and the moved counts still read.
    expect(await recordEvent(ft, e)).toBe(false);
    expect((await campaignStats(ft, tenantId, campaignId, { from: '2025-03-01', to: '2025-03-31' })).totals.sent).toBe(1);
  });

  it('drops partitions past retention, and the dry run reports the same list without dropping', async () => {
    // Seed old partitions: January and February 2023, with an event in them.
    await ensureOlapPartitions(ft, { monthsAhead: 1, now: new Date('2023-01-15T00:00:00Z') });
    const tenantId = newTenant();
    const campaignId = randomUUID();
    await recordEvent(ft, sent(tenantId, campaignId, '2023-01-10T12:00:00Z'));
    expect(await whereRowsLive('campaign_analytics', tenantId)).toEqual(['campaign_analytics_p20230101']);
    const before = await partitions();

    const dry = await dropOlapPartitions(ft, { dryRun: true, now: NOW });
    // Defaults: analytics keep 24 months before the current one, the audit log 84.
    expect(dry).toMatchObject({ dryRun: true, olderThan: '2024-06-01', auditLogOlderThan: '2019-06-01' });
    const expected = OLAP_PARTITIONED_TABLES.filter((t) => t !== 'admin_audit_log').flatMap((t) => [`${t}_p20230101`, `${t}_p20230201`]);
    expect(dry.dropped.map((p) => p.partition).sort()).toEqual(expected.sort());
    expect(dry.dropped.find((p) => p.partition === 'campaign_analytics_p20230101')).toEqual({
      table: 'campaign_analytics', partition: 'campaign_analytics_p20230101', from: new Date('2023-01-01T00:00:00Z'), to: new Date('2023-02-01T00:00:00Z'),
    });
    expect(await partitions()).toEqual(before);

    const real = await dropOlapPartitions(ft, { now: NOW });
    expect(real.dryRun).toBe(false);
    expect(real.dropped).toEqual(dry.dropped);
    const after = await partitions();
    for (const name of expected) expect(after.has(name), name).toBe(false);
    expect([...after.keys()].sort()).toEqual([...before.keys()].filter((n) => !expected.includes(n)).sort());
    expect(after.has('campaign_analytics_p20260601')).toBe(true);
    expect(after.has('admin_audit_log_p20230101')).toBe(true);
    expect((await campaignStats(ft, tenantId, campaignId, { from: '2023-01-01', to: '2023-01-31' })).days).toEqual([]);

    // Nothing left past retention; the audit log goes by its own cut-off.
    expect((await dropOlapPartitions(ft, { dryRun: true, now: NOW })).dropped).toEqual([]);
    const audit = await dropOlapPartitions(ft, { auditLogOlderThan: '2023-03-01', now: NOW });
    expect(audit.dropped.map((p) => p.partition)).toEqual(['admin_audit_log_p20230101', 'admin_audit_log_p20230201']);
  });

  it('EXPLAIN of the campaign stats query over one week touches only that week\'s partitions', async () => {
    await ensureOlapPartitions(ft, { monthsAhead: 3, now: NOW });
    const tenantId = newTenant();
    const campaignId = randomUUID();
    for (const day of ['2026-06-20', '2026-07-08', '2026-07-30', '2026-08-02', '2026-09-01']) await recordEvent(ft, sent(tenantId, campaignId, `${day}T08:00:00Z`));
    const all = [...(await partitions()).entries()].filter(([, v]) => v.startsWith('campaign_analytics ')).map(([k]) => k);
    expect(all).toContain('campaign_analytics_default');

    const weeks: Array<[string, string, string[]]> = [
      ['2026-07-06', '2026-07-12', ['campaign_analytics_p20260701']],
      ['2026-07-27', '2026-08-02', ['campaign_analytics_p20260701', 'campaign_analytics_p20260801']],
    ];
    for (const [from, to, touched] of weeks) {
      const plan = await ft.olap.withTenant(tenantId, (c) => c.query<{ 'QUERY PLAN': string }>({ text: `explain ${CAMPAIGN_DAYS_SQL}`, values: [tenantId, campaignId, from, to] }));
      const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
      for (const name of touched) expect(text, `${from}..${to}`).toContain(name);
      // \b: campaign_analytics_p20260701 must not match inside another name
      for (const name of all.filter((n) => !touched.includes(n))) expect(text, `${from}..${to}`).not.toMatch(new RegExp(`\\b${name}\\b`));
    }
    const stats = await campaignStats(ft, tenantId, campaignId, { from: '2026-07-27', to: '2026-08-02' });
    expect(stats.days.map((d) => d.day)).toEqual(['2026-07-30', '2026-08-02']);
    expect(stats.totals.sent).toBe(2);
  });

  it('rejects bad options with FT_ERR_INPUT_INVALID naming them', async () => {
    await expect(ensureOlapPartitions(ft, { monthsAhead: -1 })).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID', message: expect.stringMatching(/^monthsAhead/) });
    await expect(ensureOlapPartitions(ft, { monthsAhead: 1.5 })).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID', message: expect.stringMatching(/^monthsAhead/) });
    await expect(dropOlapPartitions(ft, { olderThan: 'last year' })).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID', message: expect.stringMatching(/^olderThan must be a UTC day/) });
    // The current month's partitions can never go.
    await expect(dropOlapPartitions(ft, { olderThan: '2026-07-01', now: NOW })).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID', message: expect.stringMatching(/^olderThan \(2026-07-01\) must not be after the start of the current month \(2026-06-01\)/) });
    await expect(dropOlapPartitions(ft, { auditLogOlderThan: '2026-06-02', now: NOW })).rejects.toMatchObject({ code: 'FT_ERR_INPUT_INVALID', message: expect.stringMatching(/^auditLogOlderThan/) });
    expect((await partitions()).has('campaign_analytics_p20260601')).toBe(true);
  });
});
