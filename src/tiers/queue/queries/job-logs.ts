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

/** The attempts of one job, in order. Run by operators and tests. Throws what `pg` throws. */
export async function jobLogListByJob(db: Queryable, id: string): Promise<JobLogRow[]> {
  const { rows } = await db.query<JobLogRow>({
    name: 'jobLogListByJob',
    text: `SELECT job_id, status, message, attempt, started_at, finished_at, duration_ms FROM job_logs WHERE job_id = $1 ORDER BY attempt, finished_at`,
    values: [id],
  });
  return rows;
}
