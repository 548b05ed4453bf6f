import type { Fivetier } from '../platform.js';
import { recordCheckRun, recordMaintenanceRun } from '../lifecycle/maintenance-runs.js';
import { timeMaintenanceRun } from '../ops/maintenance-runs.js';
import { BackgroundLoop } from '../runtime/background-loop.js';
import { checkConsistency } from './consistency-checker.js';
import { OutboxRelay, type OutboxRelayOptions } from './outbox-relay.js';
import { sweepOrphans } from './orphan-sweeper.js';

/** Orphan sweep interval, in ms (10 minutes). */
export const SWEEP_INTERVAL_MS_DEFAULT = 10 * 60_000;
/** Consistency check interval, in ms (1 hour). */
export const CHECK_INTERVAL_MS_DEFAULT = 60 * 60_000;

export interface CrossTierServiceOptions {
  log: (line: string) => void;
  relay?: OutboxRelayOptions;
  sweepIntervalMs?: number;
  checkIntervalMs?: number;
  /**
   * Whether this instance runs the singleton work (sweep, check) now: with several instances on
   * the same tiers, only the leader does (src/runtime/leadership.ts). Default: always.
   */
  isLeader?: () => boolean;
}

/**
 * A task run every `intervalMs` by a BackgroundLoop: the first run spread with jitter (10-30% of
 * the interval, at most `maxInitialDelayMs`), never two runs at once, failures logged and retried
 * with back-off up to the interval. Not started.
 */
export function scheduledLoop(name: string, intervalMs: number, run: () => Promise<unknown>, log: (line: string) => void, maxInitialDelayMs = Infinity, isLeader?: () => boolean): BackgroundLoop {
  return new BackgroundLoop(
    name,
    async () => {
      // why: singleton work runs in the leading instance only (src/runtime/leadership.ts)
      if (isLeader?.() ?? true) await timeMaintenanceRun(name, run, log);
      return 'idle';
    },
    {
      idleMs: intervalMs,
      // why: spread the first runs of several instances and tasks
      initialDelayMs: Math.min(maxInitialDelayMs, Math.round(intervalMs * (0.1 + Math.random() * 0.2))),
      errorBackoffMs: Math.min(intervalMs, 30_000),
      maxBackoffMs: intervalMs,
      onError: (err, failures, retryInMs) => log(`${name}: failed (${failures} in a row): ${(err as Error).message}; retrying in ${Math.round(retryInMs / 1000)} s`),
    },
  );
}

/**
 * Run the cross-tier background work in the service: the outbox relay, the orphan sweeper and
 * the consistency checker on timers (first runs spread with jitter, never two of one kind at
 * once). Failures are logged and retried with back-off; the checker records its own admin
 * event and metrics. Never throws; `stop()` waits for work in progress.
 */
export function startCrossTierServices(ft: Fivetier, options: CrossTierServiceOptions): { stop: () => Promise<void> } {
  const { log } = options;
  const relay = new OutboxRelay(ft, { log, ...options.relay });
  relay.start();
  const every = (name: string, intervalMs: number, run: () => Promise<unknown>) => scheduledLoop(name, intervalMs, run, log, Infinity, options.isLeader);
  // why: each run is also recorded in the Notifications tier, where `fivetier status` and other
  // instances see when the tiers were last swept and checked
  const sweep = every('orphan sweep', options.sweepIntervalMs ?? SWEEP_INTERVAL_MS_DEFAULT, async () => {
    const startedAt = new Date();
    const r = await sweepOrphans(ft, { log });
    await recordMaintenanceRun(ft, 'orphan-sweep', startedAt, true, { ...r }, log);
  });
  const check = every('consistency check', options.checkIntervalMs ?? CHECK_INTERVAL_MS_DEFAULT, async () => {
    const startedAt = new Date();
    const r = await checkConsistency(ft, { log });
    await recordCheckRun(ft, startedAt, r, log);
    log(`consistency check: ${r.clean ? 'clean' : 'FINDINGS'} I1=${r.findings.I1.count} I2=${r.findings.I2.count} I3=${r.findings.I3.count} (scanned ${r.scanned.emails} emails, ${r.scanned.content} content rows, ${r.durationMs} ms)`);
  });
  sweep.start();
  check.start();
  return {
    stop: async () => {
      await Promise.all([relay.stop(), sweep.stop(), check.stop()]);
    },
  };
}
