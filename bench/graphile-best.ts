// graphile-worker as bench:queue and bench:queue-cost run it: at its best here.
import type { Logger, RunnerOptions, TaskList } from 'graphile-worker';

/**
 * graphile-worker at its best here: a local queue of 500 jobs fetched (and locked) per query,
 * completions batched, a pool at least as large as the concurrency (bench/README.md).
 */
export const GRAPHILE_LOCAL_QUEUE = 500;

/** The runner options of that configuration. */
export function graphileBest(connectionString: string, concurrency: number, logger: Logger, taskList: TaskList): RunnerOptions {
  return {
    connectionString,
    concurrency,
    maxPoolSize: concurrency + 2,
    noHandleSignals: true,
    pollInterval: 1_000,
    logger,
    preset: { worker: { localQueue: { size: GRAPHILE_LOCAL_QUEUE }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
    taskList,
  };
}
