/**
 * The OLAP and Notifications upkeep the service runs on timers, beside the cross-tier
 * maintenance: OLAP partitions created ahead and old ones dropped by retention (daily), expired
 * notifications removed (hourly), retention per tier (daily, src/lifecycle/retention.ts), and
 * stale table statistics refreshed (every 5 s, src/ops/table-statistics.ts).
 * One log line per run with its counts.
 */
import { dropOlapPartitions, ensureOlapPartitions } from '../analytics/partitions.js';
import { recordMaintenanceRun } from '../lifecycle/maintenance-runs.js';
import { runRetention } from '../lifecycle/retention.js';
import { expireNotifications } from '../notifications/expiry.js';
import { startStatisticsUpkeep } from '../ops/table-statistics.js';
import type { Fivetier } from '../platform.js';
import { scheduledLoop } from './maintenance-schedule.js';

/** OLAP partition upkeep interval, in ms (1 day). */
export const PARTITIONS_INTERVAL_MS_DEFAULT = 24 * 60 * 60_000;
/** Notification expiry interval, in ms (1 hour). */
export const EXPIRY_INTERVAL_MS_DEFAULT = 60 * 60_000;
/** Retention interval, in ms (1 day). */
export const RETENTION_INTERVAL_MS_DEFAULT = 24 * 60 * 60_000;
/** why: partitions ahead must not wait hours for a fresh service's first run */
const FIRST_RUN_MAX_DELAY_MS = 60_000;

export interface UpkeepOptions {
  log: (line: string) => void;
  partitionsIntervalMs?: number;
  expiryIntervalMs?: number;
  retentionIntervalMs?: number;
  /** How often stale table statistics are looked for, in ms (default 5 s). */
  statisticsIntervalMs?: number;
  /** Whether this instance runs the upkeep now (the leader among instances); default always. */
  isLeader?: () => boolean;
}

/** One run of the partition upkeep: months ahead created, then retention. Returns the log line. */
export async function olapPartitionUpkeep(ft: Pick<Fivetier, 'olap'>): Promise<string> {
  const ensured = await ensureOlapPartitions(ft);
  const created = ensured.filter((p) => p.status === 'created').length;
  const overlapping = ensured.filter((p) => p.status === 'overlapping').length;
  const retired = await dropOlapPartitions(ft);
  return `olap partitions: ${created} created, ${ensured.length - created - overlapping} existing, ${overlapping} overlapping; ${retired.dropped.length} dropped (analytics before ${retired.olderThan}, audit log before ${retired.auditLogOlderThan})`;
}

/** One retention run over every tier (config.retention), logged and recorded for `fivetier status`. Throws what runRetention throws. */
export async function retentionUpkeep(ft: Fivetier, log: (line: string) => void): Promise<void> {
  const startedAt = new Date();
  try {
    const r = await runRetention(ft, { maxIds: 0 });
    const counts = Object.fromEntries(r.rules.map((x) => [x.rule, x.count]));
    log(`retention: ${r.total} removed (${r.rules.map((x) => `${x.rule} ${x.count}`).join(', ')}) in ${r.durationMs} ms`);
    await recordMaintenanceRun(ft, 'retention', startedAt, true, { total: r.total, counts }, log);
  } catch (err) {
    await recordMaintenanceRun(ft, 'retention', startedAt, false, { error: (err as Error).message }, log);
    throw err;
  }
}

/** Start the upkeep loops. Never throws; `stop()` waits for a run in progress. */
export function startUpkeep(ft: Fivetier, options: UpkeepOptions): { stop: () => Promise<void> } {
  const { log } = options;
  const partitions = scheduledLoop('olap partitions', options.partitionsIntervalMs ?? PARTITIONS_INTERVAL_MS_DEFAULT, async () => log(await olapPartitionUpkeep(ft)), log, FIRST_RUN_MAX_DELAY_MS, options.isLeader);
  const expiry = scheduledLoop(
    'notification expiry',
    options.expiryIntervalMs ?? EXPIRY_INTERVAL_MS_DEFAULT,
    async () => {
      const r = await expireNotifications(ft);
      log(`notification expiry: ${r.count} expired notifications deleted in ${r.batches} batches`);
    },
    log,
    FIRST_RUN_MAX_DELAY_MS,
    options.isLeader,
  );
  const retention = scheduledLoop('retention', options.retentionIntervalMs ?? RETENTION_INTERVAL_MS_DEFAULT, () => retentionUpkeep(ft, log), log, Infinity, options.isLeader);
  partitions.start();
  expiry.start();
  retention.start();
  const statistics = startStatisticsUpkeep(ft, { log, intervalMs: options.statisticsIntervalMs, isLeader: options.isLeader });
  return {
    stop: async () => {
      await Promise.all([partitions.stop(), expiry.stop(), retention.stop(), statistics.stop()]);
    },
  };
}
