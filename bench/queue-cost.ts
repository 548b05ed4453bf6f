// Queue cost benchmark: the CPU one no-op job costs to run, in Node and in the servers, for
// fivetier (PostgreSQL-only and Redis modes) beside graphile-worker and bare BullMQ at the
// settings of bench/queue.ts. Usage: npm run bench:queue-cost [-- --jobs 40000 --rounds 3]
//
// Each measurement enqueues N jobs with no worker running, then drains them, so the two do not
// compete for the machine: jobs/s = N / (worker start to the last handler start). CPU per job, of
// the enqueue and of the run apart: this process's CPU (the workers run in it) and that of every
// `postgres` and `redis-server` process of the machine, from /proc, divided by N. So the servers
// must run on this machine (Linux); their other work (autovacuum, checkpoints) counts too. Rounds
// rotate the order; the figures are the medians. Each measurement starts from an empty queue.
// Needs PostgreSQL (FIVETIER_BENCH_PG_URL) and Redis (FIVETIER_BENCH_REDIS_URL), as bench:queue.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Queue, Worker } from 'bullmq';
import { Logger as GraphileLogger, makeWorkerUtils, run as runGraphileWorker } from 'graphile-worker';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/config.js';
import { migrateTiers } from '../src/migrate/migrator.js';
import { openFivetier } from '../src/platform.js';
import { ensureQueue } from '../src/queue/operator.js';
import { JobWorker } from '../src/queue/worker.js';
import { jobInsertMany } from '../src/tiers/queue/queries/jobs.js';
import { TIER_NAMES, type TierName } from '../src/types.js';
import { createDatabase, dropDatabase } from '../test/helpers/servers.js';
import { median, runOn, settle } from './bench-databases.js';
import { graphileBest } from './graphile-best.js';

const { values: args } = parseArgs({ options: { jobs: { type: 'string', default: '40000' }, rounds: { type: 'string', default: '3' }, concurrency: { type: 'string', default: '50' } } });
const N = Number(args.jobs);
const ROUNDS = Math.max(1, Number(args.rounds));
const CONCURRENCY = Number(args.concurrency);
const PG = process.env.FIVETIER_BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const REDIS = process.env.FIVETIER_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const run = `ftcost_${randomBytes(3).toString('hex')}`;
const BATCH = 1_000;

/**
 * CPU seconds of the machine's processes named `comm` so far: each one's own time and that of its
 * ended children (utime, stime, cutime, cstime), so a backend that exits meanwhile still counts,
 * in its postmaster's children's time.
 */
function serverCpuSeconds(comm: string): number {
  const tick = 100; // USER_HZ on Linux
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== comm) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / tick;
}

/** One system: enqueue N jobs with no worker running, then run workers until `onStart` saw N. */
interface Drain {
  name: string;
  /** Start from an empty queue. */
  empty(): Promise<void>;
  fill(n: number): Promise<void>;
  run(onStart: () => void): Promise<{ stop: () => Promise<void> }>;
  close(): Promise<void>;
}

interface Cost {
  jobsPerSec: number;
  /** CPU per job of the enqueue (Node and the servers together), in microseconds. */
  enqueue: number;
  /** CPU per job of the run, by where it was spent, in microseconds. */
  node: number;
  postgres: number;
  redis: number;
}

/** CPU seconds so far of this process and of the servers. */
function cpuNow(): { node: number; postgres: number; redis: number } {
  const own = process.cpuUsage();
  return { node: (own.user + own.system) / 1e6, postgres: serverCpuSeconds('postgres'), redis: serverCpuSeconds('redis-server') };
}

async function measure(d: Drain, quiet: () => Promise<void>): Promise<Cost> {
  await d.empty();
  const e0 = cpuNow();
  for (let i = 0; i < N; i += BATCH) await d.fill(Math.min(BATCH, N - i));
  const e1 = cpuNow();
  await quiet();
  let started = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  const [c0, t0] = [cpuNow(), performance.now()];
  const workers = await d.run(() => {
    if (++started === N) done();
  });
  await all;
  const seconds = (performance.now() - t0) / 1000;
  const c1 = cpuNow();
  await workers.stop();
  const perJob = (s: number) => (s * 1e6) / N;
  return {
    jobsPerSec: N / seconds,
    enqueue: perJob(e1.node - e0.node + e1.postgres - e0.postgres + e1.redis - e0.redis),
    node: perJob(c1.node - c0.node),
    postgres: perJob(c1.postgres - c0.postgres),
    redis: perJob(c1.redis - c0.redis),
  };
}

function fivetierDrain(mode: 'postgres' | 'redis', urls: Record<TierName, string>): Drain {
  const ft = openFivetier({ config: loadConfig({}, { tiers: Object.fromEntries(TIER_NAMES.map((t) => [t, { url: urls[t] }])) as never, redisUrl: REDIS }), migrate: false });
  const queue = `cost-${mode}`;
  const tenant = randomUUID();
  return {
    name: `fivetier (${mode === 'redis' ? 'Redis' : 'PostgreSQL-only'})`,
    // why: finished jobs stay (until retention) where the peers delete theirs; each measurement
    // starts from empty tables, as theirs do
    empty: () => runOn(urls.queue, 'TRUNCATE public.jobs, public.job_logs'),
    async fill(n) {
      const f = await ft;
      await ensureQueue(f.queue, queue);
      const ids = Array.from({ length: n }, () => randomUUID());
      await f.queue.withTenant(tenant, (c) => jobInsertMany(c, tenant, queue, 'bench.noop', null, ids, ids.map(() => ({ t: 0 }))));
    },
    async run(onStart) {
      const worker = new JobWorker(await ft, { queues: [queue], concurrency: CONCURRENCY, redisUrl: mode === 'redis' ? REDIS : null, redisPrefix: `${run}-ft`, metricsIntervalMs: 0 });
      worker.registerHandler('bench.noop', async () => onStart());
      await worker.start();
      if (worker.mode !== mode) throw new Error(`fivetier worker is in ${worker.mode} mode, wanted ${mode}`);
      return { stop: () => worker.stop().then(() => undefined) };
    },
    close: async () => (await ft).close(),
  };
}

function graphileDrain(url: string): Drain {
  const quiet = new GraphileLogger(() => () => {});
  const utils = makeWorkerUtils({ connectionString: url, logger: quiet });
  return {
    name: 'graphile-worker',
    empty: async () => {},
    async fill(n) {
      await (await utils).addJobs(Array.from({ length: n }, () => ({ identifier: 'noop', payload: { t: 0 } })));
    },
    async run(onStart) {
      const runner = await runGraphileWorker(graphileBest(url, CONCURRENCY, quiet, { noop: async () => onStart() }));
      return { stop: () => runner.stop() };
    },
    close: async () => (await utils).release(),
  };
}

function bullmqDrain(): Drain {
  const prefix = `${run}-bull`;
  const conn = new Redis(REDIS, { maxRetriesPerRequest: null });
  const queue = new Queue('cost', { connection: conn, prefix });
  const opts = { removeOnComplete: true, removeOnFail: true };
  return {
    name: 'bare BullMQ',
    empty: async () => {},
    async fill(n) {
      await queue.addBulk(Array.from({ length: n }, () => ({ name: 'noop', data: { t: 0 }, opts })));
    },
    async run(onStart) {
      const worker = new Worker('cost', async () => onStart(), { connection: new Redis(REDIS, { maxRetriesPerRequest: null }), prefix, concurrency: CONCURRENCY });
      await worker.waitUntilReady();
      return { stop: () => worker.close() };
    },
    async close() {
      await queue.obliterate({ force: true });
      await queue.close();
      conn.disconnect();
    },
  };
}

async function main(): Promise<void> {
  const urls = {} as Record<TierName, string>;
  for (const t of TIER_NAMES) urls[t] = await createDatabase(PG, `${run}_${t}`);
  await migrateTiers(urls);
  const graphileUrl = await createDatabase(PG, `${run}_graphile`);
  const quiet = () => settle(PG, [...Object.values(urls), graphileUrl]);
  const only = process.env.FIVETIER_BENCH_ONLY?.split(',');
  const drains: Array<[string, Drain]> = (
    [
      ['fivetier-postgres', () => fivetierDrain('postgres', urls)],
      ['graphile-worker', () => graphileDrain(graphileUrl)],
      ['fivetier-redis', () => fivetierDrain('redis', urls)],
      ['bullmq', () => bullmqDrain()],
    ] as Array<[string, () => Drain]>
  )
    .filter(([key]) => !only || only.includes(key))
    .map(([key, make]) => [key, make()]);
  const costs = new Map<string, Cost[]>();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < drains.length; i++) {
        const [key, drain] = drains[(i + round) % drains.length]!;
        const c = await measure(drain, quiet);
        console.log(`round ${round + 1}: ${drain.name.padEnd(28)} ${c.jobsPerSec.toFixed(0).padStart(7)} jobs/s   CPU per job: enqueue ${c.enqueue.toFixed(1)} us; run: Node ${c.node.toFixed(1)} us, PostgreSQL ${c.postgres.toFixed(1)} us, Redis ${c.redis.toFixed(1)} us`);
        costs.set(key, [...(costs.get(key) ?? []), c]);
      }
    }
  } finally {
    for (const [, d] of drains) await d.close();
    for (const t of TIER_NAMES) await dropDatabase(PG, `${run}_${t}`);
    await dropDatabase(PG, `${run}_graphile`);
    const redis = new Redis(REDIS);
    const keys = await redis.keys(`${run}-*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
  console.log(`\n${N} jobs drained, concurrency ${CONCURRENCY}, median of ${ROUNDS} round${ROUNDS > 1 ? 's' : ''}\n`);
  console.log('| system | run: jobs/s | enqueue: CPU us/job | run: Node us/job | run: PostgreSQL us/job | run: Redis us/job | CPU us/job in all |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [key, d] of drains) {
    const cs = costs.get(key)!;
    const m = (f: (c: Cost) => number) => median(cs.map(f));
    const all = m((c) => c.enqueue + c.node + c.postgres + c.redis);
    console.log(`| ${d.name} | ${m((c) => c.jobsPerSec).toFixed(0)} | ${m((c) => c.enqueue).toFixed(1)} | ${m((c) => c.node).toFixed(1)} | ${m((c) => c.postgres).toFixed(1)} | ${m((c) => c.redis).toFixed(1)} | ${all.toFixed(1)} |`);
  }
}

await main();
process.exit(0);
