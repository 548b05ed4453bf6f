export { runRetention, retentionRules, RETENTION_RULE_NAMES, RETENTION_DEFAULTS, RETENTION_BATCH_SIZE_DEFAULT, RETENTION_MAX_IDS_DEFAULT, type RetentionOptions, type RetentionReport, type RuleReport, type RetentionRuleName, type RetentionSettings } from './retention.js';
export { eraseRecipient, eraseTenant, ERASURE_STEPS, ERASURE_BATCH_SIZE_DEFAULT, ERASURE_REDIS_PREFIX_DEFAULT, ERASED, type EraseOptions, type ErasureReport, type ErasureStep } from './erasure.js';
export { scrubRedis, type RedisScrubResult } from './redis-scrub.js';
export { recordMaintenanceRun, lastMaintenanceRuns, type MaintenanceRunRow } from './maintenance-runs.js';
