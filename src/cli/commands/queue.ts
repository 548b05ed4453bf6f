import { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { openFivetier, type Fivetier } from '../../platform.js';
import { cancelJob, deleteJob, getJob, listDeadJobs, pauseQueue, queueStats, resumeQueue, retryJob } from '../../queue/operator.js';
import type { JobRow } from '../../queue/job-states.js';
import { isUuid } from '../../types.js';
import { UsageError } from '../usage-error.js';

async function withPlatform<T>(fn: (ft: Fivetier) => Promise<T>): Promise<T> {
  const ft = await openFivetier({ config: loadConfig(process.env), migrate: false });
  try {
    return await fn(ft);
  } finally {
    await ft.close();
  }
}

function jobId(id: string): string {
  if (!isUuid(id)) throw new UsageError(`job id must be a uuid, got ${JSON.stringify(id)}`);
  return id;
}

function tenantOption(tenant: string | undefined): string | undefined {
  if (tenant !== undefined && !isUuid(tenant)) throw new UsageError(`--tenant must be a uuid, got ${JSON.stringify(tenant)}`);
  return tenant;
}

function queueName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9:._-]{0,99}$/.test(name)) throw new UsageError(`queue name must be 1..100 of [A-Za-z0-9:._-], got ${JSON.stringify(name)}`);
  return name;
}

/**
 * `fivetier queue ...`: operator actions on the queue tier (docs/queue.md, "CLI").
 * Exit 0 on success, 1 when the job or queue does not fit the action (or, without --tenant, an
 * id names jobs of several tenants), 2 for bad input.
 */
export function queueCommand(): Command {
  const cmd = new Command('queue').description('inspect and operate the job queue');
  cmd
    .command('stats')
    .description('job counts per queue and state')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withPlatform(async (ft) => {
        const rows = await queueStats(ft.queue);
        if (opts.json) console.log(JSON.stringify(rows, null, 2));
        else for (const r of rows) console.log(`${r.queue_name.padEnd(24)} ${r.status.padEnd(11)} ${r.n}`);
      }),
    );
  cmd
    .command('dead')
    .description('list dead letters, oldest first')
    .option('--queue <name>', 'only this queue')
    .option('--limit <n>', 'at most n jobs (1..1000)', '50')
    .option('--json', 'print JSON')
    .action((opts: { queue?: string; limit: string; json?: boolean }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError(`--limit must be an integer in 1..1000, got ${opts.limit}`);
      return withPlatform(async (ft) => {
        const jobs = await listDeadJobs(ft.queue, opts.queue ? queueName(opts.queue) : null, limit);
        if (opts.json) return console.log(JSON.stringify(jobs, null, 2));
        for (const j of jobs) {
          console.log(`${j.id} ${j.queue_name} ${j.job_type} tenant=${j.tenant_id} attempts=${j.attempts} failed_at=${j.failed_at?.toISOString()} error=${JSON.stringify(j.last_error)}`);
        }
      });
    });
  cmd
    .command('show <id>')
    .description('one job as JSON')
    .option('--tenant <uuid>', "the job's tenant (needed when jobs of several tenants have this id)")
    .action((id: string, opts: { tenant?: string }) => {
      const [jid, tenant] = [jobId(id), tenantOption(opts.tenant)];
      return withPlatform(async (ft) => {
        const job = await getJob(ft.queue, jid, tenant);
        if (!job) {
          console.error(`fivetier: no job with id ${id}${tenant ? ` for tenant ${tenant}` : ''}`);
          process.exitCode = 1;
        } else console.log(JSON.stringify(job, null, 2));
      });
    });
  // why: ids are unique per tenant only; an action takes the tenant so it acts on exactly one job
  const jobAction = (name: string, description: string, fn: (ft: Fivetier, id: string, tenant: string | undefined) => Promise<JobRow>) =>
    cmd
      .command(`${name} <id>`)
      .description(description)
      .option('--tenant <uuid>', "the job's tenant (needed when jobs of several tenants have this id)")
      .action((id: string, opts: { tenant?: string }) => {
        const [jid, tenant] = [jobId(id), tenantOption(opts.tenant)];
        return withPlatform(async (ft) => {
          const job = await fn(ft, jid, tenant);
          console.log(`${name}: ${job.id} (tenant ${job.tenant_id})`);
        });
      });
  const queueAction = (name: string, description: string, fn: (ft: Fivetier, queue: string) => Promise<unknown>) =>
    cmd
      .command(`${name} <queue>`)
      .description(description)
      .action((arg: string) =>
        withPlatform(async (ft) => {
          await fn(ft, queueName(arg));
          console.log(`${name}: ${arg}`);
        }),
      );
  jobAction('retry', 'put a dead job back to queued with its attempts reset', (ft, id, tenant) => retryJob(ft.queue, id, tenant));
  jobAction('delete', 'delete a job that no worker holds (and its logs)', (ft, id, tenant) => deleteJob(ft.queue, id, tenant));
  jobAction('cancel', 'cancel a queued job', (ft, id, tenant) => cancelJob(ft.queue, id, tenant));
  queueAction('pause', 'stop dispatching a queue', (ft, q) => pauseQueue(ft.queue, q));
  queueAction('resume', 'dispatch a paused queue again', (ft, q) => resumeQueue(ft.queue, q));
  return cmd;
}
