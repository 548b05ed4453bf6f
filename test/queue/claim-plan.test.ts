import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateTier } from '../../src/migrate/migrator.js';
import type { Queryable } from '../../src/tiers/queue/queries/queryable.js';
import { jobSetDispatchedFair, jobSetRunningFair } from '../../src/tiers/queue/queries/jobs.js';
import { scratchDatabases } from '../helpers/platform.js';

interface PlanNode {
  'Node Type': string;
  Alias?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

const nodesOf = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodesOf)];

/**
 * The two claims address the rows their pick locked by ctid. Statistics taken while no job was
 * queued (an idle queue, analyzed) must not turn that into a scan of every queued job: the plan
 * of the claimed rows (alias `j`) stays a TID scan.
 */
describe('the claims plan a TID scan of the rows they locked, whatever the statistics say', () => {
  let dbs: Awaited<ReturnType<typeof scratchDatabases>>;
  let admin: pg.Client;
  const tenant = randomUUID();

  beforeAll(async () => {
    dbs = await scratchDatabases(['queue'], 'claimplan');
    await migrateTier('queue', dbs.urls.queue);
    admin = new pg.Client({ connectionString: dbs.urls.queue });
    await admin.connect();
    await admin.query(`insert into public.job_queues (name) values ('plan') on conflict do nothing`);
    // An idle queue: every job finished, and the statistics say so.
    await admin.query(
      `insert into public.jobs (tenant_id, id, queue_name, job_type, payload, status, attempts, completed_at)
       select $1, gen_random_uuid(), 'plan', 'plan.noop', '{}', 'completed', 1, now() from generate_series(1, 20000)`,
      [tenant],
    );
    await admin.query('analyze public.jobs');
    // Then a burst of new jobs, before the next analysis.
    await admin.query(`insert into public.jobs (tenant_id, id, queue_name, job_type, payload) select $1, gen_random_uuid(), 'plan', 'plan.noop', '{}' from generate_series(1, 5000)`, [tenant]);
  }, 60_000);

  afterAll(async () => {
    await admin?.end();
    await dbs?.drop();
  });

  /** The plan PostgreSQL makes for the statement `run` sends, with its values, without running it. */
  async function planOf(run: (db: Queryable) => Promise<unknown>): Promise<PlanNode[]> {
    let sent: pg.QueryConfig | undefined;
    const capture = { query: async (config: pg.QueryConfig) => ((sent = config), { rows: [], rowCount: 0 }) } as unknown as Queryable;
    await run(capture);
    const { rows } = await admin.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>({ text: `explain (format json) ${sent!.text}`, values: sent!.values });
    return nodesOf(rows[0]!['QUERY PLAN'][0]!.Plan);
  }

  it.each([
    ['the PostgreSQL-only claim (queued -> running)', (db: Queryable) => jobSetRunningFair(db, ['plan'], 550, 'w1', { 'plan.noop': 60_000 }, 60_000, 30_000, ['plan.noop'])],
    ['the Redis dispatch (queued -> dispatched)', (db: Queryable) => jobSetDispatchedFair(db, ['plan'], 500, 'w1:dispatch', 30_000, ['plan.noop'])],
  ])('%s', async (_name, run) => {
    // the scan under the update (ModifyTable) that reads the rows it changes, alias `j`
    const claimed = (await planOf(run)).filter((n) => n.Alias === 'j' && n['Node Type'] !== 'ModifyTable');
    expect(claimed.map((n) => n['Node Type'])).toEqual(['Tid Scan']);
  });
});
