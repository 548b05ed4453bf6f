// Queue benchmark: end-to-end no-op jobs per second and enqueue-to-start latency, for fivetier in
// Redis mode and PostgreSQL-only mode, beside bare BullMQ and pg-boss doing the same work, in one
// run on one machine. Usage: npm run bench:queue [-- --jobs 20000 --concurrency 50]
//
// Throughput: enqueue N no-op jobs in batches of 1000 with each system's bulk API, with the
// workers already running; jobs/s = N / (time from the first enqueue to the last completion).
// Latency: with idle workers, enqueue single jobs at ~100/s; latency = handler start - enqueue
// call (same clock; the job carries its enqueue time).
// Needs PostgreSQL (FIVETIER_BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432/postgres)
// and Redis (FIVETIER_BENCH_REDIS_URL, default redis://127.0.0.1:6379; keys under a unique prefix,
// removed at the end).
import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import PgBoss from 'pg-boss';
import { loadConfig } from '../src/config/config.js';
import { migrateTiers } from '../src/migrate/migrator.js';
import { openFivetier } from '../src/platform.js';
import { enqueue } from '../src/queue/enqueue.js';
import { ensureQueue } from '../src/queue/operator.js';
import { JobWorker } from '../src/queue/worker.js';
import { jobInsertMany } from '../src/tiers/queue/queries/jobs.js';
import { TIER_NAMES, type TierName } from '../src/types.js';
import { createDatabase, databaseUrl, dropDatabase } from '../test/helpers/servers.js';

const { values: args } = parseArgs({ options: { jobs: { type: 'string', default: '20000' }, concurrency: { type: 'string', default: '50' }, latency: { type: 'string', default: '300' } } });
const N = Number(args.jobs);
const CONCURRENCY = Number(args.concurrency);
const LATENCY_JOBS = Number(args.latency);
const BATCH = 1_000;
const PG = process.env.FIVETIER_BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const REDIS = process.env.FIVETIER_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const run = `ftbench_${randomBytes(3).toString('hex')}`;

/** One system under test: start workers that call `started(t)`; enqueue a batch; close. */
interface System {
  name: string;
  start(onStart: (enqueuedAt: number) => void): Promise<void>;
  enqueueBatch(n: number): Promise<void>;
  enqueueOne(): Promise<void>;
  close(): Promise<void>;
}

interface Result {
  name: string;
  jobsPerSec: number;
  p50: number;
  p99: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(system: System): Promise<Result> {
  let done = 0;
  let target = 0;
  let notify: (() => void) | undefined;
  const latencies: number[] = [];
  let recordLatency = false;
  await system.start((enqueuedAt) => {
    if (recordLatency) latencies.push(performance.timeOrigin + performance.now() - enqueuedAt);
    done++;
    if (done >= target) notify?.();
  });
  const until = (n: number) =>
    new Promise<void>((resolve) => {
      target = n;
      notify = resolve;
      if (done >= n) resolve();
    });

  // Warm-up
  await system.enqueueBatch(200);
  await until(200);

  // Throughput
  const base = done;
  const t0 = performance.now();
  const drained = until(base + N);
  for (let i = 0; i < N; i += BATCH) await system.enqueueBatch(Math.min(BATCH, N - i));
  await drained;
  const seconds = (performance.now() - t0) / 1000;

  // Latency, idle workers, ~100 jobs/s
  recordLatency = true;
  const base2 = done;
  for (let i = 0; i < LATENCY_JOBS; i++) {
    await system.enqueueOne();
    await new Promise((r) => setTimeout(r, 10));
  }
  await until(base2 + LATENCY_JOBS);
  await system.close();
  latencies.sort((a, b) => a - b);
  return { name: system.name, jobsPerSec: N / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

const now = () => performance.timeOrigin + performance.now();

async function fivetierSystem(mode: 'redis' | 'postgres', urls: Record<TierName, string>): Promise<System> {
  const ft = await openFivetier({ config: loadConfig({}, { tiers: Object.fromEntries(TIER_NAMES.map((t) => [t, { url: urls[t] }])) as never, redisUrl: REDIS }), migrate: false });
  const queue = `bench-${mode}`;
  await ensureQueue(ft.queue, queue);
  const tenant = randomUUID();
  const prefix = `${run}-ft`;
  const worker = new JobWorker(ft, { queues: [queue], concurrency: CONCURRENCY, redisUrl: mode === 'redis' ? REDIS : null, redisPrefix: prefix, metricsIntervalMs: 0 });
  return {
    name: `fivetier (${mode === 'redis' ? 'Redis' : 'PostgreSQL-only'})`,
    async start(onStart) {
      worker.registerHandler('bench.noop', async (job) => onStart((job.payload as { t: number }).t));
      await worker.start();
      if (worker.mode !== mode) throw new Error(`fivetier worker is in ${worker.mode} mode, wanted ${mode}`);
    },
    async enqueueBatch(n) {
      const ids = Array.from({ length: n }, () => randomUUID());
      const t = now();
      await ft.queue.withTenant(tenant, (c) => jobInsertMany(c, tenant, queue, 'bench.noop', null, ids, ids.map(() => ({ t }))));
    },
    async enqueueOne() {
      await enqueue(ft.queue, tenant, { queue, type: 'bench.noop', payload: { t: now() } });
    },
    async close() {
      await worker.stop();
      await ft.close();
    },
  };
}

function bullmqSystem(): System {
  const prefix = `${run}-bull`;
  const conn = new Redis(REDIS, { maxRetriesPerRequest: null });
  const queue = new Queue('bench', { connection: conn, prefix });
  let worker: Worker | undefined;
  const opts = { removeOnComplete: true, removeOnFail: true };
  return {
    name: 'bare BullMQ',
    async start(onStart) {
      worker = new Worker('bench', async (job) => onStart(job.data.t), { connection: new Redis(REDIS, { maxRetriesPerRequest: null }), prefix, concurrency: CONCURRENCY });
      await worker.waitUntilReady();
    },
    async enqueueBatch(n) {
      const t = now();
      await queue.addBulk(Array.from({ length: n }, () => ({ name: 'noop', data: { t }, opts })));
    },
    async enqueueOne() {
      await queue.add('noop', { t: now() }, opts);
    },
    async close() {
      await worker?.close();
      await queue.obliterate({ force: true });
      await queue.close();
      conn.disconnect();
    },
  };
}

function pgBossSystem(url: string): System {
  const boss = new PgBoss({ connectionString: url, max: 20 });
  boss.on('error', () => {});
  const name = 'bench';
  return {
    name: 'pg-boss',
    async start(onStart) {
      await boss.start();
      await boss.createQueue(name);
      // pg-boss polls (every 0.5 s at the least) and then waits out the interval, so its throughput is
      // pollers x batchSize / interval: CONCURRENCY / 5 pollers with batches of CONCURRENCY jobs.
      for (let i = 0; i < CONCURRENCY / 5; i++) {
        await boss.work<{ t: number }>(name, { batchSize: CONCURRENCY, pollingIntervalSeconds: 0.5 }, async (jobs) => {
          for (const j of jobs) onStart(j.data.t);
        });
      }
    },
    async enqueueBatch(n) {
      const t = now();
      await boss.insert(Array.from({ length: n }, () => ({ name, data: { t } })));
    },
    async enqueueOne() {
      await boss.send(name, { t: now() });
    },
    async close() {
      await boss.stop({ graceful: true, wait: true });
    },
  };
}

async function main(): Promise<void> {
  const urls = {} as Record<TierName, string>;
  for (const t of TIER_NAMES) urls[t] = await createDatabase(PG, `${run}_${t}`);
  await migrateTiers(urls);
  const bossUrl = await createDatabase(PG, `${run}_pgboss`);
  const results: Result[] = [];
  try {
    const only = process.env.FIVETIER_BENCH_ONLY;
    const systems: Array<[string, () => Promise<System>]> = [
      ['fivetier-redis', () => fivetierSystem('redis', urls)],
      ['fivetier-postgres', () => fivetierSystem('postgres', urls)],
      ['bullmq', async () => bullmqSystem()],
      ['pg-boss', async () => pgBossSystem(bossUrl)],
    ];
    for (const [key, make] of systems) {
      if (only && only !== key) continue;
      const system = await make();
      const r = await measure(system);
      console.log(`${r.name.padEnd(28)} ${r.jobsPerSec.toFixed(0).padStart(7)} jobs/s   p50 ${r.p50.toFixed(1)} ms   p99 ${r.p99.toFixed(1)} ms`);
      results.push(r);
    }
  } finally {
    for (const t of TIER_NAMES) await dropDatabase(PG, `${run}_${t}`);
    await dropDatabase(PG, `${run}_pgboss`);
    const redis = new Redis(REDIS);
    const keys = await redis.keys(`${run}-*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
  console.log(`\n${N} jobs, concurrency ${CONCURRENCY}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (results.length < 4) return;
  const by = Object.fromEntries(results.map((r) => [r.name, r]));
  const ftr = by['fivetier (Redis)']!;
  const ftp = by['fivetier (PostgreSQL-only)']!;
  const bull = by['bare BullMQ']!;
  const boss = by['pg-boss']!;
  console.log(`fivetier Redis / bare BullMQ throughput: ${(ftr.jobsPerSec / bull.jobsPerSec).toFixed(2)}`);
  console.log(`fivetier PostgreSQL-only / pg-boss throughput: ${(ftp.jobsPerSec / boss.jobsPerSec).toFixed(2)}`);
  void databaseUrl;
}

await main();
process.exit(0);
