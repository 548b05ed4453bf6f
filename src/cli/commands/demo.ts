import { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { openFivetier } from '../../platform.js';
import { DEMO_CAMPAIGNS_DEFAULT, DEMO_LEADS_DEFAULT, DEMO_TIMEOUT_MS_DEFAULT, seedDemo } from '../../demo/demo-seed.js';
import { intOption, printJson } from '../options.js';
import { ProgressBar } from '../progress-bar.js';

/**
 * `fivetier demo`: seed a demo tenant (template, leads, campaigns) and run its traffic (sends and
 * delivery events) through the pipeline in this process, so the dashboard and `fivetier status`
 * show a living system. Migrates first, as `start` does. Exits 0, 1 when something did not go
 * through (a tier down, the timeout), 2 for bad input.
 */
export function demoCommand(): Command {
  return new Command('demo')
    .description('seed a demo tenant with campaigns and traffic, so the dashboard and status show life')
    .option('--leads <n>', `leads (default ${DEMO_LEADS_DEFAULT})`, intOption('--leads', 1, 10_000))
    .option('--campaigns <n>', `campaigns the leads are split into (default ${DEMO_CAMPAIGNS_DEFAULT})`, intOption('--campaigns', 1, 20))
    .option('--timeout <seconds>', `how long to wait for the traffic to go through (default ${DEMO_TIMEOUT_MS_DEFAULT / 1000})`, intOption('--timeout', 1, 3600))
    .option('--json', 'print the report as JSON')
    .option('--no-progress', 'no progress on stderr')
    .addHelpText('after', '\nMail goes where the service sends it: SMTP_URL, or .eml files in FIVETIER_MAIL_DIR.')
    .action(async (opts: { leads?: number; campaigns?: number; timeout?: number; json?: boolean; progress: boolean }) => {
      const config = loadConfig(process.env);
      const ft = await openFivetier({ config, unreachableTiers: 'fail' });
      const bar = new ProgressBar(process.stderr);
      try {
        const report = await seedDemo(ft, config, {
          leads: opts.leads,
          campaigns: opts.campaigns,
          timeoutMs: opts.timeout === undefined ? undefined : opts.timeout * 1000,
          onProgress: opts.progress ? (p) => bar.update(p.phase, p.done, p.total) : undefined,
        }).finally(() => bar.done());
        if (opts.json) return printJson(report);
        console.log(`demo tenant ${report.tenantId}: ${report.leads} leads (${report.suppressed} suppressed), ${report.campaignIds.length} campaigns completed, ${report.sent} emails sent`);
        console.log(`delivery events: ${Object.entries(report.events).map(([k, n]) => `${n} ${k}`).join(', ')}`);
        console.log('see `fivetier status` and the dashboard');
      } finally {
        await ft.close();
      }
    });
}
