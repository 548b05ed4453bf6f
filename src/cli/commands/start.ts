import { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { startService, type Service } from '../../service.js';

/**
 * `fivetier start`: run the service (src/service.ts) until SIGINT or SIGTERM, then shut down in
 * order: HTTP, background work, workers, pools, the embedded server. Exits 0 after a clean
 * shutdown, 1 when something failed to stop.
 */
export function startCommand(): Command {
  return new Command('start').description('run the service: HTTP API, workers and maintenance').action(async () => {
    const config = loadConfig(process.env);
    const log = (line: string) => console.log(`[fivetier] ${line}`);
    let service: Service | undefined;
    let signalled: string | undefined;
    const stop = async (signal: string) => {
      if (signalled) return;
      signalled = signal;
      // why: a signal during start-up waits for start to finish, so an embedded server it
      // started is stopped rather than left running
      if (!service) return;
      log(`${signal}: shutting down`);
      const clean = await service.stop();
      process.exit(clean ? (process.exitCode ?? 0) : 1);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
    service = await startService({ config, log });
    if (signalled) {
      const signal = signalled;
      signalled = undefined;
      return stop(signal);
    }
    log(`listening on ${service.address} (GET /health)`);
  });
}
