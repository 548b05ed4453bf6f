/**
 * Jobs as a tenant sees its own (row-level security as the tenant) and as the operator sees
 * everyone's (fivetier_worker). Throws FT_ERR_INPUT_INVALID for a bad filter,
 * FT_ERR_TIER_UNAVAILABLE when the queue tier is down.
 */
import { FivetierError } from '../errors/codes.js';
import type { Fivetier } from '../platform.js';
import { pageOf } from '../campaigns/resource-reads.js';
import { jobGet } from '../tiers/queue/queries/jobs.js';
import { jobList } from '../tiers/queue/queries/job-listings.js';
import { isUuid } from '../types.js';
import { JOB_STATES, type JobRow } from './job-states.js';

export interface JobFilter {
  status?: string;
  queue?: string;
  after?: string | null;
  limit?: number;
}

function checked(f: JobFilter): { status: string | null; queue: string | null; after: string | null; limit: number } {
  const states: readonly string[] = Object.values(JOB_STATES);
  if (f.status !== undefined && !states.includes(f.status)) throw new FivetierError('FT_ERR_INPUT_INVALID', [`status must be one of ${states.join(', ')}`]);
  return { status: f.status ?? null, queue: f.queue ?? null, ...pageOf(f) };
}

/** The tenant's jobs. */
export function listTenantJobs(ft: Fivetier, tenantId: string, filter: JobFilter = {}): Promise<JobRow[]> {
  const f = checked(filter);
  return ft.queue.withTenant(tenantId, (c) => jobList(c, { tenantId: null, ...f }));
}

/** One of the tenant's jobs, or undefined. */
export async function getTenantJob(ft: Fivetier, tenantId: string, id: string): Promise<JobRow | undefined> {
  if (!isUuid(id)) return undefined;
  return ft.queue.withTenant(tenantId, (c) => jobGet(c, tenantId, id));
}

/** Every tenant's jobs, or one tenant's (the operator's view). */
export function listAllJobs(ft: Fivetier, filter: JobFilter & { tenantId?: string } = {}): Promise<JobRow[]> {
  const f = checked(filter);
  if (filter.tenantId !== undefined && !isUuid(filter.tenantId)) throw new FivetierError('FT_ERR_TENANT_INVALID', [JSON.stringify(filter.tenantId)]);
  return jobList(ft.queue.statements('worker'), { tenantId: filter.tenantId ?? null, ...f });
}
