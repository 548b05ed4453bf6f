/**
 * fivetier's library entry: configuration, the five tier clients, the migrator and the errors.
 */
export { loadConfig, embeddedTiers, KNOWN_ENV, type FivetierConfig, type TierConfig, type ConfigOverrides } from './config/config.js';
export { POOL_DEFAULTS, type PoolSettings } from './config/defaults.js';
export { Fivetier, openFivetier, type OpenOptions } from './platform.js';
export { TierClient, roleUrl, type TierHealth, type TxClient } from './tiers/tier-client.js';
export { migrateTier, migrateTiers, type MigrateResult, type MigrateOptions } from './migrate/migrator.js';
export { FivetierError, isFivetierError, errorCodes, type ErrorCode } from './errors/codes.js';
export { checkHealth, type HealthReport } from './ops/health.js';
export { buildServer } from './api/server.js';
export { TIER_NAMES, ROLES, SYSTEM_TENANT_ID, EMBEDDED_DATABASE_NAMES, isUuid, type TierName } from './types.js';
export * from './cross-tier/index.js';
export { recordAdminEvent, type AdminEvent } from './tiers/notifications/admin-events.js';
export { JobWorker, type JobHandler, type JobContext, type WorkerOptions, type DispatchMode } from './queue/worker.js';
export { enqueue, enqueueWith, type JobSpec } from './queue/enqueue.js';
export { retryJob, deleteJob, cancelJob, pauseQueue, resumeQueue, ensureQueue, listQueues, listDeadJobs, queueStats, getJob } from './queue/operator.js';
export { JOB_STATES, laneOf, timeoutFor, type JobState, type JobRow, type Lane } from './queue/job-states.js';
export { backoffSeconds } from './queue/retry.js';
