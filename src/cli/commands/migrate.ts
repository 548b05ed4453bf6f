import { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { openFivetier } from '../../platform.js';

/** `fivetier migrate`: apply pending migrations on every tier, then exit. */
export function migrateCommand(): Command {
  return new Command('migrate').description('apply pending schema migrations on every tier').option('--json', 'print each tier\'s version and the migrations applied as JSON').action(async (opts: { json?: boolean }) => {
    const config = loadConfig(process.env);
    const ft = await openFivetier({ config, log: opts.json ? undefined : (l) => console.log(l), unreachableTiers: 'fail' });
    try {
      if (opts.json) {
        console.log(JSON.stringify(ft.migrations, null, 2));
        return;
      }
      for (const m of ft.migrations) {
        console.log(`${m.tier.padEnd(14)} version ${m.version}${m.applied.length ? ` (applied ${m.applied.join(', ')})` : ' (up to date)'}`);
      }
    } finally {
      await ft.close();
    }
  });
}
