/**
 * OLAP partition upkeep: monthly partitions created ahead of time, and retention that drops
 * whole partitions. Both run as fivetier_maintenance through the schema's two SECURITY DEFINER
 * functions (olap_ensure_partition, olap_retire_partitions): partition DDL needs the tables'
 * owner, and those functions are the only DDL the maintenance role may run, on a fixed list of
 * tables. No admin URL and no owner login is needed.
 */
import { FivetierError } from '../errors/codes.js';
import type { Fivetier } from '../platform.js';
import { olapEnsurePartition, olapPartitionsOf, olapRetirePartitions } from '../tiers/olap/queries/partitions.js';
import { describe, toUtcDay, utcDay, utcMonthStart } from './utc-days.js';

/** Every partitioned OLAP table; the schema's partition functions accept exactly these. */
export const OLAP_PARTITIONED_TABLES = [
  'billing_analytics',
  'campaign_analytics',
  'mailbox_analytics',
  'lead_analytics',
  'warmup_analytics',
  'sequence_step_analytics',
  'processed_events',
  'admin_audit_log',
] as const;
export type OlapPartitionedTable = (typeof OLAP_PARTITIONED_TABLES)[number];

/** Months of partitions ensureOlapPartitions creates beyond the current one, by default. */
export const OLAP_MONTHS_AHEAD_DEFAULT = 3;
/** Retention of the analytics facts and their event keys, in whole months before the current one. */
export const OLAP_RETENTION_MONTHS_DEFAULT = 24;
/** Retention of admin_audit_log (compliance: seven years), in months before the current one. */
export const OLAP_AUDIT_RETENTION_MONTHS_DEFAULT = 84;

const ANALYTICS_TABLES = OLAP_PARTITIONED_TABLES.filter((t) => t !== 'admin_audit_log');

/** One monthly partition ensureOlapPartitions looked at. */
export interface EnsuredPartition {
  table: OlapPartitionedTable;
  partition: string;
  /** First UTC day of the month, and first day of the next (exclusive). */
  from: string;
  to: string;
  /** created now; existing already; overlapping: another partition covers part of the month, so none was made. */
  status: 'created' | 'existing' | 'overlapping';
}

/** One partition retention dropped (or, in a dry run, would drop). */
export interface RetiredPartition {
  table: OlapPartitionedTable;
  partition: string;
  from: Date;
  to: Date;
}

export interface DropPartitionsResult {
  dryRun: boolean;
  /** Partitions of the analytics tables ending at or before this UTC day go. */
  olderThan: string;
  /** The same for admin_audit_log. */
  auditLogOlderThan: string;
  dropped: RetiredPartition[];
}

/**
 * Create the partition of the current UTC month and of the `monthsAhead` months after it
 * (default 3) for every partitioned OLAP table, unless it exists; rows of those months that sat
 * in a DEFAULT partition move into it. Idempotent, and safe beside a concurrent call (the schema
 * function locks the table before it looks). `now` fixes the current month (tests). Throws
 * FT_ERR_INPUT_INVALID for a bad monthsAhead, FT_ERR_TIER_UNAVAILABLE when OLAP is down.
 */
export async function ensureOlapPartitions(ft: Pick<Fivetier, 'olap'>, options: { monthsAhead?: number; now?: Date } = {}): Promise<EnsuredPartition[]> {
  const monthsAhead = options.monthsAhead ?? OLAP_MONTHS_AHEAD_DEFAULT;
  if (!(Number.isInteger(monthsAhead) && monthsAhead >= 0 && monthsAhead <= 120)) {
    throw new FivetierError('FT_ERR_INPUT_INVALID', [`monthsAhead must be an integer 0..120, got ${describe(monthsAhead)}`]);
  }
  const now = options.now ?? new Date();
  const existing = await ft.olap.withMaintenance((c) => olapPartitionsOf(c, OLAP_PARTITIONED_TABLES));
  const result: EnsuredPartition[] = [];
  for (const table of OLAP_PARTITIONED_TABLES) {
    const mine = existing.filter((p) => p.parent === table && p.range_from && p.range_to);
    for (let i = 0; i <= monthsAhead; i++) {
      const start = utcMonthStart(now, i);
      const end = utcMonthStart(now, i + 1);
      const from = utcDay(start);
      const to = utcDay(end);
      const same = mine.find((p) => p.range_from!.getTime() === start.getTime() && p.range_to!.getTime() === end.getTime());
      if (same) {
        result.push({ table, partition: same.partition, from, to, status: 'existing' });
        continue;
      }
      const overlap = mine.find((p) => p.range_from!.getTime() < end.getTime() && p.range_to!.getTime() > start.getTime());
      if (overlap) {
        result.push({ table, partition: overlap.partition, from, to, status: 'overlapping' });
        continue;
      }
      // why: one transaction per partition keeps the table's lock short for concurrent writers
      const partition = await ft.olap.withMaintenance((c) => olapEnsurePartition(c, table, from, to));
      result.push({ table, partition, from, to, status: 'created' });
    }
  }
  return result;
}

/**
 * Retention: drop every partition of the analytics tables (facts and processed_events) whose
 * range ends at or before `olderThan` (default: the start of the UTC month
 * OLAP_RETENTION_MONTHS_DEFAULT months before the current one), and of admin_audit_log before
 * `auditLogOlderThan` (default OLAP_AUDIT_RETENTION_MONTHS_DEFAULT months). Whole partitions only:
 * rows are never deleted one by one, and DEFAULT partitions stay. With `dryRun`, reports the same
 * list and drops nothing. Cut-offs after the start of the current month are refused, so the
 * current and future partitions can never go. Throws FT_ERR_INPUT_INVALID naming the bad
 * option, FT_ERR_TIER_UNAVAILABLE when OLAP is down.
 */
export async function dropOlapPartitions(
  ft: Pick<Fivetier, 'olap'>,
  options: { olderThan?: string | Date; auditLogOlderThan?: string | Date; dryRun?: boolean; now?: Date } = {},
): Promise<DropPartitionsResult> {
  const now = options.now ?? new Date();
  const thisMonth = utcDay(utcMonthStart(now));
  const olderThan = options.olderThan === undefined ? utcDay(utcMonthStart(now, -OLAP_RETENTION_MONTHS_DEFAULT)) : toUtcDay(options.olderThan, 'olderThan');
  const auditLogOlderThan = options.auditLogOlderThan === undefined ? utcDay(utcMonthStart(now, -OLAP_AUDIT_RETENTION_MONTHS_DEFAULT)) : toUtcDay(options.auditLogOlderThan, 'auditLogOlderThan');
  for (const [field, day] of [['olderThan', olderThan], ['auditLogOlderThan', auditLogOlderThan]] as const) {
    if (day > thisMonth) throw new FivetierError('FT_ERR_INPUT_INVALID', [`${field} (${day}) must not be after the start of the current month (${thisMonth})`]);
  }
  const dryRun = options.dryRun === true;
  const dropped: RetiredPartition[] = [];
  for (const table of OLAP_PARTITIONED_TABLES) {
    const cutoff = (ANALYTICS_TABLES as readonly string[]).includes(table) ? olderThan : auditLogOlderThan;
    // why: one transaction per table; a DROP holds the table's exclusive lock until commit
    const rows = await ft.olap.withMaintenance((c) => olapRetirePartitions(c, table, cutoff, dryRun));
    for (const r of rows) dropped.push({ table, partition: r.partition_name, from: r.range_from, to: r.range_to });
  }
  return { dryRun, olderThan, auditLogOlderThan, dropped };
}
