/**
 * One snapshot of everything the operations dashboard shows, assembled from the platform and the
 * service's own figures: each tier's health and circuit, pool use and latency, the queue (depth,
 * states, dead letters, processed and failed counts), the outbox backlog and age, the last
 * maintenance runs (consistency check included), the alerts firing and the top tenants. A part
 * whose tier is down says so instead of failing the whole snapshot. Never throws.
 *
 * Maintenance comes from two places: the runs of this process (live, with the one in progress),
 * and the last run of each task recorded in the Notifications tier by whichever instance ran it,
 * so an instance that does not lead maintenance still shows when the tiers were last checked.
 */
import { lastMaintenanceRuns, type MaintenanceRunRow } from '../lifecycle/maintenance-runs.js';
import type { Fivetier } from '../platform.js';
import { outboxBacklog } from '../tiers/oltp/queries/outbox.js';
import { jobCountByQueueStatus } from '../tiers/queue/queries/jobs.js';
import { TIER_NAMES, type TierName } from '../types.js';
import type { AlertFinding } from './alerts.js';
import { opsOf } from './attached.js';
import { checkHealth } from './health.js';
import { maintenanceRunsOfThisProcess, type MaintenanceRun } from './maintenance-runs.js';
import { consistencyFindings, jobsFailed, jobsProcessed, queryDuration } from './metrics.js';
import type { TenantFigures } from './tenant-performance.js';

export interface TierSnapshot {
  tier: TierName;
  status: 'up' | 'down';
  circuit: 'open' | 'closed';
  error?: string;
  /** Round trip of the health check, in ms. */
  latencyMs?: number;
  pool: { total: number; idle: number; waiting: number; max: number };
  /** Transactions run on the tier by this process so far, and their total time (for rates and means). */
  calls: number;
  callSeconds: number;
}

/** A part that could not be read: why. */
export interface Unavailable {
  unavailable: string;
}

export interface OpsSnapshot {
  at: string;
  status: 'up' | 'degraded' | 'down';
  instance: { pid: number; leader: boolean | null };
  tiers: TierSnapshot[];
  redis: { status: 'up' | 'down' } | null;
  queue:
    | {
        /** Jobs per queue and state (queued, running, completed, dead, ...). */
        byQueue: Record<string, Record<string, number>>;
        ready: number;
        running: number;
        deadLetters: number;
      }
    | Unavailable;
  /** Jobs completed and failed attempts in this process so far, per queue (counters). */
  jobs: { processed: Record<string, number>; failed: Record<string, number> };
  outbox: { backlog: number; oldestAgeSeconds: number } | Unavailable;
  /** The last consistency check: this process's, else the one recorded by the instance that ran it. */
  consistency: { lastRun: MaintenanceRun | null; findings: Record<string, number> | null };
  /** The runs of this process, most recent first (one in progress has no endedAt). */
  maintenance: MaintenanceRun[];
  /** The last recorded run of each task, by any instance (Notifications tier). */
  recorded: RecordedRun[] | Unavailable;
  alerts: AlertFinding[] | null;
  topTenants: { byVolume: TenantFigures[]; byLatency: TenantFigures[] };
}

/** One task's last successful run as recorded in the Notifications tier. */
export interface RecordedRun {
  task: string;
  startedAt: Date;
  endedAt: Date;
  /** For a consistency check: clean. For the other tasks: true. */
  ok: boolean;
  /** Counts only (what the task reported). */
  summary: Record<string, unknown>;
}

const recordedRun = (r: MaintenanceRunRow): RecordedRun => ({ task: r.task, startedAt: r.started_at, endedAt: r.finished_at, ok: r.ok, summary: r.summary });

/** The consistency check as the dashboard shows it, from this process's run or else from the record. */
function lastConsistencyCheck(local: MaintenanceRun | undefined, localFindings: Record<string, number>, recorded: RecordedRun[] | Unavailable): OpsSnapshot['consistency'] {
  const findingsOrNull = (f: Record<string, number>) => (Object.keys(f).length > 0 ? f : null);
  if (local) return { lastRun: local, findings: findingsOrNull(localFindings) };
  const run = 'unavailable' in recorded ? undefined : recorded.find((r) => r.task === 'consistency-check');
  if (!run) return { lastRun: null, findings: null };
  const counts = (run.summary.findings ?? {}) as Record<string, unknown>;
  const findings = Object.fromEntries(Object.entries(counts).filter((e): e is [string, number] => typeof e[1] === 'number' && e[1] > 0));
  return { lastRun: { task: 'consistency check', startedAt: run.startedAt, endedAt: run.endedAt, result: 'ok' }, findings: findingsOrNull(findings) };
}

async function counterByLabel(metric: { get(): Promise<{ values: ReadonlyArray<{ value: number; labels: object }> }> }, label: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metric.get()).values) {
    const key = String((v.labels as Record<string, unknown>)[label]);
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}

const why = (err: unknown): Unavailable => ({ unavailable: (err as Error)?.message ?? String(err) });

/** Assemble the dashboard's snapshot. Never throws. */
export async function opsSnapshot(ft: Fivetier, options: { topTenants?: number } = {}): Promise<OpsSnapshot> {
  const top = options.topTenants ?? 8;
  const ops = opsOf(ft);
  const [health, queueRows, outbox, durations, processed, failed, findings, recordedRows] = await Promise.all([
    checkHealth(ft),
    ft.queue.withWorker((c) => jobCountByQueueStatus(c), { ownStatementsOnly: true }).catch(why),
    ft.oltp.withWorker(async (c) => { const b = await outboxBacklog(c); return { backlog: b.count, oldestAgeSeconds: b.oldestAgeSeconds }; }, { ownStatementsOnly: true }).catch(why),
    queryDuration.get(),
    counterByLabel(jobsProcessed, 'queue'),
    counterByLabel(jobsFailed, 'queue'),
    counterByLabel(consistencyFindings, 'invariant'),
    lastMaintenanceRuns(ft).catch(why),
  ]);

  const calls = new Map<string, { count: number; sum: number }>();
  for (const v of durations.values) {
    const tier = String((v.labels as Record<string, unknown>).tier);
    const e = calls.get(tier) ?? { count: 0, sum: 0 };
    if (v.metricName?.endsWith('_count')) e.count = v.value;
    else if (v.metricName?.endsWith('_sum')) e.sum = v.value;
    calls.set(tier, e);
  }
  const tiers = TIER_NAMES.map((tier): TierSnapshot => {
    const h = health.tiers[tier];
    const client = ft.tiers[tier];
    return {
      tier,
      status: h.status,
      circuit: h.circuit,
      ...(h.error !== undefined ? { error: h.error } : {}),
      ...(h.latencyMs !== undefined ? { latencyMs: h.latencyMs } : {}),
      pool: { ...client.poolStats(), max: client.config.pool.max },
      calls: calls.get(tier)?.count ?? 0,
      callSeconds: calls.get(tier)?.sum ?? 0,
    };
  });

  let queue: OpsSnapshot['queue'];
  if ('unavailable' in queueRows) queue = queueRows;
  else {
    const byQueue: Record<string, Record<string, number>> = {};
    let ready = 0;
    let running = 0;
    let deadLetters = 0;
    for (const r of queueRows) {
      (byQueue[r.queue_name] ??= {})[r.status] = r.n;
      if (r.status === 'queued') ready += r.n;
      else if (r.status === 'running' || r.status === 'dispatched') running += r.n;
      else if (r.status === 'dead') deadLetters += r.n;
    }
    queue = { byQueue, ready, running, deadLetters };
  }

  const maintenance = maintenanceRunsOfThisProcess();
  const recorded = 'unavailable' in recordedRows ? recordedRows : recordedRows.map(recordedRun);
  return {
    at: new Date().toISOString(),
    status: health.status,
    instance: { pid: process.pid, leader: ops.isLeader ? ops.isLeader() : null },
    tiers,
    redis: health.redis ?? null,
    queue,
    jobs: { processed, failed },
    outbox,
    consistency: lastConsistencyCheck(maintenance.find((r) => r.task === 'consistency check'), findings, recorded),
    maintenance,
    recorded,
    alerts: ops.firingAlerts ? ops.firingAlerts() : null,
    topTenants: { byVolume: ft.tenantPerformance.top(top, 'volume'), byLatency: ft.tenantPerformance.top(top, 'latency') },
  };
}
