import { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { checkHealth } from '../../ops/health.js';
import { openFivetier } from '../../platform.js';

/** `fivetier status`: each tier's health; exits 1 when any tier is down. */
export function statusCommand(): Command {
  return new Command('status')
    .description("show each tier's status and latency")
    .option('--json', 'print the report as JSON')
    .action(async (opts: { json?: boolean }) => {
      const ft = await openFivetier({ config: loadConfig(process.env), migrate: false });
      try {
        const report = await checkHealth(ft);
        if (opts.json) console.log(JSON.stringify(report, null, 2));
        else {
          for (const [tier, h] of Object.entries(report.tiers)) {
            const where = ft.embedded.includes(tier as never) ? 'embedded' : 'url';
            console.log(`${tier.padEnd(14)} ${h.status.padEnd(5)} ${h.latencyMs !== undefined ? `${h.latencyMs} ms` : h.error ?? ''} (${where})`);
          }
          console.log(`overall: ${report.status}`);
        }
        if (report.status !== 'up') process.exitCode = 1;
      } finally {
        await ft.close();
      }
    });
}
