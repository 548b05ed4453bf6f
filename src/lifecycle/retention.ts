/**
 * Retention per tier: what each tier keeps, for how long, and the run that removes the rest, in
 * small batches (one short transaction each, rows another transaction holds skipped) so that a
 * large backlog never holds locks on many rows or for long. A dry run walks the same rules with
 * the same cut-offs and reports, per rule, how many rows would go and their keys; a real run
 * given the dry run's `asOf` removes the same rows (rows written or changed in between aside).
 *
 * The rules, one table per tier (docs/lifecycle.md); the ages come from `config.retention`
 * (FIVETIER_RETENTION_*), the rest from the rows' own `expires_at`:
 * - queue: job logs, then completed and cancelled jobs, then dead jobs (a job's logs go with it);
 * - notifications: notifications past `expires_at`, admin system events;
 * - content: content past `expires_at` that no OLTP email references (I1: a referenced key is
 *   kept until its email goes);
 * - olap: whole monthly partitions of the facts and of the audit log;
 * - oltp: the API's send idempotency keys. OLTP is the system of record: its other rows go by
 *   erasure (erasure.ts), not by age.
 *
 * Existing pieces do the work where they exist: content expiry (src/content/expiry.ts),
 * notification expiry (src/notifications/expiry.ts) and the OLAP partition drop
 * (src/analytics/partitions.ts).
 */
import { dropOlapPartitions } from '../analytics/partitions.js';
import { utcDay, utcMonthStart } from '../analytics/utc-days.js';
import { RETENTION_DEFAULTS, type RetentionSettings } from '../config/defaults.js';
import { expireContent } from '../content/expiry.js';
import { FivetierError } from '../errors/codes.js';
import { expireNotifications } from '../notifications/expiry.js';
import type { Fivetier } from '../platform.js';
import { adminEventsDeleteBeforeBatch, adminEventsListBefore, notificationsListExpired } from '../tiers/notifications/queries/lifecycle.js';
import { sendIdempotencyKeysDeleteBeforeBatch, sendIdempotencyKeysListBefore } from '../tiers/oltp/queries/send-idempotency-keys.js';
import { jobLogsCountOfFinishedBefore, jobLogsDeleteBeforeBatch, jobLogsListBefore, jobsDeleteFinishedBatch, jobsListFinishedBefore, type AgedRow, type FinishedKind } from '../tiers/queue/queries/lifecycle.js';
import { isUuid, type TierName } from '../types.js';

export { RETENTION_DEFAULTS, type RetentionSettings } from '../config/defaults.js';

/** Rows per transaction. */
export const RETENTION_BATCH_SIZE_DEFAULT = 1_000;
/** Keys reported per rule (counts are always complete). */
export const RETENTION_MAX_IDS_DEFAULT = 10_000;

const DAY_MS = 86_400_000;

export interface RetentionOptions {
  /** Report what would go, delete nothing. */
  dryRun?: boolean;
  /** The moment the ages count from; default now. Give a dry run's `asOf` to a real run to remove the same rows. */
  asOf?: Date;
  /** Overrides of `config.retention`. */
  settings?: Partial<RetentionSettings>;
  /** Only these rules; default all. */
  rules?: readonly RetentionRuleName[];
  /** Only this tenant's rows (OLAP partitions are all tenants' and are then skipped). */
  tenantId?: string;
  batchSize?: number;
  /** Keys reported per rule; default RETENTION_MAX_IDS_DEFAULT. */
  maxIds?: number;
  /** After each batch: the rule and its rows so far. */
  onProgress?: (p: { rule: RetentionRuleName; done: number }) => void;
}

export interface RuleReport {
  rule: RetentionRuleName;
  tier: TierName;
  description: string;
  /** Rows older than this go (ISO time, or UTC day for partitions). */
  cutoff: string;
  /** Rows (partitions for olap.partitions) removed, or that would be. */
  count: number;
  /** Job logs that go along with their jobs. */
  related: number;
  /** Keys of what went (or would): `tenant/id`, `tenant/storage key`, or `table/partition`. Reported by dry runs for every rule, by real runs where the deleting statement returns them. */
  ids: string[];
  /** More went than `ids` lists (see maxIds), or a real run's rule does not list keys. */
  idsTruncated: boolean;
}

export interface RetentionReport {
  dryRun: boolean;
  asOf: string;
  tenantId: string | null;
  rules: RuleReport[];
  /** Sum of the counts. */
  total: number;
  durationMs: number;
}

interface Ctx {
  ft: Fivetier;
  s: RetentionSettings;
  asOf: Date;
  tenantId: string | null;
  batchSize: number;
  maxIds: number;
  report: RuleReport;
  progress: () => void;
}

interface RetentionRule {
  name: RetentionRuleName;
  tier: TierName;
  description: (s: RetentionSettings) => string;
  cutoff: (asOf: Date, s: RetentionSettings) => Date;
  /** OLAP partitions hold every tenant's rows: a run for one tenant skips the rule. */
  allTenants?: boolean;
  plan: (ctx: Ctx, cutoff: Date) => Promise<void>;
  apply: (ctx: Ctx, cutoff: Date) => Promise<void>;
}

function note(ctx: Ctx, keys: Iterable<string>): void {
  for (const k of keys) {
    ctx.report.count++;
    if (ctx.report.ids.length < ctx.maxIds) ctx.report.ids.push(k);
    else ctx.report.idsTruncated = true;
  }
  ctx.progress();
}

/** Walk keyset pages of `list` and note each row. */
async function pages(ctx: Ctx, list: (after: AgedRow | null) => Promise<AgedRow[]>): Promise<void> {
  let after: AgedRow | null = null;
  for (;;) {
    const rows = await list(after);
    note(ctx, rows.map((r) => `${r.tenant_id}/${r.id}`));
    if (rows.length < ctx.batchSize) return;
    after = rows[rows.length - 1]!;
  }
}

/** Run `batch` until it takes fewer than batchSize rows. */
async function batches(ctx: Ctx, batch: () => Promise<Array<{ tenant_id: string; id: string }>>): Promise<void> {
  for (;;) {
    const rows = await batch();
    note(ctx, rows.map((r) => `${r.tenant_id}/${r.id}`));
    if (rows.length < ctx.batchSize) return;
  }
}

const ago = (asOf: Date, days: number) => new Date(asOf.getTime() - days * DAY_MS);

function jobsRule(name: 'queue.completed_jobs' | 'queue.dead_jobs', kind: FinishedKind, days: (s: RetentionSettings) => number, what: string): RetentionRule {
  return {
    name,
    tier: 'queue',
    description: (s) => `${what} jobs last changed over ${days(s)} days ago, with their logs`,
    cutoff: (asOf, s) => ago(asOf, days(s)),
    plan: async (ctx, cutoff) => {
      await pages(ctx, (after) => ctx.ft.queue.withMaintenance((c) => jobsListFinishedBefore(c, { kind, cutoff, tenantId: ctx.tenantId, after, limit: ctx.batchSize })));
      // why: the job-log rule runs first and takes the old logs; count only the ones left to go with their jobs
      ctx.report.related = await ctx.ft.queue.withMaintenance((c) => jobLogsCountOfFinishedBefore(c, { kind, cutoff, tenantId: ctx.tenantId, logsCutoff: ago(ctx.asOf, ctx.s.jobLogsDays) }));
    },
    apply: (ctx, cutoff) =>
      batches(ctx, async () => {
        const r = await ctx.ft.queue.withMaintenance((c) => jobsDeleteFinishedBatch(c, { kind, cutoff, tenantId: ctx.tenantId, limit: ctx.batchSize }));
        ctx.report.related += r.logs;
        return r.jobs;
      }),
  };
}

/** The rules, tier by tier, in the order a run applies them. */
const RULES: readonly RetentionRule[] = [
  // Queue tier (docs 3.10): logs first, so a job's remaining logs are the ones that go with it.
  {
    name: 'queue.job_logs',
    tier: 'queue',
    description: (s) => `job logs written over ${s.jobLogsDays} days ago`,
    cutoff: (asOf, s) => ago(asOf, s.jobLogsDays),
    plan: (ctx, cutoff) => pages(ctx, (after) => ctx.ft.queue.withMaintenance((c) => jobLogsListBefore(c, { cutoff, tenantId: ctx.tenantId, after, limit: ctx.batchSize }))),
    apply: (ctx, cutoff) => batches(ctx, () => ctx.ft.queue.withMaintenance((c) => jobLogsDeleteBeforeBatch(c, { cutoff, tenantId: ctx.tenantId, limit: ctx.batchSize }))),
  },
  jobsRule('queue.completed_jobs', 'finished', (s) => s.completedJobsDays, 'completed and cancelled'),
  jobsRule('queue.dead_jobs', 'dead', (s) => s.deadJobsDays, 'dead'),
  // Notifications tier (docs 1.5).
  {
    name: 'notifications.expired',
    tier: 'notifications',
    description: () => 'notifications past their expires_at',
    cutoff: (asOf) => asOf,
    plan: (ctx, cutoff) => pages(ctx, (after) => ctx.ft.notifications.withMaintenance((c) => notificationsListExpired(c, { asOf: cutoff, tenantId: ctx.tenantId, after, limit: ctx.batchSize }))),
    apply: async (ctx, cutoff) => {
      const r = await expireNotifications(ctx.ft, { mode: 'delete', asOf: cutoff, batchSize: Math.min(ctx.batchSize, 10_000), tenantId: ctx.tenantId ?? undefined });
      ctx.report.count += r.count;
      ctx.report.idsTruncated = r.count > 0;
      ctx.progress();
    },
  },
  {
    name: 'notifications.admin_events',
    tier: 'notifications',
    description: (s) => `admin system events created over ${s.adminEventsDays} days ago`,
    cutoff: (asOf, s) => ago(asOf, s.adminEventsDays),
    plan: (ctx, cutoff) => pages(ctx, (after) => ctx.ft.notifications.withMaintenance((c) => adminEventsListBefore(c, { cutoff, tenantId: ctx.tenantId, after, limit: ctx.batchSize }))),
    apply: (ctx, cutoff) => batches(ctx, () => ctx.ft.notifications.withMaintenance((c) => adminEventsDeleteBeforeBatch(c, { cutoff, tenantId: ctx.tenantId, limit: ctx.batchSize }))),
  },
  // Content tier (docs 1.2): by expires_at, never a key an email still references (I1).
  {
    name: 'content.expired',
    tier: 'content',
    description: () => 'content past its expires_at that no OLTP email references',
    cutoff: (asOf) => asOf,
    // The dry run of the very walk the real run makes: expired rows, OLTP asked which are unreferenced.
    plan: async (ctx, cutoff) => {
      await expireContent(ctx.ft, { dryRun: true, asOf: cutoff, batchSize: ctx.batchSize, tenantId: ctx.tenantId ?? undefined, onUnreferenced: (keys) => note(ctx, keys.map((r) => `${r.tenant_id}/${r.storage_key}`)) });
    },
    apply: async (ctx, cutoff) => {
      const r = await expireContent(ctx.ft, { asOf: cutoff, batchSize: ctx.batchSize, tenantId: ctx.tenantId ?? undefined });
      ctx.report.count += r.deleted;
      ctx.report.idsTruncated = r.deleted > 0;
      ctx.progress();
    },
  },
  // OLTP: only the API's idempotency keys age out; a retry of a send after them sends again.
  {
    name: 'oltp.idempotency_keys',
    tier: 'oltp',
    description: (s) => `send idempotency keys created over ${s.idempotencyKeysDays} days ago`,
    cutoff: (asOf, s) => ago(asOf, s.idempotencyKeysDays),
    plan: (ctx, cutoff) => pages(ctx, (after) => ctx.ft.oltp.withMaintenance((c) => sendIdempotencyKeysListBefore(c, { cutoff, tenantId: ctx.tenantId, after, limit: ctx.batchSize }))),
    apply: (ctx, cutoff) => batches(ctx, () => ctx.ft.oltp.withMaintenance((c) => sendIdempotencyKeysDeleteBeforeBatch(c, { cutoff, tenantId: ctx.tenantId, limit: ctx.batchSize }))),
  },
  // OLAP (docs 1.3): whole partitions, never rows one by one.
  {
    name: 'olap.partitions',
    tier: 'olap',
    allTenants: true,
    description: (s) => `OLAP partitions ending over ${s.olapMonths} months (audit log: ${s.auditLogMonths} months) before the current month`,
    cutoff: (asOf, s) => utcMonthStart(asOf, -s.olapMonths),
    plan: (ctx) => olapPartitions(ctx, true),
    apply: (ctx) => olapPartitions(ctx, false),
  },
];

async function olapPartitions(ctx: Ctx, dryRun: boolean): Promise<void> {
  const r = await dropOlapPartitions(ctx.ft, {
    dryRun,
    now: ctx.asOf,
    olderThan: utcDay(utcMonthStart(ctx.asOf, -ctx.s.olapMonths)),
    auditLogOlderThan: utcDay(utcMonthStart(ctx.asOf, -ctx.s.auditLogMonths)),
  });
  note(ctx, r.dropped.map((p) => `${p.table}/${p.partition}`));
}

export const RETENTION_RULE_NAMES = ['queue.job_logs', 'queue.completed_jobs', 'queue.dead_jobs', 'notifications.expired', 'notifications.admin_events', 'content.expired', 'oltp.idempotency_keys', 'olap.partitions'] as const;
export type RetentionRuleName = (typeof RETENTION_RULE_NAMES)[number];

/** The rules with their tier and what they remove under `settings` (for --help, docs, status). */
export function retentionRules(settings: RetentionSettings = RETENTION_DEFAULTS): Array<{ rule: RetentionRuleName; tier: TierName; description: string }> {
  return RULES.map((r) => ({ rule: r.name, tier: r.tier, description: r.description(settings) }));
}

function invalid(message: string): FivetierError {
  return new FivetierError('FT_ERR_INPUT_INVALID', [message]);
}

/**
 * Apply retention (or, with `dryRun`, report what it would remove), rule by rule in the order
 * above, as fivetier_maintenance. Throws FT_ERR_INPUT_INVALID naming a bad option,
 * FT_ERR_TENANT_INVALID, FT_ERR_TIER_UNAVAILABLE when a tier of a rule is down (the rules before
 * it have run; the next run picks up the rest).
 *
 * @example
 * const plan = await runRetention(ft, { dryRun: true });
 * await runRetention(ft, { asOf: new Date(plan.asOf) }); // removes what the plan listed
 */
export async function runRetention(ft: Fivetier, options: RetentionOptions = {}): Promise<RetentionReport> {
  const started = performance.now();
  const dryRun = options.dryRun === true;
  const asOf = options.asOf ?? new Date();
  if (!(asOf instanceof Date) || Number.isNaN(asOf.getTime())) throw invalid('asOf must be a valid Date');
  const tenantId = options.tenantId ?? null;
  if (tenantId !== null && !isUuid(tenantId)) throw new FivetierError('FT_ERR_TENANT_INVALID', [JSON.stringify(tenantId)]);
  const batchSize = options.batchSize ?? RETENTION_BATCH_SIZE_DEFAULT;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 100_000) throw invalid(`batchSize must be an integer 1..100000, got ${String(batchSize)}`);
  const maxIds = options.maxIds ?? RETENTION_MAX_IDS_DEFAULT;
  if (!Number.isSafeInteger(maxIds) || maxIds < 0) throw invalid(`maxIds must be an integer >= 0, got ${String(maxIds)}`);
  const s: RetentionSettings = { ...(ft.config.retention ?? RETENTION_DEFAULTS), ...options.settings };
  for (const [k, v] of Object.entries(s)) if (!Number.isSafeInteger(v) || v < 1) throw invalid(`retention ${k} must be a whole number >= 1, got ${String(v)}`);
  const wanted = options.rules ?? RETENTION_RULE_NAMES;
  for (const r of wanted) if (!(RETENTION_RULE_NAMES as readonly string[]).includes(r)) throw invalid(`unknown retention rule ${JSON.stringify(r)} (rules: ${RETENTION_RULE_NAMES.join(', ')})`);

  const rules: RuleReport[] = [];
  for (const rule of RULES) {
    if (!wanted.includes(rule.name) || (rule.allTenants && tenantId !== null)) continue;
    const cutoff = rule.cutoff(asOf, s);
    const report: RuleReport = { rule: rule.name, tier: rule.tier, description: rule.description(s), cutoff: rule.allTenants ? utcDay(cutoff) : cutoff.toISOString(), count: 0, related: 0, ids: [], idsTruncated: false };
    const ctx: Ctx = { ft, s, asOf, tenantId, batchSize, maxIds, report, progress: () => options.onProgress?.({ rule: rule.name, done: report.count }) };
    await (dryRun ? rule.plan(ctx, cutoff) : rule.apply(ctx, cutoff));
    rules.push(report);
  }
  return { dryRun, asOf: asOf.toISOString(), tenantId, rules, total: rules.reduce((a, r) => a + r.count, 0), durationMs: Math.round(performance.now() - started) };
}
