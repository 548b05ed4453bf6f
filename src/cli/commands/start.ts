import { Command } from 'commander';
import { buildServer } from '../../api/server.js';
import { loadConfig } from '../../config/config.js';
import { startCrossTierServices } from '../../cross-tier/maintenance-schedule.js';
import { openFivetier } from '../../platform.js';
import { JobWorker } from '../../queue/worker.js';
import { TIER_NAMES } from '../../types.js';

/**
 * `fivetier start`: open the tiers (embedded default for any tier without a URL), apply
 * migrations, and serve the HTTP API until SIGINT or SIGTERM, then shut down cleanly.
 */
export function startCommand(): Command {
  return new Command('start').description('run the service: HTTP API, workers and maintenance').action(async () => {
    const config = loadConfig(process.env);
    const log = (line: string) => console.log(`[fivetier] ${line}`);
    const ft = await openFivetier({ config, log });
    for (const t of TIER_NAMES) log(`${t}: ${ft.embedded.includes(t) ? 'embedded' : 'external'}`);
    if (!config.redisUrl) log('QUEUE_REDIS_URL is not set: the queue dispatches from PostgreSQL alone');

    const app = await buildServer({ fivetier: ft });
    const address = await app.listen({ host: config.http.host, port: config.http.port });

    // --- Queue workers: dispatch (Redis when QUEUE_REDIS_URL answers, else PostgreSQL) and run jobs.
    // Handlers are registered by the modules that own each job type. Stopped before ft.close().
    const worker = new JobWorker(ft, { log: (line) => log(`queue: ${line}`) });
    // why: a worker takes any job of its queues, and one it has no handler for fails until it is
    // dead-lettered; with no handler at all, leaving jobs queued for a worker that has them is right.
    const runWorker = worker.handlerTypes.length > 0;
    const workerStarted = runWorker ? worker.start() : Promise.resolve();
    if (!runWorker) log('queue: no job handlers registered in this process: jobs stay queued for a worker that has them');
    // --- end queue workers

    // ---- Cross-tier background work: outbox relay, orphan sweeper, consistency check ----
    const crossTier = startCrossTierServices(ft, { log });
    log('outbox relay started; orphan sweep every 10 min, consistency check every hour');
    // ---- end cross-tier ----

    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: shutting down`);
      try {
        await app.close();
        await crossTier.stop();
        await workerStarted.catch(() => {});
        if (runWorker) await worker.stop();
      } catch (err) {
        log(`shutdown: ${(err as Error).message}`);
        process.exitCode = 1;
      }
      await ft.close();
      process.exit(process.exitCode ?? 0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
    await workerStarted;
    log(`listening on ${address} (GET /health)`);
  });
}
