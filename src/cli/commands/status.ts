import { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { openFivetier } from '../../platform.js';
import { TIER_NAMES } from '../../types.js';
import { collectStatus, formatStatus } from '../../ops/status-report.js';

/**
 * `fivetier status`: a table of each tier's health, latency and migration state, then pools (and
 * the connections fivetier holds at each server), queue depth by state, outbox backlog and age,
 * the last consistency check and other maintenance runs, active alerts, and erasures in
 * progress. Exits 1 when any tier is down or not fully migrated. A tier that is down because it
 * was never migrated (its login roles do not exist yet, so logging in fails) says "not
 * migrated" rather than the login error.
 */
export function statusCommand(): Command {
  return new Command('status')
    .description("show each tier's status and latency, pools, queue depth, outbox backlog, last check, active alerts")
    .option('--json', 'print the report as JSON')
    .action(async (opts: { json?: boolean }) => {
      const ft = await openFivetier({ config: loadConfig(process.env), migrate: false });
      try {
        const report = await collectStatus(ft);
        console.log(opts.json ? JSON.stringify(report, null, 2) : formatStatus(report));
        const migrated = TIER_NAMES.every((t) => ['current', 'unknown'].includes(report.tiers[t].migration));
        if (report.status !== 'up' || !migrated) process.exitCode = 1;
      } finally {
        await ft.close();
      }
    });
}
