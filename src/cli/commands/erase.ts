import { Command } from 'commander';
import { eraseRecipient, eraseTenant, ERASURE_BATCH_SIZE_DEFAULT, ERASURE_REDIS_PREFIX_DEFAULT, ERASURE_STEPS, type EraseOptions, type ErasureReport } from '../../lifecycle/erasure.js';
import { erasuresList } from '../../tiers/oltp/queries/lifecycle.js';
import { intOption, printJson, uuidArg, withPlatform } from '../options.js';
import { ProgressBar } from '../progress-bar.js';
import { UsageError } from '../usage-error.js';

interface CommonOptions {
  requestedBy?: string;
  redisPrefix?: string;
  batchSize?: number;
  json?: boolean;
  progress: boolean;
}

const common = (cmd: Command): Command =>
  cmd
    .option('--requested-by <uuid>', 'the operator who asked (a user id, kept in the audit log)')
    .option('--redis-prefix <prefix>', `BullMQ key prefix to search in Redis (default ${ERASURE_REDIS_PREFIX_DEFAULT})`)
    .option('--batch-size <n>', `rows per transaction (default ${ERASURE_BATCH_SIZE_DEFAULT})`, intOption('--batch-size', 1, 100_000))
    .option('--json', 'print the report as JSON')
    .option('--no-progress', 'no progress on stderr');

function options(opts: CommonOptions, bar: ProgressBar): EraseOptions {
  if (opts.redisPrefix !== undefined && !/^[A-Za-z0-9][A-Za-z0-9:._-]{0,99}$/.test(opts.redisPrefix)) throw new UsageError(`--redis-prefix must be 1..100 of [A-Za-z0-9:._-], got ${JSON.stringify(opts.redisPrefix)}`);
  return {
    requestedBy: opts.requestedBy === undefined ? undefined : uuidArg('--requested-by', opts.requestedBy),
    redisPrefix: opts.redisPrefix,
    batchSize: opts.batchSize,
    onProgress: opts.progress ? (p) => bar.update(p.step, p.index, p.steps) : undefined,
  };
}

function print(report: ErasureReport, json: boolean | undefined): void {
  if (json) return printJson(report);
  console.log(`erased ${report.kind === 'tenant' ? `tenant ${report.tenantId}` : `a recipient of tenant ${report.tenantId}`} (subject sha256 ${report.subjectHash})${report.resumedAt ? `, resumed at step ${report.resumedAt}` : ''} in ${report.durationMs} ms`);
  for (const [k, n] of Object.entries(report.counts).sort()) console.log(`  ${k.padEnd(32)} ${n}`);
}

/**
 * `fivetier erase`: the right to erasure, for one address within a tenant or a whole tenant,
 * across all five tiers and Redis; an interrupted erasure is finished by running it again.
 * Exits 0, 1 when a tier is down (run it again), 2 for bad input.
 */
export function eraseCommand(): Command {
  const cmd = new Command('erase')
    .description('erase a recipient address within a tenant, or a whole tenant, from every tier and Redis')
    .addHelpText('after', `\nSteps, in order (a crashed erasure resumes at its step): ${ERASURE_STEPS.join(', ')}.\nThe audit log (OLAP admin_audit_log) keeps the erasure, naming the subject by its sha256 only.`);
  common(
    cmd
      .command('address <tenant> <address>')
      .description("erase one recipient address within a tenant: its leads, emails, bodies, jobs, analytics and every mention (a suppression stays as the address's hash)"),
  ).action(async (tenant: string, address: string, opts: CommonOptions) => {
    const tenantId = uuidArg('tenant', tenant);
    if (address.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(address)) throw new UsageError(`address must be an email address, got ${JSON.stringify(address.slice(0, 80))}`);
    const bar = new ProgressBar(process.stderr);
    const o = options(opts, bar);
    await withPlatform(async (ft) => print(await eraseRecipient(ft, tenantId, address, o).finally(() => bar.done()), opts.json));
  });
  common(
    cmd
      .command('tenant <tenant>')
      .description('erase a whole tenant: every row with its id in every tier, its Redis keys, its members that belong to no other tenant')
      .option('--yes', 'confirm: the tenant and all its data go for good'),
  ).action(async (tenant: string, opts: CommonOptions & { yes?: boolean }) => {
    const tenantId = uuidArg('tenant', tenant);
    if (!opts.yes) throw new UsageError(`erasing tenant ${tenantId} deletes all its data for good; add --yes to confirm`);
    const bar = new ProgressBar(process.stderr);
    const o = options(opts, bar);
    await withPlatform(async (ft) => print(await eraseTenant(ft, tenantId, o).finally(() => bar.done()), opts.json));
  });
  cmd
    .command('list')
    .description('erasures in progress (interrupted ones finish when run again)')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withPlatform(async (ft) => {
        const rows = await ft.oltp.withMaintenance((c) => erasuresList(c));
        if (opts.json) return printJson(rows);
        if (rows.length === 0) console.log('no erasure in progress');
        for (const r of rows) console.log(`${r.id} ${r.kind.padEnd(7)} tenant ${r.tenant_id} at step ${r.step} since ${r.created_at.toISOString()}`);
      }),
    );
  return cmd;
}
