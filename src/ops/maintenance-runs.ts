/**
 * A record of the scheduled maintenance this process runs (orphan sweep, consistency check,
 * partition upkeep, expiry): each task's last start, end and result, kept as data for the
 * dashboard and as metrics. With several instances only the leader runs these tasks, so the
 * leader's record is the one that moves. The record every instance and `fivetier status` read,
 * kept in the Notifications tier, is src/lifecycle/maintenance-runs.ts.
 */
import { maintenanceLastRun, maintenanceRuns, maintenanceRunning } from './metrics.js';

export interface MaintenanceRun {
  task: string;
  startedAt: Date;
  /** Undefined while the run is in progress. */
  endedAt?: Date;
  result?: 'ok' | 'error';
  error?: string;
}

const last = new Map<string, MaintenanceRun>();

/**
 * Run `fn` as one run of `task`, recorded (start, end, result) and logged as
 * `maintenance: <task> started` / `maintenance: <task> finished (ok|error) in N ms`. Rethrows
 * what `fn` throws.
 */
export async function timeMaintenanceRun<T>(task: string, fn: () => Promise<T>, log?: (line: string) => void): Promise<T> {
  const run: MaintenanceRun = { task, startedAt: new Date() };
  last.set(task, run);
  maintenanceRunning.set({ task }, 1);
  log?.(`maintenance: ${task} started`);
  try {
    const value = await fn();
    run.result = 'ok';
    return value;
  } catch (err) {
    run.result = 'error';
    run.error = (err as Error)?.message ?? String(err);
    throw err;
  } finally {
    run.endedAt = new Date();
    maintenanceRunning.set({ task }, 0);
    maintenanceRuns.inc({ task, result: run.result! });
    maintenanceLastRun.set({ task }, run.endedAt.getTime() / 1000);
    log?.(`maintenance: ${task} finished (${run.result}) in ${run.endedAt.getTime() - run.startedAt.getTime()} ms`);
  }
}

/** The last run of every task this process ran, most recent first. */
export function maintenanceRunsOfThisProcess(): MaintenanceRun[] {
  return [...last.values()].map((r) => ({ ...r })).sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime());
}
