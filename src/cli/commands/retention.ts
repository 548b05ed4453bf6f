import { Command } from 'commander';
import { retentionRules, runRetention, RETENTION_BATCH_SIZE_DEFAULT, RETENTION_RULE_NAMES, type RetentionRuleName } from '../../lifecycle/retention.js';
import { recordMaintenanceRun } from '../../lifecycle/maintenance-runs.js';
import { intOption, printJson, timeArg, uuidArg, withPlatform } from '../options.js';
import { ProgressBar } from '../progress-bar.js';
import { UsageError } from '../usage-error.js';

function ruleList(value: string, previous: RetentionRuleName[] = []): RetentionRuleName[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!(RETENTION_RULE_NAMES as readonly string[]).includes(n)) throw new UsageError(`--rule: unknown rule ${JSON.stringify(n)} (rules: ${RETENTION_RULE_NAMES.join(', ')})`);
  return [...previous, ...(names as RetentionRuleName[])];
}

/**
 * `fivetier retention`: apply retention per tier now (the service does daily), or with
 * --dry-run report what would go. Exits 0, 1 when a tier is down, 2 for bad input.
 */
export function retentionCommand(): Command {
  const rules = retentionRules()
    .map((r) => `  ${r.rule.padEnd(28)} ${r.description}`)
    .join('\n');
  return new Command('retention')
    .description('remove what each tier keeps no longer (completed and dead jobs, job logs, expired notifications and content, admin events, old OLAP partitions)')
    .option('--dry-run', 'report what would go, per rule, and remove nothing')
    .option('--as-of <time>', 'count ages from this ISO time (give a dry run\'s asOf to remove exactly what it listed)')
    .option('--rule <names>', 'only these rules (comma-separated, repeatable)', ruleList)
    .option('--tenant <uuid>', "only this tenant's rows (skips OLAP partitions, which hold every tenant's)")
    .option('--batch-size <n>', `rows per transaction (default ${RETENTION_BATCH_SIZE_DEFAULT})`, intOption('--batch-size', 1, 100_000))
    .option('--ids', 'list the keys of what goes (text output; --json always has them)')
    .option('--json', 'print the report as JSON')
    .option('--no-progress', 'no progress on stderr')
    .addHelpText('after', `\nRules (ages from FIVETIER_RETENTION_*; defaults shown):\n${rules}\n\nExamples:\n  fivetier retention --dry-run --json > plan.json\n  fivetier retention --as-of "$(jq -r .asOf plan.json)"`)
    .action(async (opts: { dryRun?: boolean; asOf?: string; rule?: RetentionRuleName[]; tenant?: string; batchSize?: number; ids?: boolean; json?: boolean; progress: boolean }) => {
      const asOf = opts.asOf === undefined ? undefined : timeArg('--as-of', opts.asOf);
      const tenantId = opts.tenant === undefined ? undefined : uuidArg('--tenant', opts.tenant);
      await withPlatform(async (ft) => {
        const bar = new ProgressBar(process.stderr);
        const startedAt = new Date();
        const report = await runRetention(ft, {
          dryRun: opts.dryRun,
          asOf,
          rules: opts.rule,
          tenantId,
          batchSize: opts.batchSize,
          onProgress: opts.progress ? (p) => bar.update(p.rule, p.done, 0) : undefined,
        }).finally(() => bar.done());
        if (!report.dryRun) await recordMaintenanceRun(ft, 'retention', startedAt, true, { total: report.total, counts: Object.fromEntries(report.rules.map((r) => [r.rule, r.count])) });
        if (opts.json) return printJson(report);
        console.log(`${report.dryRun ? 'dry run: would remove' : 'removed'} ${report.total} (as of ${report.asOf}${report.tenantId ? `, tenant ${report.tenantId}` : ''})`);
        for (const r of report.rules) {
          console.log(`${r.rule.padEnd(28)} ${String(r.count).padStart(8)}${r.related ? ` (+${r.related} job logs)` : ''}  before ${r.cutoff}`);
          if (opts.ids) for (const id of r.ids) console.log(`  ${id}`);
          if (opts.ids && r.idsTruncated && r.ids.length < r.count) console.log(`  ... ${r.count - r.ids.length} more`);
        }
      });
    });
}
