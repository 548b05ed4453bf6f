/**
 * The eight delivery counters every OLAP fact table shares (the digest's [M] columns), in one
 * fixed order. Fact upserts take one integer array per counter in this order.
 */
export const METRIC_COLUMNS = ['sent', 'delivered', 'opened_tracked', 'clicked_tracked', 'replied', 'bounced', 'unsubscribed', 'spam_complaints'] as const;
export type MetricColumn = (typeof METRIC_COLUMNS)[number];

/** One value per counter, in METRIC_COLUMNS order. */
export type MetricCounts = Record<MetricColumn, number>;

/**
 * The text of an upsert that adds counters to the daily rows of a fact table. `keyColumns` are
 * the primary key (tenant first, period_start last); `extraColumns` are nullable uuid columns kept
 * when the new value is null. Parameters: one uuid[] / date[] per key column, one uuid[] per extra
 * column, then one integer[] per counter, all of the same length, with no key twice.
 * why: a builder, so the four fact tables' statements cannot drift apart in how they add.
 */
export function factUpsertSql(table: string, keyColumns: readonly { name: string; type: 'uuid' | 'date' }[], extraColumns: readonly string[]): string {
  const columns = [...keyColumns.map((k) => k.name), ...extraColumns, ...METRIC_COLUMNS];
  const types = [...keyColumns.map((k) => k.type), ...extraColumns.map(() => 'uuid'), ...METRIC_COLUMNS.map(() => 'integer')];
  const params = types.map((t, i) => `$${i + 1}::${t}[]`).join(', ');
  const sets = [
    ...extraColumns.map((c) => `${c} = coalesce(excluded.${c}, t.${c})`),
    ...METRIC_COLUMNS.map((m) => `${m} = t.${m} + excluded.${m}`),
    'updated_at = now()',
  ];
  return `insert into public.${table} as t (${columns.join(', ')})
          select * from unnest(${params})
          on conflict (${keyColumns.map((k) => k.name).join(', ')}) do update set ${sets.join(', ')}`;
}
