/**
 * Analytics in the OLAP tier: delivery events counted once into the daily aggregates, the
 * dashboard reads, and partition upkeep. See docs/analytics.md.
 */
export { recordEvent, recordEvents, RECORD_BATCH_MAX, type RecordResult } from './record-events.js';
export { DELIVERY_EVENT_TYPES, analyticsEventId, type DeliveryEvent, type DeliveryEventType } from './events.js';
export { campaignStats, tenantUsage, CAMPAIGN_STATS_MAX_DAYS, type CampaignStats, type TenantUsage } from './stats.js';
export {
  ensureOlapPartitions,
  dropOlapPartitions,
  OLAP_PARTITIONED_TABLES,
  OLAP_MONTHS_AHEAD_DEFAULT,
  OLAP_RETENTION_MONTHS_DEFAULT,
  OLAP_AUDIT_RETENTION_MONTHS_DEFAULT,
  type EnsuredPartition,
  type RetiredPartition,
  type DropPartitionsResult,
} from './partitions.js';
export type { MetricCounts } from '../tiers/olap/queries/fact-metrics.js';
