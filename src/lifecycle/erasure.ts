/**
 * Right to erasure: one recipient address within a tenant, or a whole tenant, removed from all
 * five tiers and Redis, in an order that never leaves a dangling reference (DESIGN.md section 4,
 * I1: OLTP rows go before the content they reference), and resumable: the erasure is a row in
 * OLTP (`erasures`) that records the next step and what the first step collected, so a run that
 * crashed is finished by the next request for the same subject. Every step is idempotent.
 *
 * Steps, in order (docs/lifecycle.md):
 * - collect: what the later steps must follow once the OLTP rows that lead to it are gone
 *   (an address: its leads, emails and their content keys; a tenant: its members that belong to
 *   no other tenant).
 * - queue: the jobs (payload and logs) that exist for the subject.
 * - redis: BullMQ's copies of those jobs, and any key or member that holds the subject.
 * - notifications, olap, oltp, content: the subject's rows in each tier; content last, after
 *   the emails that reference it.
 * - audit: one admin_audit_log entry that names the subject by its hash; then the erasures row
 *   goes.
 * An address is also redacted (replaced by `[erased]`) wherever else it is mentioned in the
 * tenant's rows and the platform's own rows (an error message, an alert, an audit note): a
 * catalog-driven pass over every text and JSON column, so no table is forgotten.
 */
import { createHash } from 'node:crypto';
import { addressHash } from '../campaigns/campaigns.js';
import { FivetierError } from '../errors/codes.js';
import type { Fivetier } from '../platform.js';
import { contentObjectsDeleteMany } from '../tiers/content/queries/content-objects.js';
import { contentBodiesRedact, contentKeysMentioning } from '../tiers/content/queries/lifecycle.js';
import { auditLogInsertOnce, leadAnalyticsDeleteForLeads } from '../tiers/olap/queries/lifecycle.js';
import { emailsFindUnreferencedKeys } from '../tiers/oltp/queries/emails.js';
import {
  emailsDeleteBatch,
  erasureAdvance,
  erasureDelete,
  erasureStartOrResume,
  leadsDelete,
  outboxDeleteForRecipient,
  recipientRefs,
  suppressionsForgetAddress,
  tenantDelete,
  tenantSoleMemberIds,
  usersDeleteUnattached,
  type ErasureRow,
} from '../tiers/oltp/queries/lifecycle.js';
import { jobsDeleteByIdsBatch, jobsFindForRecipient } from '../tiers/queue/queries/lifecycle.js';
import type { TierClient } from '../tiers/tier-client.js';
import { tenantRowsDeleteBatch, tenantRowsRedact, tenantTablesList } from '../tiers/tenant-rows.js';
import { isUuid, SYSTEM_TENANT_ID, type TierName } from '../types.js';
import { scrubRedis } from './redis-scrub.js';

/** Rows per transaction when an erasure deletes many. */
export const ERASURE_BATCH_SIZE_DEFAULT = 1_000;
/** The BullMQ key prefix searched (the worker's default, `WorkerOptions.redisPrefix`). */
export const ERASURE_REDIS_PREFIX_DEFAULT = 'fivetier';
/** What an erased mention is replaced by. */
export const ERASED = '[erased]';

export const ERASURE_STEPS = ['collect', 'queue', 'redis', 'notifications', 'olap', 'oltp', 'content', 'audit'] as const;
export type ErasureStep = (typeof ERASURE_STEPS)[number];

export interface EraseOptions {
  /** The operator who asked (a user id, recorded in the audit log); default the nil uuid (the platform). */
  requestedBy?: string;
  /** Rows per transaction; default ERASURE_BATCH_SIZE_DEFAULT. */
  batchSize?: number;
  /** BullMQ key prefix to search in Redis; default ERASURE_REDIS_PREFIX_DEFAULT. */
  redisPrefix?: string;
  /** Told as each step starts. */
  onProgress?: (p: { step: ErasureStep; index: number; steps: number }) => void;
  /** Awaited before each step runs (tests stop a process here to crash it mid-erasure). */
  beforeStep?: (step: ErasureStep) => Promise<void> | void;
}

export interface ErasureReport {
  erasureId: string;
  kind: 'address' | 'tenant';
  tenantId: string;
  /** Hex sha256 of the lower-cased address, or of the tenant id: how the audit log names the subject. */
  subjectHash: string;
  /** The step a previous, interrupted run had reached; undefined for a fresh erasure. */
  resumedAt?: ErasureStep;
  /** Rows (and Redis keys or members) removed or redacted, per tier and kind, over all runs. */
  counts: Record<string, number>;
  durationMs: number;
}

const ADDRESS = /^[^\s@]+@[^\s@]+$/;

function invalid(message: string): FivetierError {
  return new FivetierError('FT_ERR_INPUT_INVALID', [message]);
}

/** A PostgreSQL regular expression that matches `text` literally. */
function literalPattern(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

interface Run {
  ft: Fivetier;
  row: ErasureRow;
  counts: Record<string, number>;
  batchSize: number;
  redisPrefix: string;
}

function add(run: Run, key: string, n: number): void {
  if (n > 0) run.counts[key] = (run.counts[key] ?? 0) + n;
}

/** Delete in batches until a batch takes fewer than `batchSize`; returns the total. */
async function inBatches(batchSize: number, batch: () => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await batch();
    total += n;
    if (n < batchSize) return total;
  }
}

/** Replace `pattern` in every text and JSON column of the rows of `tenantIds` in `tier`, except `skipTables`. */
async function redactTier(run: Run, tier: TierName, tenantIds: string[], pattern: string, skip: Record<string, ReadonlySet<string> | 'all'> = {}): Promise<void> {
  const client = run.ft.tiers[tier];
  const tables = await client.withMaintenance((c) => tenantTablesList(c));
  for (const t of tables) {
    const s = skip[t.table];
    if (s === 'all') continue;
    // why: one table per transaction, so no lock is held across the tier
    add(run, `${tier}.redacted`, await client.withMaintenance((c) => tenantRowsRedact(c, t, tenantIds, pattern, ERASED, s)));
  }
}

/** Delete every row of `tenantId` in `tier`'s tenant tables, in batches, except `keep`. */
async function deleteTenantRows(run: Run, client: TierClient, tier: TierName, tenantId: string, keep: ReadonlySet<string> = new Set()): Promise<void> {
  const tables = await client.withMaintenance((c) => tenantTablesList(c));
  for (const t of tables) {
    if (keep.has(t.table)) continue;
    add(run, `${tier}.${t.table}`, await inBatches(run.batchSize, () => client.withMaintenance((c) => tenantRowsDeleteBatch(c, t, tenantId, run.batchSize))));
  }
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

// The columns redaction leaves alone: the erasure's own state (it holds the address until the
// end), and the deduplicated bodies, whose hash is their identity (they are redacted through
// their rows instead: contentBodiesRedact).
const REDACT_SKIP_OLTP = { erasures: 'all' } as const;
const REDACT_SKIP_CONTENT = { content_bodies: 'all', content_objects: new Set(['content_html', 'content_hash', 'storage_key']) } as const;

async function runSteps(run: Run, steps: Record<ErasureStep, () => Promise<Record<string, unknown> | void>>, options: EraseOptions): Promise<void> {
  const { ft, row } = run;
  let index = ERASURE_STEPS.indexOf(row.step as ErasureStep);
  if (index < 0) index = 0;
  for (; index < ERASURE_STEPS.length; index++) {
    const step = ERASURE_STEPS[index]!;
    options.onProgress?.({ step, index, steps: ERASURE_STEPS.length });
    await options.beforeStep?.(step);
    const refs = (await steps[step]()) ?? {};
    const next = ERASURE_STEPS[index + 1];
    if (next) await ft.oltp.withMaintenance((c) => erasureAdvance(c, row.tenant_id, row.id, next, { ...refs, counts: run.counts }));
  }
  await ft.oltp.withMaintenance((c) => erasureDelete(c, row.tenant_id, row.id));
}

async function start(ft: Fivetier, e: { tenantId: string; kind: 'address' | 'tenant'; address: string | null; subjectHash: Buffer }, options: EraseOptions): Promise<Run> {
  const requestedBy = options.requestedBy ?? null;
  if (requestedBy !== null && !isUuid(requestedBy)) throw invalid(`requestedBy must be a user id (uuid), got ${JSON.stringify(requestedBy)}`);
  const batchSize = options.batchSize ?? ERASURE_BATCH_SIZE_DEFAULT;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 100_000) throw invalid(`batchSize must be an integer 1..100000, got ${String(batchSize)}`);
  const redisPrefix = options.redisPrefix ?? ERASURE_REDIS_PREFIX_DEFAULT;
  if (!/^[A-Za-z0-9][A-Za-z0-9:._-]{0,99}$/.test(redisPrefix)) throw invalid(`redisPrefix must be 1..100 of [A-Za-z0-9:._-], got ${JSON.stringify(redisPrefix)}`);
  const { row } = await ft.oltp.withMaintenance((c) => erasureStartOrResume(c, { ...e, requestedBy }));
  const saved = (row.refs.counts ?? {}) as Record<string, number>;
  return { ft, row, counts: { ...saved }, batchSize, redisPrefix };
}

function report(run: Run, kind: 'address' | 'tenant', started: number): ErasureReport {
  const resumedAt = run.row.step === 'collect' && Object.keys(run.row.refs).length === 0 ? undefined : (run.row.step as ErasureStep);
  return { erasureId: run.row.id, kind, tenantId: run.row.tenant_id, subjectHash: run.row.subject_hash.toString('hex'), resumedAt, counts: run.counts, durationMs: Math.round(performance.now() - started) };
}

/**
 * Erase one recipient address within a tenant: its leads (and campaign memberships), its emails
 * and their bodies, headers and attachments, the jobs (payloads and logs) and Redis copies that
 * exist for it, its per-lead analytics, and every other mention of it in the tenant's and the
 * platform's rows. A suppression of the address survives as its hash. Other recipients' rows are
 * untouched, and content another email still references is kept, with the address redacted. Resumes an
 * interrupted erasure of the same address. Throws FT_ERR_INPUT_INVALID for a bad address or
 * option, FT_ERR_TENANT_INVALID, FT_ERR_TIER_UNAVAILABLE (the erasure then resumes on the next call).
 *
 * @example
 * await eraseRecipient(ft, tenantId, 'ada@example.com', { requestedBy: operatorId });
 */
export async function eraseRecipient(ft: Fivetier, tenantId: string, address: string, options: EraseOptions = {}): Promise<ErasureReport> {
  if (!isUuid(tenantId)) throw new FivetierError('FT_ERR_TENANT_INVALID', [JSON.stringify(tenantId)]);
  if (typeof address !== 'string' || address.length > 254 || !ADDRESS.test(address)) throw invalid(`address must be an email address, got ${JSON.stringify(address)?.slice(0, 80)}`);
  const a = address.toLowerCase();
  const pattern = literalPattern(a);
  const hash = addressHash(a);
  const started = performance.now();
  const run = await start(ft, { tenantId, kind: 'address', address: a, subjectHash: hash }, options);
  const first = report(run, 'address', started);
  const refs = () => run.row.refs;
  const scope = [tenantId, SYSTEM_TENANT_ID];
  await runSteps(
    run,
    {
      collect: async () => {
        const found = await ft.oltp.withMaintenance((c) => recipientRefs(c, tenantId, a));
        run.row.refs = { ...run.row.refs, ...found };
        return found;
      },
      queue: async () => {
        const jobIds = await ft.queue.withMaintenance((c) => jobsFindForRecipient(c, tenantId, a, strings(refs().emailIds), strings(refs().leadIds)));
        // why: Redis is searched for these jobs' copies after they are gone from PostgreSQL
        const all = [...new Set([...strings(refs().jobIds), ...jobIds])];
        run.row.refs = { ...run.row.refs, jobIds: all };
        await ft.oltp.withMaintenance((c) => erasureAdvance(c, tenantId, run.row.id, 'queue', { jobIds: all }));
        add(run, 'queue.jobs', await inBatches(run.batchSize, () => ft.queue.withMaintenance((c) => jobsDeleteByIdsBatch(c, tenantId, jobIds, run.batchSize))));
        await redactTier(run, 'queue', scope, pattern);
      },
      redis: async () => {
        if (!ft.config.redisUrl) return;
        const r = await scrubRedis(ft.config.redisUrl, run.redisPrefix, [a, ...strings(refs().jobIds).map((id) => `${tenantId}_${id}`)]);
        add(run, 'redis.keys', r.keysDeleted);
        add(run, 'redis.members', r.membersRemoved);
      },
      notifications: () => redactTier(run, 'notifications', scope, pattern),
      olap: async () => {
        const leadIds = strings(refs().leadIds);
        if (leadIds.length) add(run, 'olap.lead_analytics', await ft.olap.withMaintenance((c) => leadAnalyticsDeleteForLeads(c, tenantId, leadIds)));
        await redactTier(run, 'olap', scope, pattern);
      },
      oltp: async () => {
        // why: a campaign still sending may have written an email to the address since collect;
        // its key is saved before the email goes, so the content step still finds it
        const again = await ft.oltp.withMaintenance((c) => recipientRefs(c, tenantId, a));
        const merged = {
          leadIds: [...new Set([...strings(refs().leadIds), ...again.leadIds])],
          emailIds: [...new Set([...strings(refs().emailIds), ...again.emailIds])],
          storageKeys: [...new Set([...strings(refs().storageKeys), ...again.storageKeys])],
        };
        run.row.refs = { ...run.row.refs, ...merged };
        await ft.oltp.withMaintenance((c) => erasureAdvance(c, tenantId, run.row.id, 'oltp', merged));
        const { emailIds, leadIds } = merged;
        add(run, 'oltp.emails', await inBatches(run.batchSize, () => ft.oltp.withMaintenance((c) => emailsDeleteBatch(c, tenantId, emailIds, run.batchSize))));
        add(run, 'oltp.outbox', await ft.oltp.withMaintenance((c) => outboxDeleteForRecipient(c, tenantId, a, emailIds, leadIds)));
        add(run, 'oltp.leads', await ft.oltp.withMaintenance((c) => leadsDelete(c, tenantId, leadIds)));
        add(run, 'oltp.suppressions_hashed', await ft.oltp.withMaintenance((c) => suppressionsForgetAddress(c, tenantId, hash)));
        await redactTier(run, 'oltp', scope, pattern, REDACT_SKIP_OLTP);
      },
      content: async () => {
        const mentioning = await ft.content.withMaintenance((c) => contentKeysMentioning(c, tenantId, a));
        const keys = [...new Set([...strings(refs().storageKeys), ...mentioning])];
        for (let i = 0; i < keys.length; i += run.batchSize) {
          const batch = keys.slice(i, i + run.batchSize);
          // why (I1): content an email still references stays; its mentions are redacted below
          const unreferenced = await ft.oltp.withMaintenance((c) => emailsFindUnreferencedKeys(c, batch.map(() => tenantId), batch));
          add(run, 'content.kept_referenced', batch.length - unreferenced.length);
          if (unreferenced.length) add(run, 'content.content_objects', await ft.content.withMaintenance((c) => contentObjectsDeleteMany(c, unreferenced.map((u) => u.tenant_id), unreferenced.map((u) => u.storage_key))));
        }
        // Content kept for another recipient's email that mentions the address (a Cc, a quote):
        // its body gets a redacted copy under a new hash; its headers and text are redacted below.
        add(run, 'content.bodies_redacted', await ft.content.withMaintenance((c) => contentBodiesRedact(c, tenantId, pattern, ERASED)));
        await redactTier(run, 'content', scope, pattern, REDACT_SKIP_CONTENT);
      },
      audit: async () => {
        await ft.olap.withMaintenance((c) =>
          auditLogInsertOnce(c, {
            id: run.row.id,
            tenantId,
            adminUserId: run.row.requested_by ?? SYSTEM_TENANT_ID,
            action: 'erase',
            resourceType: 'recipient',
            resourceId: hash.toString('hex'),
            notes: 'recipient address erased from every tier; the resource id is the sha256 of the lower-cased address',
            metadata: { counts: run.counts },
          }),
        );
      },
    },
    options,
  );
  return { ...first, counts: run.counts, durationMs: Math.round(performance.now() - started) };
}

/**
 * Erase a whole tenant: every row with its id in every tier (the tables found in each tier's
 * catalog, so none is forgotten), its members that belong to no other tenant, its jobs' Redis
 * copies, and mentions of its id in the platform's own rows. Content goes after OLTP. The audit
 * entry is the platform's (the tenant is gone) and names the tenant by the sha256 of its id.
 * Resumes an interrupted erasure of the same tenant. Throws FT_ERR_TENANT_INVALID,
 * FT_ERR_INPUT_INVALID for a bad option, FT_ERR_TIER_UNAVAILABLE (the erasure then resumes on
 * the next call).
 */
export async function eraseTenant(ft: Fivetier, tenantId: string, options: EraseOptions = {}): Promise<ErasureReport> {
  if (!isUuid(tenantId) || tenantId === SYSTEM_TENANT_ID) throw new FivetierError('FT_ERR_TENANT_INVALID', [JSON.stringify(tenantId)]);
  const t = tenantId.toLowerCase();
  const hash = createHash('sha256').update(t, 'utf8').digest();
  const pattern = literalPattern(t);
  const started = performance.now();
  const run = await start(ft, { tenantId: t, kind: 'tenant', address: null, subjectHash: hash }, options);
  const first = report(run, 'tenant', started);
  const platform = [SYSTEM_TENANT_ID];
  await runSteps(
    run,
    {
      collect: async () => {
        const userIds = await ft.oltp.withMaintenance((c) => tenantSoleMemberIds(c, t));
        run.row.refs = { ...run.row.refs, userIds };
        return { userIds };
      },
      queue: async () => {
        await deleteTenantRows(run, ft.queue, 'queue', t);
        await redactTier(run, 'queue', platform, pattern);
      },
      redis: async () => {
        if (!ft.config.redisUrl) return;
        const r = await scrubRedis(ft.config.redisUrl, run.redisPrefix, [t]);
        add(run, 'redis.keys', r.keysDeleted);
        add(run, 'redis.members', r.membersRemoved);
      },
      notifications: async () => {
        await deleteTenantRows(run, ft.notifications, 'notifications', t);
        await redactTier(run, 'notifications', platform, pattern);
      },
      olap: async () => {
        await deleteTenantRows(run, ft.olap, 'olap', t);
        await redactTier(run, 'olap', platform, pattern);
      },
      oltp: async () => {
        // why: the erasure's own row holds its progress until the very end
        await deleteTenantRows(run, ft.oltp, 'oltp', t, new Set(['erasures']));
        add(run, 'oltp.tenants', await ft.oltp.withMaintenance((c) => tenantDelete(c, t)));
        const userIds = strings(run.row.refs.userIds);
        if (userIds.length) add(run, 'oltp.users', await ft.oltp.withMaintenance((c) => usersDeleteUnattached(c, userIds)));
        await redactTier(run, 'oltp', platform, pattern, REDACT_SKIP_OLTP);
      },
      content: async () => {
        await deleteTenantRows(run, ft.content, 'content', t);
        await redactTier(run, 'content', platform, pattern, REDACT_SKIP_CONTENT);
      },
      audit: async () => {
        await ft.olap.withMaintenance((c) =>
          auditLogInsertOnce(c, {
            id: run.row.id,
            tenantId: SYSTEM_TENANT_ID,
            adminUserId: run.row.requested_by ?? SYSTEM_TENANT_ID,
            action: 'erase',
            resourceType: 'tenant',
            resourceId: hash.toString('hex'),
            notes: 'tenant erased from every tier; the resource id is the sha256 of the tenant id',
            metadata: { counts: run.counts },
          }),
        );
      },
    },
    options,
  );
  return { ...first, counts: run.counts, durationMs: Math.round(performance.now() - started) };
}
