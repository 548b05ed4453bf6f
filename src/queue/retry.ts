/**
 * The retry rules, in one place: how many attempts a job gets, and how long it waits after a
 * failed one. The worker applies them to a handler that threw or timed out; the rescuer applies
 * the same rules, through `RETRY_RULES_SQL`, to a job whose lease expired (its worker died or
 * hung), so a rescued job waits out its backoff like any other failed attempt.
 */
import { isFivetierError } from '../errors/codes.js';
import { isConnectionError } from '../tiers/connection-errors.js';
import { HIGH_PRIORITY_MAX } from './job-states.js';

/** Backoff cap, in seconds. */
export const BACKOFF_CAP_SECONDS = 300;
/** Jitter: the delay is scaled by a factor in [1 - JITTER, 1 + JITTER]. */
export const BACKOFF_JITTER = 0.25;
/** Attempts of a job in the high lane (priority <= 50) without its own limit. */
export const MAX_ATTEMPTS_HIGH_LANE = 5;
/** Attempts of any other job without its own limit. */
export const MAX_ATTEMPTS_OTHER_LANES = 3;

/**
 * The range the delay after failed attempt `attempt` (1-based) is drawn from, in seconds, before
 * the 300 s cap: `2^attempt` (itself capped) scaled by 1 -+ 25%. Never throws.
 */
export function backoffRange(attempt: number): [low: number, high: number] {
  const base = Math.min(BACKOFF_CAP_SECONDS, 2 ** Math.max(0, attempt));
  return [base * (1 - BACKOFF_JITTER), base * (1 + BACKOFF_JITTER)];
}

/**
 * Seconds to wait before the next attempt after `attempt` (1-based) failed: `2^attempt` with
 * +-25% jitter, capped at 300 s. `random` is injectable for tests. Never throws.
 *
 * @example backoffSeconds(1) // 1.5 .. 2.5
 */
export function backoffSeconds(attempt: number, random: () => number = Math.random): number {
  const [low, high] = backoffRange(attempt);
  return Math.min(BACKOFF_CAP_SECONDS, low + (high - low) * random());
}

/** Attempts before the dead letter by lane: 5 for the high lane, 3 otherwise. Never throws. */
export function defaultMaxAttempts(priority: number): number {
  return priority <= HIGH_PRIORITY_MAX ? MAX_ATTEMPTS_HIGH_LANE : MAX_ATTEMPTS_OTHER_LANES;
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

/** Longest wait, in seconds, before a job that failed on a tier outage tries again. */
export const OUTAGE_RETRY_MAX_SECONDS = 5;

/**
 * True when a call failed because a tier is down or its connection broke (FT_ERR_TIER_UNAVAILABLE,
 * or a connection error not mapped to it yet, as the queue's own one-statement writes raise),
 * not because of the job. Never throws.
 */
export function isTierOutage(err: unknown): boolean {
  return (isFivetierError(err) && err.code === 'FT_ERR_TIER_UNAVAILABLE') || (!isFivetierError(err) && isConnectionError(err));
}

/**
 * After an attempt failed on a tier outage: always retry, never dead-letter, backing off up to
 * OUTAGE_RETRY_MAX_SECONDS (calls to a tier whose circuit is open fail at once, so a retry costs
 * little, and the job runs soon after the tier returns). Never throws.
 */
export function outageRetry(job: { attempts: number }, random?: () => number): { action: 'retry'; delaySeconds: number } {
  return { action: 'retry', delaySeconds: Math.min(OUTAGE_RETRY_MAX_SECONDS, backoffSeconds(job.attempts, random)) };
}
/** Attempts past this one all back off like it (the cap is reached at attempt 9). */
const BACKOFF_TABLE_ATTEMPTS = 16;

/**
 * The same rules as values for a statement that fails many jobs at once (the rescuer's): the
 * lane limit and its two attempt counts, the backoff range per attempt (index attempt - 1, the
 * last entry for every later attempt) and the cap. The statement only draws within the range
 * and caps, so the rules themselves stay here.
 */
export interface RetryRulesSql {
  highPriorityMax: number;
  highLaneAttempts: number;
  otherLaneAttempts: number;
  backoffLow: number[];
  backoffHigh: number[];
  backoffCap: number;
}

export const RETRY_RULES_SQL: Readonly<RetryRulesSql> = Object.freeze({
  highPriorityMax: HIGH_PRIORITY_MAX,
  highLaneAttempts: MAX_ATTEMPTS_HIGH_LANE,
  otherLaneAttempts: MAX_ATTEMPTS_OTHER_LANES,
  backoffLow: Array.from({ length: BACKOFF_TABLE_ATTEMPTS }, (_, i) => backoffRange(i + 1)[0]),
  backoffHigh: Array.from({ length: BACKOFF_TABLE_ATTEMPTS }, (_, i) => backoffRange(i + 1)[1]),
  backoffCap: BACKOFF_CAP_SECONDS,
});
