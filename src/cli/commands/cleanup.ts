import { Command } from 'commander';
import { cleanupOrphanedData } from '../../cross-tier/orphan-cleanup.js';
import { sweepOrphans, SWEEP_BATCH_SIZE_DEFAULT, SWEEP_GRACE_SECONDS_DEFAULT } from '../../cross-tier/orphan-sweeper.js';
import { recordMaintenanceRun } from '../../lifecycle/maintenance-runs.js';
import { intOption, printJson, uuidArg, withPlatform } from '../options.js';
import { UsageError } from '../usage-error.js';

/**
 * `fivetier cleanup`: remove orphaned content (no OLTP email references it; I3) now, the sweep
 * the service runs every 10 minutes; or, with --key, the seed's cleanupOrphanedData for one key.
 * Exits 0, 1 when a tier is down, 2 for bad input.
 */
export function cleanupCommand(): Command {
  return new Command('cleanup')
    .description('remove orphaned content (content no OLTP email references, older than the grace period)')
    .option('--key <storage-key>', 'only this content key (cleanupOrphanedData)')
    .option('--tenant <uuid>', 'only this tenant')
    .option('--grace <seconds>', `content younger than this is left alone (default ${SWEEP_GRACE_SECONDS_DEFAULT})`, intOption('--grace', 0, 10_000_000))
    .option('--batch-size <n>', `content rows per batch (default ${SWEEP_BATCH_SIZE_DEFAULT})`, intOption('--batch-size', 1, 100_000))
    .option('--json', 'print the result as JSON')
    .action(async (opts: { key?: string; tenant?: string; grace?: number; batchSize?: number; json?: boolean }) => {
      const tenantId = opts.tenant === undefined ? undefined : uuidArg('--tenant', opts.tenant);
      if (opts.key !== undefined && (opts.key === '' || opts.key.length > 500)) throw new UsageError('--key must be 1..500 characters');
      await withPlatform(async (ft) => {
        if (opts.key !== undefined) {
          const r = await cleanupOrphanedData(opts.key, { fivetier: ft, tenantId, graceSeconds: opts.grace });
          if (opts.json) return printJson(r);
          console.log(r.deleted > 0 ? `deleted ${r.deleted} content row(s)` : `kept: ${r.kept}`);
          if (r.kept === 'tier-unavailable') process.exitCode = 1;
          return;
        }
        const startedAt = new Date();
        const r = await sweepOrphans(ft, { tenantId, graceSeconds: opts.grace, batchSize: opts.batchSize, log: opts.json ? undefined : (l) => console.error(l) });
        await recordMaintenanceRun(ft, 'orphan-sweep', startedAt, true, { ...r });
        if (opts.json) return printJson(r);
        console.log(`scanned ${r.scanned} content rows in ${r.batches} batches; deleted ${r.deleted} orphans`);
      });
    });
}
