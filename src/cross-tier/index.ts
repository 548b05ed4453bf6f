/**
 * Cross-tier writes: the DatabaseTransaction protocol, sendEmail, orphan cleanup, the outbox
 * relay, the orphan sweeper and the consistency checker. See docs/cross-tier.md.
 */
export { newStorageKey, isStorageKey, STORAGE_KEY_BYTES } from './storage-key.js';
export { setDefaultFivetier } from './default-fivetier.js';
export { DatabaseTransaction, JOB_TYPE_QUEUES, type DatabaseTransactionOptions, type ProtocolStep, type QueueInsert } from './database-transaction.js';
export { cleanupOrphanedData, type CleanupResult } from './orphan-cleanup.js';
export { sendEmail, createSendEmail, type EmailData, type SentEmail } from './send-email.js';
export { OutboxRelay, relayOutbox, relayBatch, queueForOutboxRow, type OutboxRelayOptions, type RelayResult } from './outbox-relay.js';
export { sweepOrphans, SWEEP_GRACE_SECONDS_DEFAULT, type SweepOptions, type SweepResult } from './orphan-sweeper.js';
export { checkConsistency, type CheckOptions, type CheckReport, type Invariant } from './consistency-checker.js';
export { startCrossTierServices, SWEEP_INTERVAL_MS_DEFAULT, CHECK_INTERVAL_MS_DEFAULT, type CrossTierServiceOptions } from './maintenance-schedule.js';
