import { FivetierError } from '../errors/codes.js';
import { consistencyFindings, consistencyRuns } from '../ops/metrics.js';
import type { Fivetier } from '../platform.js';
import { contentObjectsFindMissing } from '../tiers/content/queries/content-objects.js';
import { contentObjectsFindOlderThan, contentObjectsKeyIsByteOrdered, contentObjectsStreamKeys } from '../tiers/content/queries/content-key-stream.js';
import { recordAdminEvent } from '../tiers/notifications/admin-events.js';
import { emailsFindByStorageKeys, emailsStorageKeyIsByteOrdered, emailsStreamStorageKeys } from '../tiers/oltp/queries/email-key-stream.js';
import { emailsFindUnreferencedKeys } from '../tiers/oltp/queries/emails.js';
import { outboxScanOlderThan } from '../tiers/oltp/queries/outbox.js';
import { jobsFindMissing } from '../tiers/queue/queries/jobs-from-outbox.js';
import type { TierClient, TxClient } from '../tiers/tier-client.js';
import { mapTierError } from '../tiers/connection-errors.js';
import type { CopyOutRows } from '../tiers/copy-out-rows.js';
import type { TrackedClient } from '../tiers/tracked-client.js';
import { isUuid } from '../types.js';
import { mergeKeyStreams, type KeyMergeSink } from './key-stream-merge.js';
import { SWEEP_GRACE_SECONDS_DEFAULT } from './orphan-sweeper.js';

/** Rows per batch: between progress reports and suspect rechecks of the key merge, and per keyset batch of the outbox scan. */
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
 * I1 and I3 are one pass, as fivetier_maintenance: the email keys (OLTP) and the content keys
 * (Content) are streamed with COPY, both in byte order of (storage key, tenant), and merged like
 * a merge join; memory is bounded by the streams' chunks, not the data. Suspects are rechecked
 * every batchSize rows (so content written or an email erased during the scan is not
 * reported). I2 walks keyset batches of the outbox beside it.
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

    // I1 and I3 in one pass: a merge of the email keys and the content keys, both streamed
    // in byte order. Suspects are rechecked in batches, which also bounds their memory.
    const scanI1I3 = async () => {
      const [emailsByteOrdered, contentByteOrdered] = await Promise.all([
        ft.oltp.withMaintenance((c) => emailsStorageKeyIsByteOrdered(c)),
        ft.content.withMaintenance((c) => contentObjectsKeyIsByteOrdered(c)),
      ]);
      const missing: Array<[string, string]> = [];
      const unreferenced: Array<[string, string]> = [];
      const flush = async () => {
        if (missing.length > 0) {
          const pairs = missing.splice(0);
          // why: content written or an email erased during the scan is not a finding
          const still = await ft.content.withMaintenance((c) => contentObjectsFindMissing(c, pairs.map((p) => p[0]), pairs.map((p) => p[1])));
          if (still.length > 0) {
            const emails = await ft.oltp.withMaintenance((c) => emailsFindByStorageKeys(c, still.map((m) => m.tenant_id), still.map((m) => m.storage_key)));
            for (const r of emails) add('I1', { tenant_id: r.tenant_id, email_id: r.id, storage_key: r.content_storage_key });
          }
        }
        if (unreferenced.length > 0) {
          const pairs = unreferenced.splice(0);
          // why: content of a send whose email is not committed yet is young; only rows past the grace count
          const old = await ft.content.withMaintenance((c) => contentObjectsFindOlderThan(c, pairs.map((p) => p[0]), pairs.map((p) => p[1]), graceSeconds));
          if (old.length > 0) {
            const orphans = await ft.oltp.withMaintenance((c) => emailsFindUnreferencedKeys(c, old.map((o) => o.tenant_id), old.map((o) => o.storage_key)));
            for (const o of orphans) add('I3', { tenant_id: o.tenant_id, storage_key: o.storage_key });
          }
        }
      };
      const sink: KeyMergeSink = {
        missingContent: (tenant, key) => void missing.push([tenant, key]),
        unreferencedContent: (tenant, key) => void unreferenced.push([tenant, key]),
        progress: async (emails, content) => {
          report.scanned.emails = emails;
          report.scanned.content = content;
          await flush();
          options.onProgress?.({ scan: 'emails', done: emails, total: Math.max(totals.emails, emails) });
          options.onProgress?.({ scan: 'content', done: content, total: Math.max(totals.content, content) });
        },
      };
      const counts = await withKeyStreams(
        ft,
        (c) => emailsStreamStorageKeys(c, { tenantId, byteOrdered: emailsByteOrdered }),
        (c) => contentObjectsStreamKeys(c, { tenantId, byteOrdered: contentByteOrdered }),
        (emails, content) => mergeKeyStreams(emails, content, sink, batchSize),
      );
      report.scanned.emails = counts.emails;
      report.scanned.content = counts.content;
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

    // why: the outbox scan is small and waits on the queue tier; it runs beside the merge
    await Promise.all([scanI1I3(), scanI2()]);
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

/**
 * Open the email key stream (OLTP) and the content key stream (Content), each in a maintenance
 * transaction of its own, and hand both to `merge`. The transactions stay open until the merge
 * settles. When it fails, a stream not read to its end has its connection cut (a COPY cannot
 * be stopped halfway on a live connection), so neither transaction waits on the other.
 */
async function withKeyStreams<T>(
  ft: Fivetier,
  openEmails: (c: TxClient) => Promise<CopyOutRows>,
  openContent: (c: TxClient) => Promise<CopyOutRows>,
  merge: (emails: CopyOutRows, content: CopyOutRows) => Promise<T>,
): Promise<T> {
  let settle!: (failed: boolean) => void;
  const settled = new Promise<boolean>((resolve) => (settle = resolve));
  const open = (tier: TierClient, openStream: (c: TxClient) => Promise<CopyOutRows>) => {
    let give!: (s: CopyOutRows) => void;
    const stream = new Promise<CopyOutRows>((resolve) => (give = resolve));
    const opened: { rows?: CopyOutRows } = {};
    const tx = tier.withMaintenance(async (c) => {
      const s = await openStream(c);
      opened.rows = s;
      give(s);
      if (await settled) {
        if (!s.finished) (c as unknown as TrackedClient).kill(new Error('the consistency check stopped'));
        throw new Error('the consistency check stopped'); // roll back
      }
    });
    return { tier, opened, stream: Promise.race([stream, tx.then(() => never)]), tx };
  };
  const emails = open(ft.oltp, openEmails);
  const content = open(ft.content, openContent);
  const merged = Promise.all([emails.stream, content.stream]).then(([e, k]) => merge(e, k));
  merged.then(
    () => settle(false),
    () => settle(true),
  );
  // why: wait for both transactions to end before reporting, so no connection outlives the check
  const [result, ...txs] = await Promise.allSettled([merged, emails.tx, content.tx]);
  if (result.status === 'rejected') {
    // A stream's connection that broke is its tier being unavailable, as for any other call.
    const side = [emails, content].find((s) => s.opened.rows?.error === result.reason);
    throw side ? mapTierError(side.tier.name, result.reason) : result.reason;
  }
  for (const tx of txs) if (tx.status === 'rejected') throw tx.reason;
  return result.value;
}

const never = new Promise<never>(() => {});

/** Row estimates for progress: exact counts for one tenant, planner estimates for all. */
async function estimateTotals(ft: Fivetier, tenantId: string | null): Promise<{ emails: number; content: number }> {
  // `table` is one of the two literals below, never input
  const estimate = async (tier: 'oltp' | 'content', table: 'emails' | 'content_objects') => {
    if (tenantId !== null) {
      const { rows } = await ft.tiers[tier].withMaintenance((c) => c.query<{ n: string }>(`select count(*) as n from public.${table} where tenant_id = $1`, [tenantId]));
      return Number(rows[0]!.n);
    }
    const { rows } = await ft.tiers[tier].withMaintenance((c) => c.query<{ n: number }>(`select greatest(reltuples, 0)::float8 as n from pg_catalog.pg_class where oid = $1::regclass`, [`public.${table}`]));
    return Math.round(rows[0]?.n ?? 0);
  };
  return { emails: await estimate('oltp', 'emails'), content: await estimate('content', 'content_objects') };
}
