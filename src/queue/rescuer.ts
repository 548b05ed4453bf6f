/**
 * The lease rescuer: puts jobs whose lease expired back to `queued` (or dead on the last
 * attempt), in batches until one comes back short. A job rescued from `running` spent an
 * attempt, so it waits out that attempt's backoff (the retry rules of retry.ts) before it runs
 * again. Logs one line per rescue pass with counts.
 */
import type { Queryable } from '../tiers/queryable.js';
import { jobSetQueuedIfLeaseExpired } from '../tiers/queue/queries/jobs.js';
import type { JobRow } from './job-states.js';
import { RETRY_RULES_SQL } from './retry.js';
import { BackgroundLoop } from '../runtime/background-loop.js';

/** How often the rescuer looks, in ms. */
export const RESCUE_INTERVAL_MS_DEFAULT = 5_000;
/** Jobs per rescue batch. */
export const RESCUE_BATCH_DEFAULT = 500;

export function startRescuer(opts: { pool: Queryable; queues: readonly string[] | null; intervalMs: number; log: (line: string) => void; onRescued: (rows: JobRow[]) => void; onError: (err: unknown) => void }): BackgroundLoop {
  const loop = new BackgroundLoop(
    'rescuer',
    async () => {
      const rows = await jobSetQueuedIfLeaseExpired(opts.pool, opts.queues, RESCUE_BATCH_DEFAULT, RETRY_RULES_SQL);
      if (rows.length > 0) {
        const dead = rows.filter((r) => r.status === 'dead').length;
        opts.log(`rescuer: ${rows.length} expired leases, ${rows.length - dead} requeued, ${dead} dead`);
        opts.onRescued(rows);
      }
      return rows.length === RESCUE_BATCH_DEFAULT ? 'more' : 'idle';
    },
    { idleMs: opts.intervalMs, onError: opts.onError },
  );
  loop.start();
  return loop;
}
