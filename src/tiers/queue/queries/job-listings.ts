import type { JobRow } from '../../../queue/job-states.js';
import type { Queryable } from './queryable.js';

/**
 * Jobs by id, optionally of one state and queue; `after` is the last id of the previous page.
 * In a tenant's transaction row-level security confines it to that tenant; as fivetier_worker
 * (the operator's view) it lists every tenant's, or `tenantId`'s.
 */
export async function jobList(db: Queryable, f: { tenantId: string | null; status: string | null; queue: string | null; after: string | null; limit: number }): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>({
    name: 'jobList',
    text: `SELECT * FROM public.jobs
            WHERE ($1::uuid IS NULL OR tenant_id = $1) AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR queue_name = $3)
              AND ($4::uuid IS NULL OR id > $4)
            ORDER BY id, tenant_id LIMIT $5`,
    values: [f.tenantId, f.status, f.queue, f.after, f.limit],
  });
  return rows;
}
