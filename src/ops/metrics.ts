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
export const tierUp = new Gauge({
  name: 'fivetier_tier_up',
  help: '1 when the tier answered its last health check, 0 when not',
  labelNames: ['tier'] as const,
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
