import type { Fivetier } from '../platform.js';
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
}

/**
 * Run the cross-tier background work in the service: the outbox relay, the orphan sweeper and
 * the consistency checker on timers (first runs spread with jitter, never two of one kind at
 * once). Failures are logged and retried at the next tick; the checker records its own admin
 * event and metrics. Never throws; `stop()` waits for work in progress.
 */
export function startCrossTierServices(ft: Fivetier, options: CrossTierServiceOptions): { stop: () => Promise<void> } {
  const { log } = options;
  const relay = new OutboxRelay(ft, { log, ...options.relay });
  relay.start();
  const running = new Set<Promise<unknown>>();
  const every = (name: string, intervalMs: number, run: () => Promise<unknown>) => {
    let busy = false;
    const tick = () => {
      if (busy) return;
      busy = true;
      const p = run()
        .catch((err) => log(`${name}: failed: ${(err as Error).message}`))
        .finally(() => {
          busy = false;
          running.delete(p);
        });
      running.add(p);
    };
    const first = setTimeout(tick, Math.round(intervalMs * (0.1 + Math.random() * 0.2)));
    const timer = setInterval(tick, intervalMs);
    return () => {
      clearTimeout(first);
      clearInterval(timer);
    };
  };
  const stopSweep = every('orphan sweep', options.sweepIntervalMs ?? SWEEP_INTERVAL_MS_DEFAULT, () => sweepOrphans(ft, { log }));
  const stopCheck = every('consistency check', options.checkIntervalMs ?? CHECK_INTERVAL_MS_DEFAULT, async () => {
    const r = await checkConsistency(ft, { log });
    log(`consistency check: ${r.clean ? 'clean' : 'FINDINGS'} I1=${r.findings.I1.count} I2=${r.findings.I2.count} I3=${r.findings.I3.count} (scanned ${r.scanned.emails} emails, ${r.scanned.content} content rows, ${r.durationMs} ms)`);
  });
  return {
    stop: async () => {
      stopSweep();
      stopCheck();
      await relay.stop();
      await Promise.all(running);
    },
  };
}
