import { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { openFivetier, type Fivetier } from '../../platform.js';
import { cancelJob, deleteJob, getJob, listDeadJobs, pauseQueue, queueStats, resumeQueue, retryJob } from '../../queue/operator.js';
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

function queueName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9:._-]{0,99}$/.test(name)) throw new UsageError(`queue name must be 1..100 of [A-Za-z0-9:._-], got ${JSON.stringify(name)}`);
  return name;
}

/**
 * `fivetier queue ...`: operator actions on the queue tier (docs/queue.md, "CLI").
 * Exit 0 on success, 1 when the job or queue does not fit the action, 2 for bad input.
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
    .action((opts: { queue?: string; limit: string }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError(`--limit must be an integer in 1..1000, got ${opts.limit}`);
      return withPlatform(async (ft) => {
        for (const j of await listDeadJobs(ft.queue, opts.queue ? queueName(opts.queue) : null, limit)) {
          console.log(`${j.id} ${j.queue_name} ${j.job_type} tenant=${j.tenant_id} attempts=${j.attempts} failed_at=${j.failed_at?.toISOString()} error=${JSON.stringify(j.last_error)}`);
        }
      });
    });
  cmd
    .command('show <id>')
    .description('one job as JSON')
    .action((id: string) =>
      withPlatform(async (ft) => {
        const job = await getJob(ft.queue, jobId(id));
        if (!job) {
          console.error(`fivetier: no job with id ${id}`);
          process.exitCode = 1;
        } else console.log(JSON.stringify(job, null, 2));
      }),
    );
  const action = (name: string, description: string, fn: (ft: Fivetier, arg: string) => Promise<unknown>, check: (a: string) => string) =>
    cmd
      .command(`${name} <${name.includes('pause') || name.includes('resume') ? 'queue' : 'id'}>`)
      .description(description)
      .action((arg: string) =>
        withPlatform(async (ft) => {
          await fn(ft, check(arg));
          console.log(`${name}: ${arg}`);
        }),
      );
  action('retry', 'put a dead job back to queued with its attempts reset', (ft, id) => retryJob(ft.queue, id), jobId);
  action('delete', 'delete a job that no worker holds (and its logs)', (ft, id) => deleteJob(ft.queue, id), jobId);
  action('cancel', 'cancel a queued job', (ft, id) => cancelJob(ft.queue, id), jobId);
  action('pause', 'stop dispatching a queue', (ft, q) => pauseQueue(ft.queue, q), queueName);
  action('resume', 'dispatch a paused queue again', (ft, q) => resumeQueue(ft.queue, q), queueName);
  return cmd;
}
