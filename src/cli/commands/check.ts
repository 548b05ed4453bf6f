import { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { checkConsistency, CHECK_BATCH_SIZE_DEFAULT, CHECK_OUTBOX_AGE_SECONDS_DEFAULT } from '../../cross-tier/consistency-checker.js';
import { SWEEP_GRACE_SECONDS_DEFAULT } from '../../cross-tier/orphan-sweeper.js';
import { recordCheckRun } from '../../lifecycle/maintenance-runs.js';
import { openFivetier } from '../../platform.js';
import { isUuid } from '../../types.js';
import { ProgressBar } from '../progress-bar.js';
import { UsageError } from '../usage-error.js';

function positiveInt(name: string, bound: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > bound) throw new UsageError(`${name} must be an integer 0..${bound}, got ${JSON.stringify(value)}`);
    return n;
  };
}

/**
 * `fivetier check`: the cross-tier consistency check (I1, I2, I3), with a progress bar on
 * stderr. Exits 0 when clean, 1 with findings (or when a tier is down), 2 for bad input.
 */
export function checkCommand(): Command {
  return new Command('check')
    .description('check cross-tier consistency: I1 dangling content keys, I2 stuck outbox rows, I3 orphan content')
    .option('--tenant <id>', 'check one tenant (default: all)')
    .option('--json', 'print the report as JSON on stdout')
    .option('--batch-size <n>', `rows per batch: progress, rechecks, outbox pages (default ${CHECK_BATCH_SIZE_DEFAULT})`, positiveInt('--batch-size', 100_000))
    .option('--outbox-age <seconds>', `outbox rows older than this are stuck (default ${CHECK_OUTBOX_AGE_SECONDS_DEFAULT})`, positiveInt('--outbox-age', 10_000_000))
    .option('--grace <seconds>', `content younger than this is not an orphan yet (default ${SWEEP_GRACE_SECONDS_DEFAULT})`, positiveInt('--grace', 10_000_000))
    .option('--no-progress', 'no progress bar')
    .action(async (opts: { tenant?: string; json?: boolean; batchSize?: number; outboxAge?: number; grace?: number; progress: boolean }) => {
      if (opts.tenant !== undefined && !isUuid(opts.tenant)) throw new UsageError(`--tenant must be a uuid, got ${JSON.stringify(opts.tenant)}`);
      const ft = await openFivetier({ config: loadConfig(process.env), migrate: false });
      const bar = new ProgressBar(process.stderr);
      let exit = 1;
      const progress: Record<string, { done: number; total: number }> = {};
      try {
        const startedAt = new Date();
        const report = await checkConsistency(ft, {
          tenantId: opts.tenant,
          batchSize: opts.batchSize || undefined,
          outboxAgeSeconds: opts.outboxAge,
          orphanGraceSeconds: opts.grace,
          onProgress: opts.progress
            ? (p) => {
                // why: the email and content scans run side by side; show them as one bar
                progress[p.scan] = p;
                const rows = Object.values(progress);
                bar.update('checked', rows.reduce((a, r) => a + r.done, 0), rows.reduce((a, r) => a + r.total, 0));
              }
            : undefined,
          log: (line) => console.error(line),
        });
        if (opts.progress) {
          // why: young content (inside the grace period) is skipped, so the scans can end short of the estimate
          const total = Object.values(progress).reduce((a, r) => a + r.total, 0);
          bar.update('checked', total, total);
        }
        bar.done();
        // why: `fivetier status` shows when the tiers were last checked and what was found
        await recordCheckRun(ft, startedAt, report);
        if (opts.json) console.log(JSON.stringify(report, null, 2));
        else {
          const s = report.scanned;
          console.log(`scanned ${s.emails} emails, ${s.outbox} old outbox rows, ${s.content} content rows in ${report.durationMs} ms${report.tenantId ? ` (tenant ${report.tenantId})` : ''}`);
          for (const [inv, f] of Object.entries(report.findings)) {
            console.log(`${inv}: ${f.count}`);
            for (const sample of f.samples) console.log(`  ${JSON.stringify(sample)}`);
          }
          console.log(report.clean ? 'clean' : 'inconsistent');
        }
        exit = report.clean ? 0 : 1;
      } finally {
        bar.done();
        await ft.close();
      }
      process.exitCode = exit;
    });
}
