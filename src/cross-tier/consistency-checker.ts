import { FivetierError } from '../errors/codes.js';
import { consistencyFindings, consistencyRuns } from '../ops/metrics.js';
import type { Fivetier } from '../platform.js';
import { contentObjectsFindMissing, contentObjectsScanOlderThan } from '../tiers/content/queries/content-objects.js';
import { recordAdminEvent } from '../tiers/notifications/admin-events.js';
import { emailsFindExisting, emailsFindUnreferencedKeys, emailsScanStorageKeys } from '../tiers/oltp/queries/emails.js';
import { outboxScanOlderThan } from '../tiers/oltp/queries/outbox.js';
import { jobsFindMissing } from '../tiers/queue/queries/jobs-from-outbox.js';
import { isUuid } from '../types.js';
import { SWEEP_GRACE_SECONDS_DEFAULT } from './orphan-sweeper.js';

/** Rows per keyset batch. Memory is bounded by this, whatever the data size. */
export const CHECK_BATCH_SIZE_DEFAULT = 10_000;
/** Outbox rows older than this are stuck (I2), in seconds. */
export const CHECK_OUTBOX_AGE_SECONDS_DEFAULT = 300;
/** Samples kept per invariant. */
export const CHECK_SAMPLE_SIZE_DEFAULT = 10;

export type Invariant = 'I1' | 'I2' | 'I3';

export interface CheckOptions {
  tenantId?: string;
  batchSize?: number;
  /** I2: outbox rows older than this many seconds are findings. */
  outboxAgeSeconds?: number;
  /** I3: content younger than this many seconds is not an orphan yet. */
  orphanGraceSeconds?: number;
  sampleSize?: number;
  /** Progress per batch: which scan, rows done, estimated total. */
  onProgress?: (p: { scan: 'emails' | 'outbox' | 'content'; done: number; total: number }) => void;
  /** Where the admin event goes when the notifications tier is down. */
  log?: (line: string) => void;
  /** Record an admin event and the metrics (default true). */
  record?: boolean;
}

export interface InvariantReport {
  count: number;
  /** Up to sampleSize findings, as they were met. */
  samples: Array<Record<string, unknown>>;
}

export interface CheckReport {
  clean: boolean;
  tenantId: string | null;
  scanned: { emails: number; outbox: number; content: number };
  findings: Record<Invariant, InvariantReport>;
  durationMs: number;
}

const NIL = '00000000-0000-0000-0000-000000000000';

/**
 * Check the cross-tier invariants (DESIGN.md section 4), for one tenant or all:
 * - I1: every email's content_storage_key has a content row;
 * - I2: no outbox row is older than outboxAgeSeconds (stuck; each sample says whether a job
 *   with its id exists, i.e. relayed but not deleted, or not);
 * - I3: no content row older than orphanGraceSeconds lacks an email referencing it.
 * Each scan walks keyset batches (memory bounded by batchSize) as fivetier_maintenance; the
 * email scan (I1, then I2) and the content scan (I3) run side by side.
 * I1 findings are rechecked so that an email deleted during the scan is not reported.
 * With findings it records an admin event (or logs it when notifications are down); it always
 * sets the consistency metrics. Throws FT_ERR_TENANT_INVALID, FT_ERR_TIER_UNAVAILABLE or SQL errors.
 */
export async function checkConsistency(ft: Fivetier, options: CheckOptions = {}): Promise<CheckReport> {
  const tenantId = options.tenantId ?? null;
  if (tenantId !== null && !isUuid(tenantId)) throw new FivetierError('FT_ERR_TENANT_INVALID', [JSON.stringify(tenantId)]);
  const batchSize = options.batchSize ?? CHECK_BATCH_SIZE_DEFAULT;
  const outboxAgeSeconds = options.outboxAgeSeconds ?? CHECK_OUTBOX_AGE_SECONDS_DEFAULT;
  const graceSeconds = options.orphanGraceSeconds ?? SWEEP_GRACE_SECONDS_DEFAULT;
  const sampleSize = options.sampleSize ?? CHECK_SAMPLE_SIZE_DEFAULT;
  const record = options.record !== false;
  const started = performance.now();
  const report: CheckReport = {
    clean: true,
    tenantId,
    scanned: { emails: 0, outbox: 0, content: 0 },
    findings: { I1: { count: 0, samples: [] }, I2: { count: 0, samples: [] }, I3: { count: 0, samples: [] } },
    durationMs: 0,
  };
  const add = (inv: Invariant, sample: Record<string, unknown>) => {
    report.findings[inv].count++;
    if (report.findings[inv].samples.length < sampleSize) report.findings[inv].samples.push(sample);
  };
  try {
    const totals = await estimateTotals(ft, tenantId);

    // I1: emails -> content
    const scanI1 = async () => {
      const fetch = (afterTenant: string, afterId: string) => ft.oltp.withMaintenance((c) => emailsScanStorageKeys(c, { afterTenant, afterId, tenantId, limit: batchSize }));
      let pending = fetch(NIL, NIL);
      for (;;) {
        const rows = await pending;
        if (rows.length === 0) break;
        const last = rows[rows.length - 1]!;
        // why: read the next batch while this one is checked (at most two batches in memory)
        pending = rows.length < batchSize ? Promise.resolve([]) : fetch(last.tenant_id, last.id);
        pending.catch(() => {});
        report.scanned.emails += rows.length;
        const withKey = rows.filter((r) => r.content_storage_key !== null);
        if (withKey.length > 0) {
          const missing = await ft.content.withMaintenance((c) => contentObjectsFindMissing(c, withKey.map((r) => r.tenant_id), withKey.map((r) => r.content_storage_key!)));
          if (missing.length > 0) {
            const missingKeys = new Set(missing.map((m) => `${m.tenant_id}/${m.storage_key}`));
            const suspects = withKey.filter((r) => missingKeys.has(`${r.tenant_id}/${r.content_storage_key}`));
            // why: an email erased during the scan takes its content with it; that is not a finding
            const still = await ft.oltp.withMaintenance((c) => emailsFindExisting(c, suspects.map((r) => r.tenant_id), suspects.map((r) => r.id)));
            const stillIds = new Set(still.map((r) => r.id));
            for (const r of suspects) if (stillIds.has(r.id)) add('I1', { tenant_id: r.tenant_id, email_id: r.id, storage_key: r.content_storage_key });
          }
        }
        options.onProgress?.({ scan: 'emails', done: report.scanned.emails, total: totals.emails });
        if (rows.length < batchSize) break;
      }
    };

    // I2: stuck outbox rows
    const scanI2 = async () => {
      let afterTenant = NIL;
      let afterId = NIL;
      for (;;) {
        const rows = await ft.oltp.withMaintenance((c) => outboxScanOlderThan(c, { afterTenant, afterId, tenantId, olderThanSeconds: outboxAgeSeconds, limit: batchSize }));
        if (rows.length === 0) break;
        const last = rows[rows.length - 1]!;
        afterTenant = last.tenant_id;
        afterId = last.id;
        report.scanned.outbox += rows.length;
        const missing = await ft.queue.withMaintenance((c) => jobsFindMissing(c, rows.map((r) => r.tenant_id), rows.map((r) => r.id)));
        const missingIds = new Set(missing.map((m) => m.id));
        for (const r of rows) add('I2', { tenant_id: r.tenant_id, outbox_id: r.id, job_type: r.job_type, created_at: r.created_at, job_exists: !missingIds.has(r.id) });
        options.onProgress?.({ scan: 'outbox', done: report.scanned.outbox, total: Math.max(report.scanned.outbox, 1) });
        if (rows.length < batchSize) break;
      }
    };

    // I3: content -> emails
    const scanI3 = async () => {
      const fetch = (afterTenant: string, afterKey: string) =>
        ft.content.withMaintenance((c) => contentObjectsScanOlderThan(c, { afterTenant, afterKey, tenantId, graceSeconds, limit: batchSize }));
      let pending = fetch(NIL, '');
      for (;;) {
        const rows = await pending;
        if (rows.length === 0) break;
        const last = rows[rows.length - 1]!;
        // why: read the next batch while this one is checked (at most two batches in memory)
        pending = rows.length < batchSize ? Promise.resolve([]) : fetch(last.tenant_id, last.storage_key);
        pending.catch(() => {});
        report.scanned.content += rows.length;
        const orphans = await ft.oltp.withMaintenance((c) => emailsFindUnreferencedKeys(c, rows.map((r) => r.tenant_id), rows.map((r) => r.storage_key)));
        for (const o of orphans) add('I3', { tenant_id: o.tenant_id, storage_key: o.storage_key });
        options.onProgress?.({ scan: 'content', done: report.scanned.content, total: totals.content });
        if (rows.length < batchSize) break;
      }
    };

    // why: the email scan waits mostly on content and the content scan on OLTP; running them
    // side by side keeps both databases busy. Memory stays bounded: one batch per scan.
    await Promise.all([scanI1().then(scanI2), scanI3()]);
  } catch (err) {
    if (record) consistencyRuns.inc({ result: 'error' });
    throw err;
  }

  report.durationMs = Math.round(performance.now() - started);
  report.clean = report.findings.I1.count + report.findings.I2.count + report.findings.I3.count === 0;
  if (record) {
    for (const inv of ['I1', 'I2', 'I3'] as const) consistencyFindings.set({ invariant: inv }, report.findings[inv].count);
    consistencyRuns.inc({ result: report.clean ? 'clean' : 'findings' });
    if (!report.clean) {
      await recordAdminEvent(
        ft,
        {
          eventType: 'consistency_check_failed',
          severity: report.findings.I1.count > 0 ? 'critical' : 'high',
          description: `cross-tier consistency check found I1=${report.findings.I1.count} I2=${report.findings.I2.count} I3=${report.findings.I3.count}${tenantId ? ` for tenant ${tenantId}` : ''}`,
          details: { tenant_id: tenantId, counts: { I1: report.findings.I1.count, I2: report.findings.I2.count, I3: report.findings.I3.count }, samples: { I1: report.findings.I1.samples.slice(0, 3), I2: report.findings.I2.samples.slice(0, 3), I3: report.findings.I3.samples.slice(0, 3) } },
        },
        options.log,
      );
    }
  }
  return report;
}

/** Row estimates for progress: exact counts for one tenant, planner estimates for all. */
async function estimateTotals(ft: Fivetier, tenantId: string | null): Promise<{ emails: number; content: number }> {
  // `table` is one of the two literals below, never input
  const estimate = async (tier: 'oltp' | 'content', table: 'emails' | 'content_objects') => {
    if (tenantId !== null) {
      const { rows } = await ft.tiers[tier].withMaintenance((c) => c.query<{ n: string }>(`select count(*) as n from ${table} where tenant_id = $1`, [tenantId]));
      return Number(rows[0]!.n);
    }
    const { rows } = await ft.tiers[tier].withMaintenance((c) => c.query<{ n: number }>(`select greatest(reltuples, 0)::float8 as n from pg_class where oid = $1::regclass`, [table]));
    return Math.round(rows[0]?.n ?? 0);
  };
  return { emails: await estimate('oltp', 'emails'), content: await estimate('content', 'content_objects') };
}
