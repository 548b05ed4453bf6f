import { defaultMaxAttempts } from './job-states.js';

/** Backoff cap, in seconds. */
export const BACKOFF_CAP_SECONDS = 300;
/** Jitter: the delay is scaled by a factor in [1 - JITTER, 1 + JITTER]. */
export const BACKOFF_JITTER = 0.25;

/**
 * Seconds to wait before the next attempt after `attempt` (1-based) failed: `2^attempt` with
 * +-25% jitter, capped at 300 s. `random` is injectable for tests. Never throws.
 *
 * @example backoffSeconds(1) // 1.5 .. 2.5
 */
export function backoffSeconds(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_CAP_SECONDS, 2 ** attempt);
  const jittered = base * (1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * random());
  return Math.min(BACKOFF_CAP_SECONDS, jittered);
}

/** The attempt limit of a job: its own, else by lane (5 high, 3 otherwise). Never throws. */
export function maxAttemptsOf(job: { max_attempts: number | null; priority: number }): number {
  return job.max_attempts ?? defaultMaxAttempts(job.priority);
}

/** What to do after a failed attempt: retry after `delaySeconds`, or dead-letter. Never throws. */
export function afterFailure(job: { attempts: number; max_attempts: number | null; priority: number }, random?: () => number): { action: 'retry'; delaySeconds: number } | { action: 'dead' } {
  if (job.attempts >= maxAttemptsOf(job)) return { action: 'dead' };
  return { action: 'retry', delaySeconds: backoffSeconds(job.attempts, random) };
}
