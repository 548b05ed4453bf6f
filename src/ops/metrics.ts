import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * fivetier's Prometheus metrics, on one registry served at `/metrics`. No tenant id is ever a
 * label (unbounded cardinality); per-tenant figures are kept as data instead.
 * docs/metrics.md lists every metric.
 */
export const registry = new Registry();

// Tiers
export const queryDuration = new Histogram({
  name: 'fivetier_query_duration_seconds',
  help: 'Duration of fivetier transactions per tier',
  labelNames: ['tier'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});
export const poolConnections = new Gauge({
  name: 'fivetier_pool_connections',
  help: 'Runtime pool connections per tier and state (total, idle, waiting)',
  labelNames: ['tier', 'state'] as const,
  registers: [registry],
});
export const poolMax = new Gauge({
  name: 'fivetier_pool_max_connections',
  help: 'Most connections the runtime pool of each tier may open (its capacity)',
  labelNames: ['tier'] as const,
  registers: [registry],
});
export const tierCircuitOpen = new Gauge({
  name: 'fivetier_tier_circuit_open',
  help: "1 while a tier's circuit is open (its watchdog found it down or it waits to be migrated: calls fail at once), 0 while closed",
  labelNames: ['tier'] as const,
  registers: [registry],
});
export const tierUp = new Gauge({
  name: 'fivetier_tier_up',
  help: '1 when the tier answered its last health check, 0 when not',
  labelNames: ['tier'] as const,
  registers: [registry],
});

// Alerts
export const alertsFiring = new Gauge({
  name: 'fivetier_alerts_firing',
  help: 'Alerts the service evaluates as firing now, per alert',
  labelNames: ['alert'] as const,
  registers: [registry],
});

// Queue
export const queueDepth = new Gauge({
  name: 'fivetier_queue_depth',
  help: 'Ready jobs per queue and priority lane (high <= 50, normal 51-150, low > 150)',
  labelNames: ['queue', 'lane'] as const,
  registers: [registry],
});
export const queueOldestReadyAge = new Gauge({
  name: 'fivetier_queue_oldest_ready_age_seconds',
  help: 'Age of the oldest job ready to run, per queue',
  labelNames: ['queue'] as const,
  registers: [registry],
});
export const jobsProcessed = new Counter({
  name: 'fivetier_jobs_processed_total',
  help: 'Jobs that completed, per queue',
  labelNames: ['queue'] as const,
  registers: [registry],
});
export const jobsFailed = new Counter({
  name: 'fivetier_jobs_failed_total',
  help: 'Job attempts that failed (retried or dead-lettered), per queue',
  labelNames: ['queue'] as const,
  registers: [registry],
});
export const jobDuration = new Histogram({
  name: 'fivetier_job_duration_seconds',
  help: 'Handler run time per queue',
  labelNames: ['queue'] as const,
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 120, 300],
  registers: [registry],
});

// Cross-tier
export const outboxBacklog = new Gauge({
  name: 'fivetier_outbox_backlog',
  help: 'Outbox rows not yet relayed into the queue tier',
  registers: [registry],
});
export const outboxOldestAge = new Gauge({
  name: 'fivetier_outbox_oldest_age_seconds',
  help: 'Age of the oldest outbox row not yet relayed',
  registers: [registry],
});
export const consistencyFindings = new Gauge({
  name: 'fivetier_consistency_findings',
  help: 'Inconsistencies the last consistency check found, per invariant (I1, I2, I3)',
  labelNames: ['invariant'] as const,
  registers: [registry],
});
export const consistencyRuns = new Counter({
  name: 'fivetier_consistency_check_runs_total',
  help: 'Consistency check runs, by result (clean, findings, error)',
  labelNames: ['result'] as const,
  registers: [registry],
});

// Dead letters and dispatch
export const queueDeadLetters = new Gauge({
  name: 'fivetier_queue_dead_letters',
  help: 'Jobs in the dead letter (attempts exhausted), per queue; sampled by the instance that evaluates alerts',
  labelNames: ['queue'] as const,
  registers: [registry],
});
/** Registered on first use (`setRedisUp`): a service without Redis has no such series. */
const redisUp = new Gauge({
  name: 'fivetier_redis_up',
  help: "1 while the queue tier's Redis answers, 0 while workers dispatch from PostgreSQL alone because it does not",
  registers: [],
});

/** Set `fivetier_redis_up`, registering it the first time. */
export function setRedisUp(up: boolean): void {
  if (!registry.getSingleMetric('fivetier_redis_up')) registry.registerMetric(redisUp);
  redisUp.set(up ? 1 : 0);
}

// Maintenance
export const maintenanceRuns = new Counter({
  name: 'fivetier_maintenance_runs_total',
  help: 'Scheduled maintenance runs in this instance, per task and result (ok, error)',
  labelNames: ['task', 'result'] as const,
  registers: [registry],
});
export const maintenanceRunning = new Gauge({
  name: 'fivetier_maintenance_running',
  help: '1 while this instance runs the maintenance task',
  labelNames: ['task'] as const,
  registers: [registry],
});
export const maintenanceLastRun = new Gauge({
  name: 'fivetier_maintenance_last_run_timestamp_seconds',
  help: 'When the maintenance task last finished in this instance (Unix time)',
  labelNames: ['task'] as const,
  registers: [registry],
});
export const leader = new Gauge({
  name: 'fivetier_maintenance_leader',
  help: '1 while this instance holds the maintenance leadership (runs sweep, check, upkeep and alerts)',
  registers: [registry],
});
