import type { TxClient } from '../../tier-client.js';

/** One partition of a partitioned OLAP table; bounds are null for the DEFAULT partition. */
export interface PartitionRow {
  parent: string;
  partition: string;
  range_from: Date | null;
  range_to: Date | null;
}

/**
 * The partitions of the given tables (catalog only, any role). Bounds are read in UTC, the time
 * zone the partition functions create them in. Throws what `pg` throws.
 */
export async function olapPartitionsOf(c: TxClient, parents: readonly string[]): Promise<PartitionRow[]> {
  const { rows } = await c.query<PartitionRow>({
    name: 'olapPartitionsOf',
    // why: a date bound prints as a bare day; read it as UTC midnight whatever the session's time zone
    text: `select p.relname as parent, c.relname as partition,
                  case when b.lo ~ '^\\d{4}-\\d{2}-\\d{2}$' then (b.lo || ' 00:00:00+00')::timestamptz else b.lo::timestamptz end as range_from,
                  case when b.hi ~ '^\\d{4}-\\d{2}-\\d{2}$' then (b.hi || ' 00:00:00+00')::timestamptz else b.hi::timestamptz end as range_to
             from pg_inherits i
             join pg_class c on c.oid = i.inhrelid
             join pg_class p on p.oid = i.inhparent
             cross join lateral (select (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\)'))[1] as lo,
                                        (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1] as hi) b
            where p.relnamespace = 'public'::regnamespace and p.relname = any($1::text[])
            order by p.relname, c.relname`,
    values: [parents],
  });
  return rows;
}

/**
 * Create the partition of `parent` for [from, to) (UTC days) unless it exists, moving rows of
 * that range out of the DEFAULT partition. Returns the partition's name. Runs the SECURITY
 * DEFINER function olap_ensure_partition, so the role must be fivetier_maintenance.
 * Throws what `pg` throws (a range that overlaps another partition among them).
 */
export async function olapEnsurePartition(c: TxClient, parent: string, from: string, to: string): Promise<string> {
  const { rows } = await c.query<{ name: string }>({
    name: 'olapEnsurePartition',
    text: 'select public.olap_ensure_partition($1, $2::date, $3::date) as name',
    values: [parent, from, to],
  });
  return rows[0]!.name;
}

/**
 * The partitions of `parent` whose upper bound is at or before `before` (a UTC day), oldest
 * first, dropped unless `dryRun`. Runs the SECURITY DEFINER function olap_retire_partitions
 * (fivetier_maintenance only). Throws what `pg` throws.
 */
export async function olapRetirePartitions(c: TxClient, parent: string, before: string, dryRun: boolean): Promise<Array<{ partition_name: string; range_from: Date; range_to: Date }>> {
  const { rows } = await c.query<{ partition_name: string; range_from: Date; range_to: Date }>({
    name: 'olapRetirePartitions',
    text: 'select partition_name, range_from, range_to from public.olap_retire_partitions($1, $2::date, $3)',
    values: [parent, before, dryRun],
  });
  return rows;
}
