/**
 * The last run of each maintenance task (Notifications tier, `maintenance_runs`), for
 * `fivetier status` and the dashboard: when it ran, whether it succeeded, and its counts.
 */
import type { CheckReport } from '../cross-tier/consistency-checker.js';
import type { Fivetier } from '../platform.js';
import { maintenanceRunRecord, maintenanceRunsList, type MaintenanceRunRow } from '../tiers/notifications/queries/lifecycle.js';

export type { MaintenanceRunRow } from '../tiers/notifications/queries/lifecycle.js';

/** Record a task's run (counts only, never personal data). Never throws: a Notifications outage must not fail the task. */
export async function recordMaintenanceRun(ft: Pick<Fivetier, 'notifications'>, task: string, startedAt: Date, ok: boolean, summary: Record<string, unknown>, log?: (line: string) => void): Promise<void> {
  try {
    await ft.notifications.withMaintenance((c) => maintenanceRunRecord(c, { task, startedAt, ok, summary }));
  } catch (err) {
    log?.(`${task}: its run was not recorded (${(err as Error).message})`);
  }
}

/** The last run of every task. Throws FT_ERR_TIER_UNAVAILABLE when Notifications is down. */
export function lastMaintenanceRuns(ft: Pick<Fivetier, 'notifications'>): Promise<MaintenanceRunRow[]> {
  return ft.notifications.withMaintenance((c) => maintenanceRunsList(c));
}

/** Record a consistency check's run under `consistency-check` (counts only), as `fivetier check` and the service's hourly check do. Never throws. */
export function recordCheckRun(ft: Pick<Fivetier, 'notifications'>, startedAt: Date, report: CheckReport, log?: (line: string) => void): Promise<void> {
  const findings = Object.fromEntries(Object.entries(report.findings).map(([k, f]) => [k, f.count]));
  return recordMaintenanceRun(ft, 'consistency-check', startedAt, report.clean, { clean: report.clean, tenantId: report.tenantId, scanned: report.scanned, findings }, log);
}
