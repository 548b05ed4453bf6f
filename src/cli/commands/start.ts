import { Command } from 'commander';
import { buildServer } from '../../api/server.js';
import { loadConfig } from '../../config/config.js';
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
    log(`listening on ${address} (GET /health)`);

    // --- Queue workers: dispatch (Redis when QUEUE_REDIS_URL answers, else PostgreSQL) and run jobs.
    // Handlers are registered by the modules that own each job type.
    const worker = new JobWorker(ft, { log: (line) => log(`queue: ${line}`) });
    await worker.start();
    // --- end queue workers

    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: shutting down`);
      await app.close();
      await worker.stop();
      await ft.close();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
  });
}
