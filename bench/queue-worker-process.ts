// One fivetier worker process for bench/queue.ts's processes run: serves FT_BENCH_QUEUE in
// FT_BENCH_MODE (postgres | redis) with concurrency FT_BENCH_CONCURRENCY and no-op `bench.noop`
// handlers; prints "ready", then "started <n>" (handlers started so far) every 50 ms while it
// changes. Stops on SIGTERM.
import { loadConfig } from '../src/config/config.js';
import { openFivetier } from '../src/platform.js';
import { JobWorker } from '../src/queue/worker.js';
import { TIER_NAMES } from '../src/types.js';

const env = process.env as Record<string, string>;
const urls = JSON.parse(env.FT_BENCH_TIER_URLS!) as Record<string, string>;
const mode = env.FT_BENCH_MODE === 'redis' ? 'redis' : 'postgres';
const ft = await openFivetier({ config: loadConfig({}, { tiers: Object.fromEntries(TIER_NAMES.map((t) => [t, { url: urls[t] }])) as never, redisUrl: env.FT_BENCH_REDIS_URL }), migrate: false });
const worker = new JobWorker(ft, { queues: [env.FT_BENCH_QUEUE!], concurrency: Number(env.FT_BENCH_CONCURRENCY), redisUrl: mode === 'redis' ? env.FT_BENCH_REDIS_URL! : null, redisPrefix: env.FT_BENCH_PREFIX!, metricsIntervalMs: 0 });
let started = 0;
let reported = 0;
worker.registerHandler('bench.noop', async () => void started++);
await worker.start();
if (worker.mode !== mode) throw new Error(`worker is in ${worker.mode} mode, wanted ${mode}`);
console.log('ready');
const timer = setInterval(() => {
  if (started !== reported) console.log(`started ${(reported = started)}`);
}, 50);
process.once('SIGTERM', () => {
  clearInterval(timer);
  void worker
    .stop(1_000)
    .then(() => ft.close())
    .then(() => process.exit(0));
});
