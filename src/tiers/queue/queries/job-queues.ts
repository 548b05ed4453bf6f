/**
 * Statements on `job_queues` (operator settings; no tenant, no RLS). Run as fivetier_worker.
 * Each throws what `pg` throws.
 */
import type { Queryable } from './queryable.js';

export interface JobQueueRow {
  name: string;
  default_priority: number;
  paused: boolean;
}

/** Set `paused`; returns the row, or undefined for an unknown queue. Run by operators. */
export async function jobQueueSetPaused(db: Queryable, name: string, paused: boolean): Promise<JobQueueRow | undefined> {
  const { rows } = await db.query<JobQueueRow>({
    name: 'jobQueueSetPaused',
    text: `UPDATE public.job_queues SET paused = $2, updated_at = now() WHERE name = $1 RETURNING name, default_priority, paused`,
    values: [name, paused],
  });
  return rows[0];
}

/** Create a queue unless it exists; returns the row either way. */
export async function jobQueueInsertIfMissing(db: Queryable, name: string, defaultPriority: number): Promise<JobQueueRow> {
  const { rows } = await db.query<JobQueueRow>({
    name: 'jobQueueInsertIfMissing',
    text: `WITH ins AS (
        INSERT INTO public.job_queues (name, default_priority) VALUES ($1::text, $2::int) ON CONFLICT (name) DO NOTHING
        RETURNING name, default_priority, paused
      )
      SELECT * FROM ins UNION ALL SELECT name, default_priority, paused FROM public.job_queues WHERE name = $1::text LIMIT 1`,
    values: [name, defaultPriority],
  });
  return rows[0]!;
}

/** Every queue, by name. */
export async function jobQueueList(db: Queryable): Promise<JobQueueRow[]> {
  const { rows } = await db.query<JobQueueRow>({ name: 'jobQueueList', text: 'SELECT name, default_priority, paused FROM public.job_queues ORDER BY name', values: [] });
  return rows;
}
