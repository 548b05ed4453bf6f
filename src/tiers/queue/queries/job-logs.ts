/** Statements on `job_logs` (one row per finished attempt; written with the transition itself). */
import type { Queryable } from './queryable.js';

export interface JobLogRow {
  job_id: string;
  status: 'attempting' | 'success' | 'retry' | 'failed';
  message: string | null;
  attempt: number | null;
  started_at: Date | null;
  finished_at: Date | null;
  duration_ms: number | null;
}

/** The attempts of one job (tenant, id), in order. Run by operators and tests. Throws what `pg` throws. */
export async function jobLogListByJob(db: Queryable, tenantId: string, id: string): Promise<JobLogRow[]> {
  const { rows } = await db.query<JobLogRow>({
    name: 'jobLogListByJob',
    text: `SELECT job_id, status, message, attempt, started_at, finished_at, duration_ms FROM public.job_logs WHERE tenant_id = $1 AND job_id = $2 ORDER BY attempt, finished_at`,
    values: [tenantId, id],
  });
  return rows;
}
